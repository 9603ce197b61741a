"""`ocrwatch run` end to end: the real observer on temporary folders, the real engine in worker
processes, the real SQLite index, and the daemon in a subprocess as users and systemd run it."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from ocrwatch.index.dialects.sqlite_driver import sqlite3
from tests.daemon_helpers import RunningDaemon, page, sha256, wait_for
from tests.webserver import free_port


def drop_burst(tmp_path: Path, inbox: Path, count: int, *, slow: int) -> dict[Path, bytes]:
    """Drop `count` distinct files at once, in every way files arrive; return where each ends up.

    A quarter copied in (half of those into sub-folders made on the way), a quarter moved in one by one,
    a quarter moved in as whole folders, and `slow` written in chunks by writer threads; names with
    spaces and non-ASCII letters throughout. Staging happens outside the watched folder.
    """
    staging = tmp_path / "staging"
    staging.mkdir()
    names = ["scan {}.png", "Rechnung März {}.png", "reçu_{}.PNG", "квитанция {}.png"]
    contents = {f"{names[n % 4].format(n)}": page(f"document {n} total {n * 7}") for n in range(count)}
    items = list(contents.items())
    slow_items, rest = items[:slow], items[slow:]
    quarter = len(rest) // 3
    copied, moved, foldered = rest[:quarter], rest[quarter : 2 * quarter], rest[2 * quarter :]
    dropped: dict[Path, bytes] = {}

    for name, data in [*copied, *moved]:
        (staging / name).write_bytes(data)
    for index, (name, data) in enumerate(foldered):
        folder = staging / f"batch {index % 2} é"
        folder.mkdir(exist_ok=True)
        (folder / name).write_bytes(data)

    def write_slowly(batch: list[tuple[str, bytes]]) -> None:
        for name, data in batch:
            step = len(data) // 4 + 1
            with (inbox / name).open("wb") as file:
                for start in range(0, len(data), step):
                    file.write(data[start : start + step])
                    file.flush()
                    time.sleep(0.15)

    writers = [threading.Thread(target=write_slowly, args=(slow_items[n::4],)) for n in range(4)]
    for writer in writers:
        writer.start()
    for index, (name, data) in enumerate(copied):
        target = inbox / (f"new folder {index % 3}/ü/{name}" if index % 2 else name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(staging / name, target)
        dropped[target] = data
    for name, data in moved:
        os.rename(staging / name, inbox / name)
        dropped[inbox / name] = data
    for index in range(2):
        os.rename(staging / f"batch {index} é", inbox / f"batch {index} é")
    for index, (name, data) in enumerate(foldered):
        dropped[inbox / f"batch {index % 2} é" / name] = data
    for writer in writers:
        writer.join()
    dropped.update({inbox / name: data for name, data in slow_items})
    assert len(dropped) == count
    return dropped


def assert_indexed_once(daemon: RunningDaemon, dropped: dict[Path, bytes]) -> None:
    """One row per file, each done with its final content's sha256, and one outcome line each."""
    rows = {row["path"]: row for row in daemon.rows()}
    assert len(rows) == len(dropped), sorted(set(rows) ^ {str(path) for path in dropped})
    for path, data in dropped.items():
        row = rows[str(path)]
        assert row["status"] in ("done", "duplicate"), (path, row["status"], row["error"])
        assert row["sha256"] == sha256(data), f"{path} was read before it was complete"
        lines = daemon.outcome_lines(path)
        assert len(lines) == 1, (path, lines)
    with sqlite3.connect(daemon.database) as connection:
        (documents,) = connection.execute("SELECT count(*) FROM documents").fetchone()
    assert documents == len({sha256(data) for data in dropped.values()})


@pytest.mark.parametrize("polling", [False, True], ids=["inotify", "polling"])
def test_a_burst_is_indexed_exactly_once(tmp_path: Path, daemons: list[RunningDaemon], polling: bool) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "already there").mkdir(parents=True)
    before = {inbox / "already there" / f"old {n}.png": page(f"present before {n}") for n in range(3)}
    for path, data in before.items():
        path.write_bytes(data)
    watch = {"folder": "inbox", "polling": polling, "poll_seconds": 0.5}
    daemon = RunningDaemon(tmp_path, {"watch": [watch]})
    daemons.append(daemon.start())

    dropped = drop_burst(tmp_path, inbox, 40 if polling else 200, slow=8 if polling else 20)
    copy = inbox / "same content, new name.png"
    shutil.copy(next(iter(dropped)), copy)
    everything = {**before, **dropped, copy: next(iter(dropped.values()))}
    wait_for(lambda: daemon.settled(list(everything)), f"{len(everything)} files to be read")

    assert daemon.statuses()[str(copy)] == "duplicate"
    assert_indexed_once(daemon, everything)
    assert daemon.alive()
    hit = subprocess.run(
        [sys.executable, "-m", "ocrwatch", "search", '"total 21"', "--config", str(daemon.config_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert hit.returncode == 0, hit.stderr
    assert "квитанция 3.png" in hit.stdout.splitlines()[0]


def test_sigkill_mid_batch_then_restart_loses_and_repeats_nothing(
    tmp_path: Path, daemons: list[RunningDaemon]
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    daemon = RunningDaemon(tmp_path, {"watch": [{"folder": "inbox"}]})
    daemons.append(daemon.start())
    dropped = {inbox / f"page {n}.png": page(f"killed batch {n}") for n in range(40)}
    for path, data in dropped.items():
        path.write_bytes(data)

    wait_for(lambda: list(daemon.statuses().values()).count("done") >= 5, "a few files to be read")
    daemon.kill()
    statuses = daemon.statuses()
    assert "done" in statuses.values() and set(statuses.values()) != {"done"}, statuses
    read_before = {path for path in dropped if statuses.get(str(path)) == "done"}

    daemon.start()
    wait_for(lambda: daemon.settled(list(dropped)), "the rest of the batch after the restart")
    assert_indexed_once(daemon, dropped)
    again = [path for path in read_before if f" {path} " in daemon.log()]
    assert again == [], "files recorded before the kill were read again"
    for path in dropped:
        assert (tmp_path / "out" / f"{path.name}.txt").read_text().startswith("killed batch")


def test_sigterm_finishes_what_is_in_hand_and_exits_cleanly(
    tmp_path: Path, daemons: list[RunningDaemon]
) -> None:
    notifications = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notifications.bind(str(tmp_path / "notify"))
    notifications.settimeout(60)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    daemon = RunningDaemon(
        tmp_path,
        {"watch": [{"folder": "inbox"}], "stop_timeout_seconds": 60},
        env={"NOTIFY_SOCKET": str(tmp_path / "notify")},
    )
    daemons.append(daemon.start())
    assert notifications.recv(4096).decode().startswith("READY=1")
    dropped = {inbox / f"page {n}.png": page(f"stopped batch {n}") for n in range(24)}
    for path, data in dropped.items():
        path.write_bytes(data)

    wait_for(lambda: "done" in daemon.statuses().values(), "the first file to be read")
    stopping = time.monotonic()
    assert daemon.stop(signal.SIGTERM) == 0
    assert time.monotonic() - stopping < 90
    assert notifications.recv(4096).decode() == "STOPPING=1"
    log = daemon.log()
    assert "stopping on SIGTERM" in log and "did not finish in time" not in log and "Traceback" not in log
    statuses = daemon.statuses()
    assert "processing" not in statuses.values()
    assert set(statuses) <= {str(path) for path in dropped}
    # The files in hand were finished, not dropped: every line after the signal is an outcome, and
    # there are as many as the daemon said it held, less those it queued again.
    in_hand_line, *after_signal = log.split("stopping on SIGTERM: ", 1)[1].splitlines()
    in_hand = int(in_hand_line.removesuffix(" files in hand"))
    assert after_signal, f"no line followed the signal, with {in_hand} files in hand"
    queued = sum(map(int, re.findall(r"(\d+) files not begun yet are queued again", log)))
    finished = [line for line in after_signal if " done " in line]
    assert finished == [line for line in after_signal if "not begun yet" not in line], after_signal
    assert in_hand == len(finished) + queued, (in_hand, after_signal)

    daemon.start()
    wait_for(lambda: daemon.settled(list(dropped)), "the rest after a restart")
    assert_indexed_once(daemon, dropped)
    notifications.close()


def test_bad_files_and_after_actions(tmp_path: Path, daemons: list[RunningDaemon]) -> None:
    inbox, deleting = tmp_path / "inbox", tmp_path / "deleting"
    (inbox / "sub").mkdir(parents=True)
    deleting.mkdir()
    good = {inbox / "good.png": "present at start", inbox / "sub" / "deeper.png": "in a sub folder"}
    for path, text in good.items():
        path.write_bytes(page(text))
    (inbox / "empty.jpg").touch()
    (inbox / "notes.jpg").write_text("not a picture")
    ignored = [inbox / ".hidden.png", inbox / "upload.png.part", inbox / "~$lock.png", inbox / "readme.txt"]
    for path in ignored:
        path.write_bytes(page("never read"))
    daemon = RunningDaemon(
        tmp_path,
        {
            "watch": [
                # done and failed inside the watched folder: never read again from there
                {
                    "folder": "inbox",
                    "on_success": "move",
                    "done": "inbox/done",
                    "on_failure": "move",
                    "failed": "inbox/failed",
                },
                {"folder": "deleting", "on_success": "delete", "output": "out-deleting"},
            ],
        },
    )
    daemons.append(daemon.start())
    failed = inbox / "failed"
    wait_for(
        lambda: (failed / "notes.jpg.error.txt").exists() and (failed / "empty.jpg.error.txt").exists(),
        "the bad files to be moved with their reasons",
    )
    wait_for(
        lambda: (inbox / "done" / "sub" / "deeper.png").exists() and (inbox / "done" / "good.png").exists(),
        "the good files to be moved to done, keeping their relative paths",
    )
    assert "empty file (0 bytes)" in (failed / "empty.jpg.error.txt").read_text()
    assert "not an image or PDF" in (failed / "notes.jpg.error.txt").read_text()
    statuses = daemon.statuses()
    assert statuses[str(inbox / "empty.jpg")] == "failed" and statuses[str(inbox / "notes.jpg")] == "failed"
    assert all(str(path) not in statuses for path in ignored) and all(path.exists() for path in ignored)
    assert not any("/done/" in path or "/failed/" in path for path in statuses), statuses
    assert (tmp_path / "out" / "sub" / "deeper.png.txt").read_text() == "in a sub folder\n"

    # The daemon goes on: a later drop into the second folder is read, then its original deleted.
    (deleting / "later.png").write_bytes(page("dropped later"))
    wait_for(lambda: not (deleting / "later.png").exists(), "the original to be deleted after reading")
    assert daemon.statuses()[str(deleting / "later.png")] == "done"
    assert (tmp_path / "out-deleting" / "later.png.txt").read_text() == "dropped later\n"

    # The same name dropped again after its original was moved away is a new drop: read again.
    (inbox / "good.png").write_bytes(page("present at start"))
    wait_for(lambda: (inbox / "done" / "good (2).png").exists(), "the second good.png to be moved")
    assert daemon.alive()

    status = subprocess.run(
        [sys.executable, "-m", "ocrwatch", "status", "--config", str(daemon.config_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    states = ("queued", "processing", "done", "failed", "duplicate")
    counts = dict(line.split() for line in lines if line.split()[0] in states and len(line.split()) == 2)
    # The second good.png (same content, dropped after the first was moved away) is an arrival of its own.
    assert counts == {"queued": "0", "processing": "0", "done": "3", "failed": "2", "duplicate": "1"}, lines
    assert lines[0].startswith("daemon ") and ": running" in lines[0], lines
    assert "queue: 0 files (0 waiting to retry)" in lines
    assert any(line.endswith("empty.jpg: empty file (0 bytes)") for line in lines), status.stdout
    assert daemon.stop() == 0


def test_the_daemon_serves_the_page_and_api_when_web_is_enabled(
    tmp_path: Path, daemons: list[RunningDaemon]
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    port = free_port()
    daemon = RunningDaemon(
        tmp_path, {"watch": [{"folder": "inbox"}], "web": {"enabled": True, "port": port}, "workers": 1}
    )
    daemons.append(daemon.start())
    api = f"http://127.0.0.1:{port}/api"
    wait_for(lambda: _get(f"{api}/health"), "the web server to answer")
    (inbox / "dropped.png").write_bytes(page("served beside the daemon"))

    hits = wait_for(
        lambda: (_get(f"{api}/search?q=daemon") or {}).get("hits"), "the dropped file to be found"
    )
    assert hits[0]["path"].endswith("dropped.png")
    assert _get(f"{api}/stats")["counts"]["done"] == 1
    assert daemon.stop(signal.SIGTERM) == 0


def _get(url: str) -> Any:
    """The JSON at `url`, or None while the server is not answering yet."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.load(response)
    except OSError:
        return None
