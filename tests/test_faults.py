"""Faults outside the files, made for real against the real `ocrwatch run`: a held database lock, a
stopped PostgreSQL server, a full file system, an engine that cannot load, the main process killed
alone. None of them may fail a file, lose one, or leave a process behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path

import pytest

from ocrwatch.index.dialects.sqlite_driver import sqlite3
from tests.daemon_helpers import RunningDaemon, page, wait_for
from tests.postgres import PostgresServer


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid`, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with suppress(OSError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_database_locked_past_the_busy_timeout_pauses_the_queue_and_fails_nothing(
    tmp_path: Path, daemons: list[RunningDaemon]
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    daemon = RunningDaemon(tmp_path, {"watch": [{"folder": "inbox"}], "workers": 1})
    daemons.append(daemon.start())
    (inbox / "before.png").write_bytes(page("read before the lock"))
    wait_for(lambda: daemon.statuses().get(str(inbox / "before.png")) == "done", "the first file")

    holder = sqlite3.connect(daemon.database, isolation_level=None, timeout=30)
    holder.execute("BEGIN IMMEDIATE")  # a backup, the sqlite3 shell, another writer: 15 s
    (inbox / "during.png").write_bytes(page("dropped during the lock"))
    wait_for(lambda: "paused: the index is unavailable: database is locked" in daemon.log(), "the pause")
    time.sleep(15)
    assert daemon.alive()
    holder.execute("COMMIT")
    holder.close()

    wait_for(lambda: daemon.statuses().get(str(inbox / "during.png")) == "done", "the file after the lock")
    log = daemon.log()
    assert log.count("paused: ") == 1, log  # logged once, however many retries
    assert "resumed after" in log and "Traceback" not in log
    assert "failed" not in daemon.statuses().values()
    assert daemon.stop() == 0


def test_a_postgresql_server_that_stops_pauses_the_queue_until_it_is_back(
    tmp_path: Path, daemons: list[RunningDaemon], postgres: PostgresServer, postgres_url: str
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    daemon = RunningDaemon(tmp_path, {"watch": [{"folder": "inbox"}], "workers": 1}, database=postgres_url)
    daemons.append(daemon.start())
    (inbox / "before.png").write_bytes(page("read before the stop"))
    wait_for(lambda: daemon.statuses().get(str(inbox / "before.png")) == "done", "the first file")

    postgres.pause()  # a restart for an upgrade, a failover: every connection cut, none taken
    try:
        (inbox / "during.png").write_bytes(page("dropped while the server is down"))
        wait_for(lambda: "paused: the index is unavailable" in daemon.log(), "the pause")
        time.sleep(5)
        assert daemon.alive()
    finally:
        postgres.resume()

    wait_for(lambda: daemon.statuses().get(str(inbox / "during.png")) == "done", "the file after the stop")
    log = daemon.log()
    assert log.count("paused: ") == 1, log
    assert "resumed after" in log and "Traceback" not in log
    assert "failed" not in daemon.statuses().values()
    assert daemon.stop() == 0


@pytest.fixture
def small_disk(tmp_path: Path):
    """A real 8 MB file system (tmpfs), mounted here for the test; skipped where mounting is refused."""
    mount = tmp_path / "disk"
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {result.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder: Path) -> Path:
    """Fill the file system of `folder` to the last byte; the filler file is returned to free it."""
    filler = folder / "filler"
    for block in (65536, 512):
        with suppress(OSError), filler.open("ab", buffering=0) as file:
            while True:
                file.write(b"\0" * block)
    return filler


@pytest.mark.parametrize(
    ("full", "pause"),
    [
        ("output", "paused: no space left to write"),
        ("done", "paused: no space left to move"),
        ("index", "paused: the index is unavailable: database or disk is full"),
    ],
)
def test_a_full_disk_pauses_the_queue_keeps_every_file_queued_and_resumes_when_freed(
    tmp_path: Path, small_disk: Path, daemons: list[RunningDaemon], full: str, pause: str
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    output = small_disk / "out" if full == "output" else tmp_path / "out"
    done = small_disk / "done" if full == "done" else tmp_path / "done"
    database = small_disk / "index.db" if full == "index" else tmp_path / "index.db"
    config = {
        "watch": [{"folder": "inbox", "on_success": "move", "done": str(done), "on_failure": "move"}],
        "failed": "failed",
        "output": str(output),
        "database": str(database),
        "workers": 1,
    }
    daemon = RunningDaemon(tmp_path, config)
    daemon.database = database
    daemons.append(daemon.start())
    (inbox / "first.png").write_bytes(page("before the disk filled"))
    wait_for(lambda: (done / "first.png").exists(), "the first file")

    filler = fill(small_disk)
    dropped = [inbox / f"page {n}.png" for n in range(3)]
    for number, path in enumerate(dropped):
        path.write_bytes(page(f"while the disk is full {number}"))
    wait_for(lambda: pause in daemon.log(), "the pause on the full disk")
    time.sleep(5)
    statuses = daemon.statuses()
    # Nothing failed: queued (with a full index, not even in it yet), or, with a full done folder, read
    # and waiting for its move.
    waiting = {"output": ("queued", "processing"), "done": ("queued", "processing", "done")}
    allowed = waiting.get(full, (None, "queued", "processing"))
    assert all(statuses.get(str(path)) in allowed for path in dropped), statuses
    assert all(path.exists() for path in dropped)  # not moved to done/ or failed/
    assert not (tmp_path / "failed").exists()
    status = subprocess.run(
        [sys.executable, "-m", "ocrwatch", "status", "--config", str(daemon.config_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if full != "index":  # a full index cannot record its own pause: the log and systemd say it
        assert "paused for" in status.stdout and "no space left" in status.stdout, status.stdout

    filler.unlink()
    wait_for(lambda: all((done / path.name).exists() for path in dropped), "the files once freed")
    assert all(daemon.statuses().get(str(path)) == "done" for path in dropped)
    log = daemon.log()
    assert log.count("paused: ") == 1 and "resumed after" in log, log
    assert [path.name for path in output.iterdir() if path.name.endswith(".tmp")] == []
    assert daemon.stop() == 0


def test_an_engine_that_cannot_load_stops_the_start_and_fails_no_file(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "waiting.png").write_bytes(page("waits for a working engine"))
    notifications = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notifications.bind(str(tmp_path / "notify"))
    notifications.settimeout(0.5)
    daemon = RunningDaemon(
        tmp_path,
        {"watch": [{"folder": "inbox"}], "engine": "tesseract", "engines": {"tesseract": {"lang": "xxx"}}},
    )
    result = subprocess.run(
        [sys.executable, "-m", "ocrwatch", "run", "--config", str(daemon.config_path)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NOTIFY_SOCKET": str(tmp_path / "notify")},
    )
    assert result.returncode != 0
    assert "xxx" in result.stderr and "Traceback" not in result.stderr, result.stderr
    with pytest.raises(TimeoutError):
        notifications.recv(4096)  # READY=1 was never sent
    assert "failed" not in daemon.statuses().values()


def test_the_main_process_killed_alone_leaves_no_worker_behind(tmp_path: Path, daemons: list[RunningDaemon]):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    daemon = RunningDaemon(tmp_path, {"watch": [{"folder": "inbox"}], "workers": 2})
    daemons.append(daemon.start())
    dropped = {inbox / f"page {n}.png": f"killed alone {n}" for n in range(12)}
    for path, text in dropped.items():
        path.write_bytes(page(text))
    wait_for(lambda: "done" in daemon.statuses().values(), "the first file to be read")
    assert daemon.process is not None
    main = daemon.process.pid
    workers = children(main)
    assert len(workers) >= 2, workers
    os.kill(main, signal.SIGKILL)  # the daemon alone, not its process group
    daemon.process.wait(30)
    killed = time.time()
    wait_for(lambda: not any(alive(pid) for pid in workers), "the workers to exit with the daemon", 10)
    time.sleep(1)
    out = tmp_path / "out"
    late = [path.name for path in out.rglob("*") if path.is_file() and path.stat().st_mtime > killed + 0.5]
    assert late == [], late  # nothing written for claims no daemon holds any more

    daemon.start()
    wait_for(lambda: daemon.settled(list(dropped)), "every file after the restart")
    rows = daemon.rows()
    assert sorted(row["path"] for row in rows) == sorted(str(path) for path in dropped)  # one each
    for path, text in dropped.items():
        assert (out / f"{path.name}.txt").read_text() == f"{text}\n"
    assert daemon.stop() == 0


FAULTY_DECODER = """
import os, signal, time

import ocrwatch.documents
import ocrwatch.pipeline

_open_pages = ocrwatch.documents.open_pages


def open_pages(path, settings):
    if "crash" in path.name:
        os.kill(os.getpid(), signal.SIGSEGV)  # a decoder's segfault
    if "hang" in path.name:
        while True:  # a decoder that never returns
            time.sleep(60)
    return _open_pages(path, settings)


ocrwatch.documents.open_pages = ocrwatch.pipeline.open_pages = open_pages
"""


def test_a_file_that_crashes_or_hangs_its_worker_is_charged_alone(
    tmp_path: Path, daemons: list[RunningDaemon]
) -> None:
    faults = tmp_path / "faults"
    faults.mkdir()
    (faults / "sitecustomize.py").write_text(FAULTY_DECODER)  # loaded by every process of the daemon
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    config = {
        "watch": [{"folder": "inbox"}],
        "workers": 2,
        "retries": 1,
        "retry_seconds": 0.5,
        "timeout_seconds": 5,
        "timeout_per_page_seconds": 0,
    }
    path = os.pathsep.join(filter(None, [str(faults), os.environ.get("PYTHONPATH")]))
    daemon = RunningDaemon(tmp_path, config, env={"PYTHONPATH": path})
    daemons.append(daemon.start())
    good = {inbox / f"good {n}.png": f"beside a bad file {n}" for n in range(6)}
    (inbox / "crash.png").write_bytes(page("crashes its worker"))
    (inbox / "hang.png").write_bytes(page("hangs its worker"))
    for file, text in good.items():
        file.write_bytes(page(text))

    wait_for(lambda: daemon.settled([*good, inbox / "crash.png", inbox / "hang.png"]), "every file")
    rows = {row["path"]: row for row in daemon.rows()}
    crash, hang = rows[str(inbox / "crash.png")], rows[str(inbox / "hang.png")]
    assert crash["status"] == "failed" and "died while reading the file (killed by SIGSEGV)" in crash["error"]
    assert hang["status"] == "failed" and hang["error"] == "timed out after 5 s"
    for file, text in good.items():
        row = rows[str(file)]
        assert (row["status"], row["attempts"]) == ("done", 0), dict(row)  # no attempt charged to them
        assert (tmp_path / "out" / f"{file.name}.txt").read_text() == f"{text}\n"
    assert daemon.alive() and "Traceback" not in daemon.log()
    assert daemon.stop() == 0


def test_symlinks_are_read_inside_the_folder_and_refused_out_of_it(
    tmp_path: Path, daemons: list[RunningDaemon]
) -> None:
    inbox, elsewhere = tmp_path / "inbox", tmp_path / "private"
    (inbox / "scans").mkdir(parents=True)
    elsewhere.mkdir()
    (inbox / "scans" / "real.png").write_bytes(page("linked from inside"))
    (elsewhere / "secret.png").write_bytes(page("never to be read"))
    (inbox / "inside.png").symlink_to(inbox / "scans" / "real.png")
    (inbox / "outside.png").symlink_to(elsewhere / "secret.png")
    (inbox / "dangling.png").symlink_to(elsewhere / "nothing.png")
    daemon = RunningDaemon(tmp_path, {"watch": [{"folder": "inbox"}], "retries": 0})
    daemons.append(daemon.start())
    links = [inbox / name for name in ("inside.png", "outside.png", "dangling.png")]
    wait_for(lambda: daemon.settled([*links, inbox / "scans" / "real.png"]), "the links to be judged")
    rows = {row["path"]: row for row in daemon.rows()}
    assert rows[str(inbox / "inside.png")]["status"] in ("done", "duplicate")
    outside = rows[str(inbox / "outside.png")]
    assert outside["status"] == "failed"
    assert "outside the watched folder" in outside["error"] and "secret.png" in outside["error"]
    assert "does not exist" in rows[str(inbox / "dangling.png")]["error"]
    found = subprocess.run(
        [sys.executable, "-m", "ocrwatch", "search", "never", "--config", str(daemon.config_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert found.returncode == 1  # nothing of the private file was indexed
    assert not (tmp_path / "out" / "outside.png.txt").exists()
    assert daemon.stop() == 0
