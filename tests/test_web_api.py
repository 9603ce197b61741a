"""The HTTP API through a real uvicorn server: the real engine, a real SQLite index in a temp folder."""

from __future__ import annotations

import asyncio
import base64
import http.client
import io
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from PIL import Image

from ocrwatch.config import Settings, WebSettings
from ocrwatch.index import Index
from ocrwatch.index.search.query import fold
from ocrwatch.web import create_app
from ocrwatch.web.uploads import body_limit
from tests.conftest import render_text
from tests.test_search import watched
from tests.webserver import ServerThread

TOKEN = "a-test-token-that-is-long-enough"
MAX_MB = 2


@dataclass
class Web:
    settings: Settings
    index: Index
    app: object
    url: str
    client: httpx.Client


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory, engine) -> Web:
    root = tmp_path_factory.mktemp("web")
    settings = Settings(output=root / "out", web=WebSettings(max_upload_mb=MAX_MB))
    with Index(settings.database_url) as index:
        app = create_app(settings, index, engine)
        with ServerThread(app) as server, httpx.Client(base_url=server.url, timeout=180) as client:
            yield Web(settings, index, app, server.url, client)


@pytest.fixture(scope="module")
def receipt(web: Web, data_dir: Path) -> dict:
    """SROIE receipt 000, uploaded with ?index=true once for the module."""
    source = data_dir / "sroie" / "img" / "000.jpg"
    response = web.client.post(
        "/api/ocr", params={"index": "true"}, files={"file": ("000.jpg", source.read_bytes(), "image/jpeg")}
    )
    assert response.status_code == 200, response.text
    return response.json()


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def data_url(data: bytes, media_type: str = "image/png") -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


def words_of(page: dict) -> list[str]:
    return [word["text"] for word in page["words"]]


def assert_problem(response: httpx.Response, status: int, *reason: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    detail = response.json()["detail"]
    assert isinstance(detail, str)
    for part in reason:
        assert part in detail, detail


def post_by_hand(
    web: Web, path: str, content_type: str, *, length: int | None = None, chunks: tuple[bytes, ...] = ()
) -> httpx.Response:
    """POST only the headers (announcing `length` bytes), or `chunks` with chunked encoding and no end.

    The client then stops sending and reads the answer, so the test sees what the server says to a body
    it refuses part-way. (Sending the rest races the server's close against the client's writes: the
    unread bytes make the kernel reset the connection, and the 413 can be lost with it.)
    """
    address = httpx.URL(web.url)
    connection = http.client.HTTPConnection(address.host, address.port, timeout=60)
    try:
        connection.putrequest("POST", path)
        connection.putheader("Content-Type", content_type)
        if length is None:
            connection.putheader("Transfer-Encoding", "chunked")
        else:
            connection.putheader("Content-Length", str(length))
        connection.endheaders()
        for chunk in chunks:
            connection.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        answer = connection.getresponse()
        return httpx.Response(answer.status, headers=answer.getheaders(), content=answer.read())
    finally:
        connection.close()


# --------------------------------------------------------------------------- reading images


def test_the_seeds_call_answers_words_with_boxes(web: Web) -> None:
    image = png(render_text(["INVOICE 4711", "Total amount 129.50"]))
    response = web.client.post("/api/", json={"image": data_url(image)})
    assert response.status_code == 200, response.text
    body = response.json()
    (page,) = body["pages"]
    assert words_of(page)[:2] == ["INVOICE", "4711"]
    # the JSON output's page shape
    shape = {"page", "width", "height", "rotation", "engine", "source", "reason", "words", "lines"}
    assert set(page) == shape
    word = page["words"][0]
    assert set(word) == {"text", "score", "box"} and len(word["box"]) == 4
    assert all(len(corner) == 2 for corner in word["box"])
    assert 0 < word["score"] <= 1
    assert page["lines"][0]["words"] == [0, 1]
    assert body["text"].splitlines() == ["INVOICE 4711", "Total amount 129.50"]
    assert body["document_id"] is None and body["engine"] == "rapidocr"


def test_bare_base64_is_read_too(web: Web) -> None:
    image = png(render_text(["plain base64"]))
    response = web.client.post("/api/", json={"image": base64.b64encode(image).decode()})
    assert response.status_code == 200, response.text
    assert words_of(response.json()["pages"][0]) == ["plain", "base64"]


def test_a_multipart_upload_is_read_and_not_kept(web: Web) -> None:
    before = web.client.get("/api/stats").json()["counts"]
    image = png(render_text(["Not kept anywhere"]))
    response = web.client.post("/api/ocr", files={"file": ("note.png", image, "image/png")})
    assert response.status_code == 200, response.text
    assert words_of(response.json()["pages"][0]) == ["Not", "kept", "anywhere"]
    assert web.client.get("/api/stats").json()["counts"] == before
    assert not (web.settings.output / "uploads").exists() or not any(
        "note.png" in path.name for path in (web.settings.output / "uploads").iterdir()
    )


def test_a_pdf_upload_is_read_page_by_page(web: Web) -> None:
    pages = [render_text(["first page"]), render_text(["second page"])]
    buffer = io.BytesIO()
    pages[0].save(buffer, "PDF", save_all=True, append_images=pages[1:], resolution=100)
    response = web.client.post("/api/ocr", files={"file": ("two.pdf", buffer.getvalue(), "application/pdf")})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [page["page"] for page in body["pages"]] == [1, 2]
    assert [words_of(page) for page in body["pages"]] == [["first", "page"], ["second", "page"]]
    assert body["text"] == "first page\n\fsecond page"


# --------------------------------------------------------------------------- the index


def test_an_indexed_upload_goes_through_the_pipeline(web: Web, receipt: dict, data_dir: Path) -> None:
    assert receipt["status"] == "done" and receipt["document_id"] >= 1
    company = json.loads((data_dir / "sroie" / "key" / "000.json").read_text())["company"]
    read = {token for word in receipt["pages"][0]["words"] for token in fold(word["text"])}
    assert {"taman", "daya", "sdn", "bhd"} <= read, company
    kept = web.settings.output / "uploads"
    names = sorted(path.name for path in kept.iterdir())
    stem = next(name for name in names if name.endswith("-000.jpg"))
    assert {f"{stem}.txt", f"{stem}.json", f"{stem}.page-1.jpg"} <= set(names)
    stats = web.client.get("/api/stats").json()
    assert stats["counts"]["done"] >= 1 and stats["queue"] == 0

    again = web.client.post(
        "/api/ocr",
        params={"index": "true"},
        files={"file": ("000.jpg", (data_dir / "sroie" / "img" / "000.jpg").read_bytes(), "image/jpeg")},
    )
    assert again.status_code == 200
    assert again.json()["status"] == "skipped" and again.json()["document_id"] == receipt["document_id"]


def test_search_ranks_hits_with_snippets_pages_and_boxes(web: Web, receipt: dict) -> None:
    response = web.client.get("/api/search", params={"q": "taman", "limit": 5})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["query"] == "taman" and body["limit"] == 5 and body["offset"] == 0
    hit = next(hit for hit in body["hits"] if hit["document_id"] == receipt["document_id"])
    assert hit["page"] == 1 and hit["path"].endswith("-000.jpg")
    marked = [segment["text"] for segment in hit["snippet"] if segment["match"]]
    assert marked and all(text.lower() == "taman" for text in marked)
    assert hit["words"], "the matching words' boxes"
    for word in hit["words"]:
        assert "taman" in fold(word["text"])
        assert receipt["pages"][0]["words"][word["index"]]["box"] == word["box"]
    assert (hit["width"], hit["height"]) == (receipt["pages"][0]["width"], receipt["pages"][0]["height"])
    assert web.client.get("/api/search", params={"q": "taman", "offset": 1}).json()["hits"] == [
        h for h in body["hits"][1:2]
    ]
    assert web.client.get("/api/search", params={"q": "zyxwvutsrq"}).json()["hits"] == []


def test_a_document_has_text_metadata_pages_words_and_images(web: Web, receipt: dict) -> None:
    document_id = receipt["document_id"]
    response = web.client.get(f"/api/documents/{document_id}")
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["id"] == document_id and len(document["sha256"]) == 64
    assert document["text"] == receipt["text"]
    (page,) = document["pages"]
    assert page["words"] == receipt["pages"][0]["words"] and page["lines"] == receipt["pages"][0]["lines"]
    assert page["text"] == document["text"]

    original = web.client.get(page["image_url"])
    assert original.status_code == 200 and original.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(original.content)) as image:
        assert image.size == (page["width"], page["height"])  # the boxes' coordinate space
    cached = web.client.get(page["image_url"], headers={"If-None-Match": original.headers["etag"]})
    assert cached.status_code == 304

    annotated = web.client.get(page["annotated_url"])
    assert annotated.status_code == 200 and annotated.headers["content-type"] == "image/jpeg"
    stem = web.settings.output / document["outputs"]
    assert annotated.content == Path(f"{stem}.page-1.jpg").read_bytes()

    thumbnail = web.client.get(page["thumbnail_url"])
    assert thumbnail.status_code == 200
    with Image.open(io.BytesIO(thumbnail.content)) as image:
        assert image.width <= 240


def test_health_and_stats(web: Web) -> None:
    health = web.client.get("/api/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok" and health.json()["engine"] == "rapidocr"
    stats = web.client.get("/api/stats").json()
    assert set(stats["counts"]) == {"queued", "processing", "done", "failed", "duplicate"}
    assert stats["queue"] == stats["counts"]["queued"] + stats["counts"]["processing"]


def test_reading_runs_off_the_event_loop(web: Web) -> None:
    """While a read waits for the engine, the server still answers other requests at once."""
    services = web.app.state.services
    image = png(render_text(["waiting"]))
    results: list[httpx.Response] = []
    with services.engine_lock:
        reader = threading.Thread(
            target=lambda: results.append(
                httpx.post(f"{web.url}/api/", json={"image": data_url(image)}, timeout=180)
            )
        )
        reader.start()
        time.sleep(0.3)
        started = time.monotonic()
        assert web.client.get("/api/health", timeout=30).status_code == 200
        assert time.monotonic() - started < 10
        assert not results, "the read should still be waiting for the engine"
    reader.join(180)
    assert results and results[0].status_code == 200


# --------------------------------------------------------------------------- bad requests


def test_bad_base64_is_refused(web: Web) -> None:
    response = web.client.post("/api/", json={"image": "data:image/png;base64,@@not base64@@"})
    assert_problem(response, 400, "bad base64")
    assert_problem(web.client.post("/api/", json={"image": "data:image/png;base64,A"}), 400, "bad base64")
    assert_problem(web.client.post("/api/", json={"image": "data:image/png,rawbytes"}), 400, "base64")
    assert_problem(web.client.post("/api/", json={"image": "data:image/png;base64,"}), 400, "empty")


def test_not_an_image_is_refused(web: Web) -> None:
    text = base64.b64encode(b"just some words, not a picture").decode()
    assert_problem(
        web.client.post("/api/", json={"image": f"data:image/png;base64,{text}"}), 415, "not an image"
    )
    assert_problem(
        web.client.post("/api/", json={"image": f"data:text/plain;base64,{text}"}), 415, "text/plain"
    )
    assert_problem(
        web.client.post("/api/ocr", files={"file": ("notes.jpg", b"not a picture", "image/jpeg")}),
        415,
        "not an image",
    )
    stats_before = web.client.get("/api/stats").json()["counts"]
    assert_problem(
        web.client.post(
            "/api/ocr", params={"index": "true"}, files={"file": ("notes.jpg", b"nope", "image/jpeg")}
        ),
        415,
    )
    assert web.client.get("/api/stats").json()["counts"] == stats_before, "a refused upload is not recorded"
    uploads = web.settings.output / "uploads"
    assert not uploads.exists() or not [
        p for p in uploads.iterdir() if "notes" in p.name or ".part" in p.name
    ]


def test_empty_damaged_and_bomb_images_are_refused(web: Web) -> None:
    assert_problem(web.client.post("/api/ocr", files={"file": ("e.png", b"", "image/png")}), 400, "empty")
    jpeg = io.BytesIO()
    render_text(["cut short"]).save(jpeg, "JPEG")
    truncated = base64.b64encode(jpeg.getvalue()[:1500]).decode()
    assert_problem(web.client.post("/api/", json={"image": truncated}), 422, "truncated")
    bomb = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(bomb, "PNG", optimize=True)  # 400 M pixels in a small file
    assert len(bomb.getvalue()) < MAX_MB * 2**20
    assert_problem(
        web.client.post("/api/ocr", files={"file": ("bomb.png", bomb.getvalue(), "image/png")}),
        413,
        "decompression bomb",
    )


def test_a_body_over_the_limit_is_refused_before_it_is_read(web: Web) -> None:
    big = os.urandom(MAX_MB * 2**20 + 1)
    assert_problem(
        web.client.post("/api/ocr", files={"file": ("big.jpg", big, "image/jpeg")}), 413, "web.max_upload_mb"
    )
    # Only the headers: the refusal comes before any byte of the body is read.
    huge = len(json.dumps({"image": "A" * (4 * MAX_MB * 2**20)}))
    response = post_by_hand(web, "/api/", "application/json", length=huge)
    assert_problem(response, 413, "larger than the limit")

    # No Content-Length: the server counts the bytes as they arrive and refuses one past its limit.
    limit = body_limit(MAX_MB * 2**20)
    response = post_by_hand(web, "/api/", "application/json", chunks=(b"x" * limit, b"x"))
    assert_problem(response, 413, "larger than the limit")
    assert web.client.get("/api/health").status_code == 200


def test_a_decoded_image_over_the_limit_is_refused(web: Web) -> None:
    """Base64 under the body limit that decodes to more than max_upload_mb."""
    payload = base64.b64encode(b"\0" * (MAX_MB * 2**20 + 10)).decode()
    assert_problem(web.client.post("/api/", json={"image": payload}), 413, "web.max_upload_mb")


def test_unknown_ids_and_pages_are_404(web: Web, receipt: dict) -> None:
    assert_problem(web.client.get("/api/documents/999999"), 404, "no document with id 999999")
    assert_problem(web.client.get("/api/documents/999999/pages/1/image"), 404)
    document_id = receipt["document_id"]
    for kind in ("image", "annotated", "thumbnail"):
        assert_problem(web.client.get(f"/api/documents/{document_id}/pages/2/{kind}"), 404, "page")
    assert_problem(web.client.get("/api/documents/0"), 422)
    assert_problem(web.client.get(f"/api/documents/{2**70}"), 422)
    assert_problem(web.client.get("/api/nothing-here"), 404)


def test_unparseable_queries_are_400(web: Web) -> None:
    assert_problem(web.client.get("/api/search", params={"q": '"unclosed'}), 400, "quote is not closed")
    assert_problem(web.client.get("/api/search", params={"q": "OR"}), 400, "between two terms")
    assert_problem(web.client.get("/api/search", params={"q": "   "}), 400, "empty")
    assert_problem(web.client.get("/api/search", params={"q": "a\0b"}), 400, "NUL")  # found by schemathesis
    assert_problem(web.client.get("/api/search", params={"q": "a", "limit": 0}), 422, "limit")
    assert_problem(web.client.get("/api/search"), 400, "type a word to search for, or a filter")
    assert_problem(web.client.get("/api/search", params={"q": "", "folder": ""}), 400, "empty")


def test_malformed_requests_get_a_json_reason(web: Web) -> None:
    assert_problem(
        web.client.post("/api/", content=b"{not json", headers={"Content-Type": "application/json"}), 422
    )
    assert_problem(web.client.post("/api/", json={"picture": "x"}), 422, "image")
    assert_problem(web.client.post("/api/ocr", data={"other": "x"}), 422, "file")


# --------------------------------------------------------------------------- the page


def test_the_page_and_its_assets_are_served_with_a_strict_policy(web: Web) -> None:
    page = web.client.get("/")
    assert page.status_code == 200 and "<title>ocrwatch</title>" in page.text
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    for asset in ("/static/app.js", "/static/app.css", "/static/icon.svg"):
        assert web.client.get(asset).status_code == 200, asset
    assert "http" not in page.text.replace("http-equiv", ""), "nothing loaded from another server"
    assert web.client.get("/api/openapi.json").json()["info"]["title"] == "ocrwatch"


# --------------------------------------------------------------------------- access


def test_remote_clients_need_a_configured_token(web: Web) -> None:
    forwarded = {"X-Forwarded-For": "198.51.100.7"}
    assert_problem(web.client.get("/api/stats", headers=forwarded), 403, "web.token")
    assert web.client.get("/", headers=forwarded).status_code == 200, "the page itself holds no data"


def test_a_token_is_enforced_beyond_loopback(tmp_path: Path, engine) -> None:
    settings = Settings(output=tmp_path / "out", web=WebSettings(token=TOKEN))
    with Index(settings.database_url) as index:
        app = create_app(settings, index, engine)
        with ServerThread(app) as server, httpx.Client(base_url=server.url, timeout=60) as client:
            remote = {"X-Forwarded-For": "198.51.100.7"}
            assert client.get("/api/stats").status_code == 200, "loopback needs no token"
            response = client.get("/api/stats", headers=remote)
            assert_problem(response, 401, "token is required")
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert_problem(client.get("/api/stats", headers={**remote, "Authorization": "Bearer nope"}), 401)
            assert_problem(client.get("/api/stats", params={"token": "nope"}, headers=remote), 401)
            assert_problem(
                client.get("/api/stats", headers={**remote, "Authorization": f"Basic {TOKEN}"}), 401
            )
            ok = client.get("/api/stats", headers={**remote, "Authorization": f"Bearer {TOKEN}"})
            assert ok.status_code == 200
            assert client.get("/api/stats", params={"token": TOKEN}, headers=remote).status_code == 200

        async def from_elsewhere() -> list[int]:
            """A client at a non-loopback address, straight into the ASGI app."""
            transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
            async with httpx.AsyncClient(transport=transport, base_url="http://ocr.example") as client:
                return [
                    (await client.get("/api/health")).status_code,
                    (
                        await client.get("/api/health", headers={"Authorization": f"Bearer {TOKEN}"})
                    ).status_code,
                    (await client.get(f"/api/health?token={TOKEN}")).status_code,
                ]

        assert asyncio.run(from_elsewhere()) == [401, 200, 200]


def test_other_sites_and_rebound_host_names_are_refused(web: Web) -> None:
    assert_problem(web.client.get("/api/stats", headers={"Host": "attacker.example"}), 403, "host name")
    response = web.client.post(
        "/api/ocr",
        files={"file": ("x.png", b"x", "image/png")},
        headers={"Origin": "http://attacker.example"},
    )
    assert_problem(response, 403, "another site")
    same = web.client.get("/api/stats", headers={"Origin": web.url})
    assert same.status_code == 200
    assert web.client.get("/api/stats", headers={"Host": "localhost"}).status_code == 200


def raw_get(url: str, target: str) -> tuple[int, bytes]:
    """GET `target` exactly as written: httpx would normalise the dots away."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.putrequest("GET", target, skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize(
    "target",
    [
        "/static/../../../../../../etc/passwd",
        "/static/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/static/..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/api/documents/1/pages/1/../../../../../etc/passwd",
        "/api/documents/..%2f..%2fetc%2fpasswd",
        "/api/documents/1/pages/%2e%2e%2f%2e%2e%2fetc%2fpasswd/image",
        "//etc/passwd",
    ],
)
def test_path_traversal_is_refused(web: Web, target: str) -> None:
    status, body = raw_get(web.url, target)
    assert 400 <= status < 500, (status, body[:200])
    assert b"root:" not in body


def test_a_swapped_original_or_output_is_never_served(tmp_path: Path, engine) -> None:
    """Files the index points at, replaced by links to files outside: both are refused."""
    secret = tmp_path / "secret.jpg"
    render_text(["top secret"]).save(secret)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    render_text(["harmless"]).save(inbox / "scan.png")
    settings = Settings(output=tmp_path / "out")
    with Index(settings.database_url) as index:
        app = create_app(settings, index, engine)
        outcome = app.state.services.pipeline.process(inbox / "scan.png", inbox)
        assert outcome.document_id is not None
        base = f"/api/documents/{outcome.document_id}/pages/1"
        with ServerThread(app) as server, httpx.Client(base_url=server.url, timeout=60) as client:
            assert client.get(f"{base}/image").status_code == 200
            (inbox / "scan.png").unlink()
            (inbox / "scan.png").symlink_to(secret)
            assert_problem(client.get(f"{base}/image"), 404, "changed")
            annotated = settings.output / "scan.png.page-1.jpg"
            assert client.get(f"{base}/annotated").status_code == 200
            annotated.unlink()
            annotated.symlink_to(secret)
            assert_problem(client.get(f"{base}/annotated"), 404)
            assert_problem(client.get(f"{base}/thumbnail"), 404)


def test_uploaded_names_cannot_leave_the_uploads_folder(web: Web) -> None:
    image = png(render_text(["escape attempt"]))
    response = web.client.post(
        "/api/ocr", params={"index": "true"}, files={"file": ("../../../evil name.png", image, "image/png")}
    )
    assert response.status_code == 200, response.text
    document = web.client.get(f"/api/documents/{response.json()['document_id']}").json()
    (path,) = document["paths"]
    uploads = (web.settings.output / "uploads").resolve()
    assert Path(path).resolve().parent == uploads and Path(path).name.endswith("-evil name.png")
    assert all(
        p.resolve().is_relative_to(web.settings.output.resolve())
        for p in web.settings.output.parent.rglob("*evil*")
    )


def test_search_finds_misreadings_after_exact_hits_with_filters_and_sort(web: Web) -> None:
    older = watched(web.index, "/srv/bakery", "/srv/bakery/tart.pdf", "PERSIMMON TART PERSIMMON")
    newer = watched(web.index, "/srv/bakery", "/srv/bakery/cake.jpg", "PERSIMMON CAKE WITH CREAM")
    one_off = watched(web.index, "/srv/pantry", "/srv/pantry/jam.png", "PERSIMM0N JAM")
    two_off = watched(web.index, "/srv/pantry", "/srv/pantry/pie.png", "PER5IMM0N PIE")

    def search(**params: str) -> list[dict]:
        response = web.client.get("/api/search", params={"q": "persimmon", **params})
        assert response.status_code == 200, response.text
        return response.json()["hits"]

    hits = search()
    assert [hit["document_id"] for hit in hits[:2]] == [older, newer]
    assert [hit["fuzzy"] for hit in hits] == [False, False, True, True]
    assert {hit["document_id"] for hit in hits[2:]} == {one_off, two_off}
    for hit in hits[2:]:
        [variant] = [segment["text"] for segment in hit["snippet"] if segment["match"]]
        assert variant in {"PERSIMM0N", "PER5IMM0N"}
        assert [word["text"] for word in hit["words"]] == [variant] and hit["words"][0]["index"] == 0
    assert [hit["document_id"] for hit in search(exact="true")] == [older, newer]
    assert [hit["document_id"] for hit in search(sort="date", exact="true")] == [newer, older]
    assert [hit["document_id"] for hit in search(folder="pantry", limit="1", offset="1")] == [
        hit["document_id"] for hit in search(folder="/srv/pantry")[1:]
    ]
    assert [hit["document_id"] for hit in search(type="pdf")] == [older]
    assert [hit["document_id"] for hit in search(type="image/jpeg")] == [newer]
    assert search(before="2000-01-01") == [] and len(search(after="2000-01-01T00:00:00+01:00")) == 4
    assert web.client.get("/api/search", params={"q": "persimmon before:2000-01-01"}).json()["hits"] == []
    assert_problem(web.client.get("/api/search", params={"q": "persimmon", "after": "soon"}), 422)
    assert_problem(web.client.get("/api/search", params={"q": "persimmon", "type": "image/"}), 400, "type:")
    assert_problem(web.client.get("/api/search", params={"q": "persimmon", "sort": "size"}), 422)


def test_search_by_filters_alone_lists_what_passes_newest_first(web: Web) -> None:
    older = watched(web.index, "/srv/cellar", "/srv/cellar/wine.pdf", "RIESLING 2019 CASE")
    newer = watched(web.index, "/srv/cellar", "/srv/cellar/cider.png", "CIDER DRY")

    def listed(**params: str) -> list[dict]:
        response = web.client.get("/api/search", params=params)
        assert response.status_code == 200, response.text
        assert response.json()["query"] == params.get("q", "")
        return response.json()["hits"]

    hits = listed(folder="cellar")
    assert [hit["document_id"] for hit in hits] == [newer, older]  # newest read first
    assert [hit["path"] for hit in hits] == ["/srv/cellar/cider.png", "/srv/cellar/wine.pdf"]
    assert hits[1]["snippet"] == [{"text": "RIESLING 2019 CASE", "match": False}] and hits[1]["words"] == []
    assert [hit["document_id"] for hit in listed(q="", folder="/srv/cellar", limit="1", offset="1")] == [
        older
    ]
    assert [hit["document_id"] for hit in listed(q="folder:cellar type:pdf")] == [older]
    assert [hit["document_id"] for hit in listed(folder="cellar", type="image/png")] == [newer]
