"""The dashboard's API through a real uvicorn server over a real SQLite index: folders by state, the
daemons' states, failures and their Retry, the latest documents, and polling with ETags.

The queue's rows are made through the index's own methods, as the daemon makes them (enqueue, claim,
record), without a daemon: what a daemon then does with a retried file is the browser test's part."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from ocrwatch.config import Settings, WebSettings
from ocrwatch.index import FileStat, FileStatus, Index, Node, Notice
from ocrwatch.web import create_app
from tests.conftest import render_text
from tests.webserver import ServerThread

TOKEN = "a-test-token-that-is-long-enough"
REMOTE = {"X-Forwarded-For": "198.51.100.7"}


@dataclass
class Served:
    index: Index
    client: httpx.Client
    inbox: str
    app: object


@pytest.fixture
def served(tmp_path: Path, engine) -> Iterator[Served]:
    settings = Settings(output=tmp_path / "out")
    with Index(settings.database_url) as index:
        app = create_app(settings, index, engine)
        with ServerThread(app) as server, httpx.Client(base_url=server.url, timeout=120) as client:
            yield Served(index, client, str(tmp_path / "inbox"), app)


def queue(index: Index, root: str, *names: str) -> list[str]:
    paths = [f"{root}/{name}" for name in names]
    index.queue.enqueue(Path(root).name, root, [FileStat(path, 10, 1.0) for path in paths], delay=0)
    return paths


def claim(index: Index, root: str):
    """The next file of the watched folder `root` (named by its last part), as its daemon claims it."""
    return index.queue.claim(Node("here", {Path(root).name: root}, 60))


def fail(index: Index, root: str, name: str, error: str) -> int:
    """Queue `name` in `root`, claim it and record it failed with `error`, as a worker would."""
    (path,) = queue(index, root, name)
    record = claim(index, root)
    assert record is not None and record.path == path
    index.record_failed(record, 10, 1.0, None, error, Notice("on_failed"))
    return record.id


def dashboard(served: Served) -> dict:
    response = served.client.get("/api/dashboard")
    assert response.status_code == 200, response.text
    return response.json()


def test_an_empty_index_has_an_empty_dashboard(served: Served) -> None:
    body = dashboard(served)
    assert (body["folders"], body["daemons"], body["failures"], body["recent"]) == ([], [], [], [])


def test_folders_count_their_files_by_state_beside_their_daemons(served: Served, tmp_path: Path) -> None:
    index, inbox, other = served.index, served.inbox, str(tmp_path / "other")
    index.daemons.register("host-a:1", "host-a", 1, ["inbox"], 60)
    index.daemons.register("host-b:2", "host-b", 2, ["other", "quiet"], 60)
    queue(index, inbox, "a.png", "b.png", "c.png")
    assert claim(index, inbox) is not None  # a.png in hand
    fail(index, other, "bad.jpg", "not an image or PDF")
    index.daemons.heartbeat("host-b:2", "no space left on device")

    body = dashboard(served)
    folders = {folder["folder"]: folder for folder in body["folders"]}
    assert list(folders) == sorted(folders), "folders in order"
    assert folders["inbox"]["counts"] == {
        "queued": 2,
        "processing": 1,
        "done": 0,
        "failed": 0,
        "duplicate": 0,
    }
    assert folders["inbox"]["daemons"] == ["host-a:1"]
    assert folders["other"]["counts"]["failed"] == 1 and folders["other"]["daemons"] == ["host-b:2"]
    quiet = folders["quiet"]
    assert quiet["counts"] == dict.fromkeys(("queued", "processing", "done", "failed", "duplicate"), 0)

    daemons = {daemon["node"]: daemon for daemon in body["daemons"]}
    assert daemons["host-a:1"]["state"] == "running" and daemons["host-a:1"]["reason"] is None
    paused = daemons["host-b:2"]
    assert paused["state"] == "paused" and paused["reason"] == "no space left on device"
    assert paused["since"] is not None

    index.daemons.stopped("host-a:1")
    stopped = {daemon["node"]: daemon for daemon in dashboard(served)["daemons"]}["host-a:1"]
    assert stopped["state"] == "stopped" and stopped["since"] is not None and stopped["reason"] is None


def test_failures_come_with_their_reason_and_whether_they_can_be_retried(served: Served) -> None:
    index, inbox = served.index, served.inbox
    kept = fail(index, inbox, "kept.jpg", "empty file (0 bytes)")
    moved = fail(index, inbox, "moved.jpg", "image file is truncated")
    record = index.overview.arrival(moved)
    assert record is not None
    index.record_after_action(record, f"{inbox}/failed/moved.jpg")

    failures = {failure["id"]: failure for failure in dashboard(served)["failures"]}
    assert failures[kept]["error"] == "empty file (0 bytes)" and failures[kept]["folder"] == "inbox"
    assert failures[kept]["path"] == f"{inbox}/kept.jpg" and failures[kept]["attempts"] == 1
    assert failures[kept]["retry_url"] == f"/api/files/{kept}/retry"
    assert failures[moved]["moved_to"] == f"{inbox}/failed/moved.jpg"
    assert failures[moved]["retry_url"] is None
    stats = served.client.get("/api/stats").json()
    assert {failure["id"] for failure in stats["recent_failures"]} == {kept, moved}


def test_retry_queues_the_failed_file_again_as_ocrwatch_retry_does(served: Served) -> None:
    index, inbox = served.index, served.inbox
    failed = fail(index, inbox, "bad.jpg", "not an image or PDF")
    fail(index, inbox, "again.jpg", "not an image or PDF")  # the first failed one is the one retried

    response = served.client.post(f"/api/files/{failed}/retry")
    assert response.status_code == 200, response.text
    assert response.json() == {"id": failed, "path": f"{inbox}/bad.jpg", "status": "queued"}
    record = index.file(f"{inbox}/bad.jpg")
    assert record is not None and record.id == failed
    assert (record.status, record.attempts, record.next_attempt_at) == (FileStatus.QUEUED, 0, None)
    assert claim(index, inbox).id == failed, "due at once, for the daemon's next claim"
    assert index.file(f"{inbox}/again.jpg").status is FileStatus.FAILED, "only the one asked for"
    assert [failure["path"] for failure in dashboard(served)["failures"]] == [f"{inbox}/again.jpg"]

    refused = served.client.post(f"/api/files/{failed}/retry")
    assert refused.status_code == 409 and "is processing, not failed" in refused.json()["detail"]
    assert served.client.post("/api/files/987654/retry").status_code == 404


def test_retry_refuses_files_the_daemon_could_not_read_again(served: Served, tmp_path: Path) -> None:
    index, inbox = served.index, served.inbox
    moved = fail(index, inbox, "moved.jpg", "empty file (0 bytes)")
    index.record_after_action(index.overview.arrival(moved), f"{inbox}/failed/moved.jpg")
    response = served.client.post(f"/api/files/{moved}/retry")
    assert response.status_code == 409 and "moved to" in response.json()["detail"]

    scanned = index.queue.claim_path(str(tmp_path / "scanned.jpg"), 10, 1.0, "scanned.jpg")
    index.record_failed(scanned, 10, 1.0, None, "empty file (0 bytes)", Notice("on_failed"))
    response = served.client.post(f"/api/files/{scanned.id}/retry")
    assert response.status_code == 409 and "scan or upload it again" in response.json()["detail"]
    assert index.overview.arrival(moved).status is FileStatus.FAILED
    assert index.overview.arrival(scanned.id).status is FileStatus.FAILED


def test_the_latest_documents_come_first_with_their_thumbnails(served: Served, tmp_path: Path) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    pipeline = served.app.state.services.pipeline
    ids = []
    for name, text in (("first.png", "first document"), ("second.png", "second document")):
        render_text([text]).save(folder / name)
        ids.append(pipeline.process(folder / name, folder).document_id)
    recent = dashboard(served)["recent"]
    assert [doc["id"] for doc in recent] == ids[::-1]
    assert recent[0]["path"] == str(folder / "second.png") and recent[0]["pages"] == 1
    thumbnail = served.client.get(recent[0]["thumbnail_url"])
    assert thumbnail.status_code == 200 and thumbnail.headers["content-type"] == "image/jpeg"
    scanned = {folder["folder"]: folder for folder in dashboard(served)["folders"]}[None]
    assert scanned["counts"]["done"] == 2 and scanned["daemons"] == []


def test_polling_with_the_etag_costs_a_304_until_something_changes(served: Served) -> None:
    index, inbox = served.index, served.inbox
    first = served.client.get("/api/dashboard")
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "no-cache"
    unchanged = served.client.get("/api/dashboard", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.content == b"" and unchanged.headers["etag"] == etag

    queue(index, inbox, "new.png")
    changed = served.client.get("/api/dashboard", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert changed.json()["folders"][0]["counts"]["queued"] == 1

    etag = changed.headers["etag"]
    index.daemons.register("host-a:1", "host-a", 1, ["inbox"], 60)
    registered = served.client.get("/api/dashboard", headers={"If-None-Match": etag})
    assert registered.status_code == 200, "a daemon's row changes the ETag too"
    assert registered.json()["folders"][0]["daemons"] == ["host-a:1"]


def test_the_dashboard_and_retry_follow_the_apis_access_rule(served: Served) -> None:
    index, inbox = served.index, served.inbox
    failed = fail(index, inbox, "bad.jpg", "not an image or PDF")
    assert served.client.get("/api/dashboard", headers=REMOTE).status_code == 403
    assert served.client.post(f"/api/files/{failed}/retry", headers=REMOTE).status_code == 403
    other_site = served.client.post(
        f"/api/files/{failed}/retry", headers={"Origin": "http://attacker.example"}
    )
    assert other_site.status_code == 403 and "another site" in other_site.json()["detail"]
    assert index.overview.arrival(failed).status is FileStatus.FAILED, "a refused retry changes nothing"


def test_with_a_token_clients_beyond_loopback_must_send_it(tmp_path: Path, engine) -> None:
    settings = Settings(output=tmp_path / "out", web=WebSettings(token=TOKEN))
    with Index(settings.database_url) as index:
        root = str(tmp_path / "inbox")
        failed = fail(index, root, "bad.jpg", "not an image or PDF")
        app = create_app(settings, index, engine)

        async def from_elsewhere() -> list[int]:
            """A client at a non-loopback address, straight into the ASGI app."""
            transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
            async with httpx.AsyncClient(transport=transport, base_url="http://ocr.example") as client:
                bearer, wrong = {"Authorization": f"Bearer {TOKEN}"}, {"Authorization": "Bearer nope"}
                return [
                    (await client.get("/api/dashboard")).status_code,
                    (await client.post(f"/api/files/{failed}/retry")).status_code,
                    (await client.get("/api/dashboard", headers=wrong)).status_code,
                    (await client.get("/api/dashboard", headers=bearer)).status_code,
                    (await client.post(f"/api/files/{failed}/retry", headers=bearer)).status_code,
                ]

        assert asyncio.run(from_elsewhere()) == [401, 401, 401, 200, 200]
        assert index.overview.arrival(failed).status is FileStatus.QUEUED
