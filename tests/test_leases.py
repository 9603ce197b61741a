"""Several daemons on one queue, in the index: claims as leases, fenced results, own claims given back,
claims only in watched folders, one arrival per file however many daemons see it, and a file's name the
same on every host. Each "node" is an `Index` of its own on the same database, as separate hosts are."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from typer.testing import CliRunner

from ocrwatch.cli import app
from ocrwatch.config import load_settings
from ocrwatch.errors import ClaimLost
from ocrwatch.index import FileStat, FileStatus, Index, Node, Notice, Place
from ocrwatch.index.tables import files
from ocrwatch.places import Places
from ocrwatch.result import DocumentText
from ocrwatch.watch.nodes import gone_from_this_host
from tests.databases import plain_engine
from tests.test_index import document, page

LEASE = 1.0
"""Seconds a test claim lasts: short, so that tests can outwait it."""
ROOTS = {"in": "/srv/in", "other": "/srv/other"}
SILENT = Notice("on_done")


@pytest.fixture
def url(index_url: str) -> str:
    """A new index on each database: SQLite, and the tests' PostgreSQL server, where claims race."""
    return index_url


@pytest.fixture
def index(url: str) -> Iterator[Index]:
    with Index(url) as opened:
        yield opened


@pytest.fixture
def elsewhere(url: str) -> Iterator[Index]:
    """The same index opened by another host's daemon."""
    with Index(url) as opened:
        yield opened


def node(name: str, roots: dict[str, str] = ROOTS, lease: float = LEASE) -> Node:
    return Node(name, roots, lease)


def content(text: str) -> DocumentText:
    return document(page(text), source="a.png")


def queue(index: Index, *names: str, folder: str = "in") -> None:
    root = ROOTS[folder]
    index.queue.enqueue(folder, root, [FileStat(f"{root}/{name}", 1, 1.0) for name in names], delay=0)


def test_a_lapsed_lease_hands_the_file_to_another_node(index: Index, elsewhere: Index) -> None:
    queue(index, "a.png")
    mine = index.queue.claim(node("a"))
    assert mine is not None and mine.claimed_by == "a" and mine.lease_until is not None
    assert elsewhere.queue.claim(node("b")) is None  # held: the lease still runs
    time.sleep(LEASE + 0.2)
    theirs = elsewhere.queue.claim(node("b"))
    assert theirs is not None and theirs.id == mine.id and theirs.claimed_by == "b"
    assert theirs.claim_token != mine.claim_token and theirs.output_stem == mine.output_stem

    assert not index.leases.holds(mine.id, mine.claim_token)  # the worker's may_write: no
    with pytest.raises(ClaimLost):
        index.record_done(mine, 1, 1.0, content("late"), SILENT)
    with pytest.raises(ClaimLost):
        index.record_failed(mine, 1, 1.0, None, "late", SILENT)
    row = index.file(Place("in", "a.png"))
    assert row is not None and (row.status, row.claimed_by, row.document_id) == (
        FileStatus.PROCESSING,
        "b",
        None,
    )
    assert index.counts()[FileStatus.DONE] == 0

    elsewhere.record_done(theirs, 1, 1.0, content("in time"), SILENT)
    assert [row.status for row in index.arrivals(Place("in", "a.png"))] == [FileStatus.DONE]


def test_a_lapsed_lease_is_lost_even_while_nobody_took_the_file(index: Index) -> None:
    """A daemon frozen past its lease (SIGSTOP) cannot record, nor renew what lapsed: it claims again."""
    queue(index, "a.png")
    frozen = index.queue.claim(node("a"))
    assert frozen is not None
    time.sleep(LEASE + 0.2)
    assert index.leases.renew([frozen.claim_token or ""], LEASE) == 0
    with pytest.raises(ClaimLost):
        index.record_done(frozen, 1, 1.0, content("stale"), SILENT)
    assert index.counts()[FileStatus.DONE] == 0
    again = index.queue.claim(node("a"))
    assert again is not None and again.id == frozen.id and again.claim_token != frozen.claim_token


def test_renewal_keeps_a_lease(index: Index, elsewhere: Index) -> None:
    queue(index, "a.png")
    mine = index.queue.claim(node("a"))
    assert mine is not None and mine.claim_token is not None
    for _ in range(4):  # twice the lease, renewed every half of it
        time.sleep(LEASE / 2)
        assert index.leases.renew([mine.claim_token], LEASE) == 1
        assert elsewhere.queue.claim(node("b")) is None
    index.record_done(mine, 1, 1.0, content("kept"), SILENT)
    assert index.counts()[FileStatus.DONE] == 1


def test_an_after_action_is_fenced_like_an_outcome(index: Index, elsewhere: Index) -> None:
    """The claim lasts until the after-action is recorded: one daemon moves the original, not two."""
    queue(index, "a.png")
    mine = index.queue.claim(node("a"))
    assert mine is not None
    index.record_failed(mine, 1, 1.0, None, "not an image", Notice("on_failed", after_action=True))
    assert elsewhere.queue.claim_after_actions(node("b")) == []  # a's, while its lease runs
    time.sleep(LEASE + 0.2)
    (theirs,) = elsewhere.queue.claim_after_actions(node("b"))
    assert theirs.id == mine.id and theirs.claimed_by == "b" and theirs.path == "/srv/in/a.png"
    with pytest.raises(ClaimLost):
        index.record_after_action(mine, "/srv/failed/a.png")
    elsewhere.record_after_action(theirs, "/srv/failed/b.png")
    row = index.file(Place("in", "a.png"))
    assert row is not None and (row.moved_to, row.after_due, row.claim_token) == (
        "/srv/failed/b.png",
        None,
        None,
    )


def test_start_up_gives_back_only_the_nodes_own_claims(index: Index, elsewhere: Index) -> None:
    queue(index, "0.png", "1.png", "2.png")
    first, second = index.queue.claim(node("a", lease=60)), index.queue.claim(node("a", lease=60))
    other = elsewhere.queue.claim(node("b", lease=60))
    assert first and second and other
    assert index.leases.release("a", [first.id]) == 1  # shutdown: what did not finish in time
    assert index.leases.release("a") == 1  # start-up: whatever else "a" held
    assert index.counts()[FileStatus.QUEUED] == 2
    held = index.file(Place("in", other.relpath or ""))
    assert held is not None and (held.status, held.claimed_by) == (FileStatus.PROCESSING, "b")
    assert elsewhere.leases.holds(other.id, other.claim_token)


def test_a_node_claims_only_files_of_the_folders_it_watches(index: Index) -> None:
    queue(index, "a.png", folder="other")
    only_in = node("a", {"in": "/srv/in"})
    assert index.queue.claim(only_in) is None
    claimed = index.queue.claim(node("b", {"other": "/mnt/other"}))
    assert claimed is not None and (claimed.folder, claimed.path) == ("other", "/mnt/other/a.png")
    index.record_failed(claimed, 1, 1.0, None, "broken", Notice("on_failed", after_action=True))
    time.sleep(LEASE + 0.2)
    assert index.queue.claim_after_actions(only_in) == []  # nor its after-actions
    index.queue.retry_failed([Place("other", "a.png")])
    assert index.queue.claim(only_in) is None  # nor its retries


def test_two_nodes_that_see_a_new_file_at_once_queue_it_once(url: str) -> None:
    names = [f"{n}.png" for n in range(50)]
    queued: list[str] = []
    start = threading.Barrier(4)
    Index(url).close()  # migrated first: this test races enqueues, not four migrations of a new file

    def see() -> None:
        with Index(url) as own:
            start.wait()
            for _ in range(5):
                root = ROOTS["in"]
                found = [FileStat(f"{root}/{name}", 1, 1.0) for name in names]
                queued.extend(own.queue.enqueue("in", root, found, delay=0))

    threads = [threading.Thread(target=see) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sorted(queued) == sorted(f"/srv/in/{name}" for name in names)
    with Index(url) as index:
        assert index.counts()[FileStatus.QUEUED] == 50


def test_nodes_claiming_at_once_reserve_distinct_output_names(url: str) -> None:
    """100 folders each with a `receipt.jpg`, all read into one output folder, claimed by 4 nodes at once:
    every file is claimed once, under a name of its own, and no claim fails on the names' constraint."""
    roots = {f"f{n}": f"/srv/f{n}" for n in range(100)}
    with Index(url) as index:
        for folder, root in roots.items():
            index.queue.enqueue(folder, root, [FileStat(f"{root}/receipt.jpg", 1, 1.0)], delay=0)
    claimed: list[tuple[int, str | None]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def claim_all(name: str) -> None:
        try:
            with Index(url) as own:
                start.wait()
                while (record := own.queue.claim(node(name, roots, lease=60))) is not None:
                    claimed.append((record.id, record.output_stem))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=claim_all, args=(f"n{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert len(claimed) == len({id for id, _ in claimed}) == 100
    stems = {stem for _, stem in claimed}
    assert stems == {"receipt.jpg", *(f"receipt.jpg~{n}" for n in range(2, 101))}


def test_the_database_holds_one_open_arrival_per_place(url: str, index: Index) -> None:
    """What two daemons' inserts meet where the database lets them race (their ON CONFLICT target)."""
    queue(index, "a.png")
    now = index.now()
    second = {"folder": "in", "relpath": "a.png", "created_at": now, "updated_at": now}
    engine = plain_engine(url)
    try:
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(insert(files).values(path="/mnt/in/a.png", status="queued", **second))
        with engine.begin() as connection:  # a finished row at the same place is history, not a rival
            connection.execute(insert(files).values(path="/mnt/in/a.png", status="done", **second))
    finally:
        engine.dispose()


def test_a_file_being_read_by_one_node_is_not_queued_again_by_anothers_scan(
    index: Index, elsewhere: Index
) -> None:
    queue(index, "a.png")
    assert index.queue.claim(node("a")) is not None
    found = [FileStat("/mnt/in/a.png", 2, 2.0)]  # changed even, as the other host sees it
    assert elsewhere.queue.enqueue("in", "/mnt/in", found, delay=0) == []
    assert len(index.arrivals(Place("in", "a.png"))) == 1


def test_two_hosts_that_mount_one_share_at_different_paths_agree_about_a_file(
    tmp_path: Path, index: Index, elsewhere: Index
) -> None:
    configs = {
        "a": "watch:\n  - folder: /srv/share/scans\n",
        "b": "watch:\n  - folder: /mnt/scans\n    name: scans\n",
    }
    places = {}
    for host, text in configs.items():
        (tmp_path / f"{host}.yaml").write_text(text)
        places[host] = Places(load_settings(tmp_path / f"{host}.yaml").profiles())
    seen_by_a = places["a"].place("/srv/share/scans/2026/receipt 1.jpg")
    assert (
        seen_by_a
        == places["b"].place("/mnt/scans/2026/receipt 1.jpg")
        == Place("scans", "2026/receipt 1.jpg")
    )

    index.queue.enqueue(
        "scans", "/srv/share/scans", [FileStat("/srv/share/scans/2026/receipt 1.jpg", 1, 1.0)], delay=0
    )
    assert (
        elsewhere.queue.enqueue(
            "scans", "/mnt/scans", [FileStat("/mnt/scans/2026/receipt 1.jpg", 1, 1.0)], delay=0
        )
        == []
    )
    claimed = elsewhere.queue.claim(Node("b", places["b"].roots, LEASE))
    assert claimed is not None and claimed.path == "/mnt/scans/2026/receipt 1.jpg"
    assert claimed.output_stem == "2026/receipt 1.jpg"
    assert places["a"].shown(claimed) == "/srv/share/scans/2026/receipt 1.jpg"  # each host shows its own path
    assert Places([]).shown(claimed) == "scans:2026/receipt 1.jpg"  # a host that does not watch it


def test_status_lists_the_daemons_sharing_the_index(tmp_path: Path, url: str, index: Index) -> None:
    index.daemons.register("scanner-1", "host-a", 100, ["in", "other"], lease_seconds=60)
    index.daemons.register("scanner-2", "host-b", 200, ["in"], lease_seconds=LEASE)
    index.daemons.register("scanner-3", "host-b", 300, ["in"], lease_seconds=60)
    index.daemons.heartbeat("scanner-3", "no space left on /out")
    queue(index, "a.png")
    assert index.queue.claim(node("scanner-1", lease=60)) is not None
    time.sleep(LEASE + 0.2)
    index.daemons.heartbeat("scanner-1", None)

    result = CliRunner().invoke(app, ["status", "--db", url])
    assert result.exit_code == 0, result.output
    lines = {line.split(":")[0]: line for line in result.output.splitlines() if line.startswith("daemon ")}
    assert lines.keys() == {"daemon scanner-1", "daemon scanner-2", "daemon scanner-3"}
    assert "running; 1 files in hand; folders in, other" in lines["daemon scanner-1"]
    assert "stale" in lines["daemon scanner-2"] and "0 files in hand" in lines["daemon scanner-2"]
    assert "paused for " in lines["daemon scanner-3"] and "no space left on /out" in lines["daemon scanner-3"]
    assert "in hand by scanner-1" in result.output and "in:a.png" in result.output


def test_a_restart_takes_back_the_files_of_this_hosts_unnamed_daemons_that_are_gone(index: Index) -> None:
    host = socket.gethostname()
    exited = subprocess.Popen([sys.executable, "-c", "pass"])
    exited.wait()
    gone, alive = f"{host}:{exited.pid}", f"{host}:{os.getpid()}"
    index.daemons.register(gone, host, exited.pid, ["in"], lease_seconds=60)
    index.daemons.register(alive, host, os.getpid(), ["in"], lease_seconds=60)
    index.daemons.register("scanner", host, exited.pid, ["in"], lease_seconds=60)  # a name of its own
    index.daemons.register(f"elsewhere:{exited.pid}", "elsewhere", exited.pid, ["in"], lease_seconds=60)
    assert gone_from_this_host(index.daemons.all(), me=f"{host}:1") == [gone]
