"""The daemon's parts on their own: watch config, patterns, the queue in the index, settling,
after-actions, sd_notify and the systemd unit."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest

from ocrwatch.config import DEFAULT_INCLUDE, OnSuccess, load_settings
from ocrwatch.documents import SUFFIXES
from ocrwatch.errors import ConfigError, UnreadableFile
from ocrwatch.index import FileStat, FileStatus, Index, Node, Notice, Place
from ocrwatch.watch import settle
from ocrwatch.watch.after import after_failure, after_success
from ocrwatch.watch.notify import notify
from ocrwatch.watch.patterns import Patterns

REPO = Path(__file__).resolve().parents[1]


def settings_from(tmp_path: Path, text: str):
    (tmp_path / "config.yaml").write_text(text)
    return load_settings(tmp_path / "config.yaml")


# Config


def test_profiles_take_the_top_level_defaults_and_their_own_overrides(tmp_path: Path) -> None:
    settings = settings_from(
        tmp_path,
        "output: out\nsettle_seconds: 5\non_success: delete\nwatch:\n"
        "  - folder: scans\n"
        "  - folder: ~/share\n    name: share\n    polling: true\n    output: share-out\n"
        "    on_success: move\n    done: done\n    include: ['*.pdf']\n",
    )
    scans, share = settings.profiles()
    assert scans.folder == tmp_path / "scans" and scans.name == "scans"
    assert scans.settings.settle_seconds == 5 and scans.settings.on_success is OnSuccess.DELETE
    assert scans.settings.output == tmp_path / "out" and not scans.settings.polling
    assert share.folder == Path.home() / "share" and share.name == "share" and share.settings.polling
    assert share.settings.output == tmp_path / "share-out" and share.settings.done == tmp_path / "done"
    assert share.settings.include == ("*.pdf",) and share.settings.settle_seconds == 5
    # One index for all: the top level's, even for a folder with its own output.
    assert share.settings.database_url == settings.database_url == f"sqlite:///{tmp_path}/out/index.db"


def test_the_default_include_patterns_are_the_types_documents_reads() -> None:
    assert {pattern.removeprefix("*") for pattern in DEFAULT_INCLUDE} == SUFFIXES


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("watch:\n  - folder: a\n    settle_second: 1\n", "watch.0.settle_second: unknown key"),
        ("watch:\n  - folder: a\n    polling: often\n", "watch.0.polling: Input should be a valid boolean"),
        ("watch:\n  - name: a\n", "watch.0.folder: Field required"),
        ("watch:\n  - folder: a\n    on_success: archive\n", "watch.0.on_success: Input should be 'keep'"),
        ("watch:\n  - folder: a\n    on_success: move\n", "on_success: move needs a done: folder"),
        ("watch:\n  - folder: a\n  - folder: a/b\n", "watched folders must not nest"),
        ("workers: 0\n", "workers: Input should be greater than or equal to 1"),
    ],
)
def test_watch_config_mistakes_are_named(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        settings_from(tmp_path, text)
    assert message in str(error.value)


def test_run_without_folders_to_watch_says_so(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("output: out\n")
    result = subprocess.run(
        [sys.executable, "-m", "ocrwatch", "run", "--config", "config.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "nothing to watch" in result.stderr


# Patterns


def test_patterns_pick_images_and_skip_partial_hidden_and_own_files(tmp_path: Path) -> None:
    settings = settings_from(
        tmp_path,
        "watch:\n  - folder: in\n    output: in/out\n    on_failure: move\n    failed: in/failed\n",
    )
    patterns = Patterns(settings.profiles()[0])
    inbox = tmp_path / "in"
    wanted = ["a.jpg", "B.JPEG", "sub/c d.png", "é/f.PDF", "g.tiff", "h.webp", "i.bmp", "j.tif"]
    unwanted = [
        ".hidden.jpg", "x.jpg.part", "x.jpg.crdownload", "x.tmp", "x.filepart", "~$x.jpg", "notes.txt",
        ".git/a.jpg", "out/a.jpg.page-1.jpg", "failed/a.jpg", "../elsewhere.jpg",
    ]  # fmt: skip
    assert [name for name in wanted if not patterns.wants_file(inbox / name)] == []
    assert [name for name in unwanted if patterns.wants_file(inbox / name)] == []
    assert not patterns.wants_folder(inbox / "out") and not patterns.wants_folder(inbox / ".sync")
    assert patterns.wants_folder(inbox / "2026")


# The queue

NODE = Node("here", {"in": "/in", "other": "/other"}, lease_seconds=60)
"""A daemon watching the folders "in" (at /in) and "other" (at /other)."""


@pytest.fixture
def index(index_url: str):
    with Index(index_url) as opened:
        yield opened


def test_enqueue_takes_new_and_changed_files_once(index: Index) -> None:
    found = [FileStat(f"/in/{n}.png", 10, 1.0) for n in range(3)]
    assert index.queue.enqueue("in", "/in", found, delay=0) == [stat.path for stat in found]
    assert index.queue.enqueue("in", "/in", found, delay=0) == []  # already queued
    claimed = index.queue.claim(NODE)
    assert claimed is not None and claimed.path == "/in/0.png" and claimed.root == "/in"
    assert claimed.place == Place("in", "0.png") and claimed.claimed_by == "here"
    assert claimed.status is FileStatus.PROCESSING
    index.record_failed(claimed, 10, 1.0, None, "not an image", Notice("on_failed"))
    assert index.queue.enqueue("in", "/in", found, delay=0) == []  # failed, unchanged: not read forever
    assert index.queue.enqueue("in", "/in", found, delay=0, again={FileStatus.FAILED}) == ["/in/0.png"]
    assert len(index.arrivals(Place("in", "0.png"))) == 1  # failed and still in place: the same arrival
    changed = [FileStat("/in/1.png", 11, 2.0)]
    assert (
        index.queue.enqueue("in", "/in", changed, delay=0) == []
    )  # still queued: the claim's settle check decides


def test_a_file_found_again_after_it_was_read_is_a_new_arrival(index: Index) -> None:
    index.queue.enqueue("in", "/in", [FileStat("/in/a.png", 10, 1.0)], delay=0)
    claimed = index.queue.claim(NODE)
    assert claimed is not None
    index.record_failed(claimed, 10, 1.0, None, "not an image", Notice("on_failed", (), after_action=True))
    index.record_after_action(claimed, "/failed/a.png")
    again = {FileStatus.FAILED}
    assert index.queue.enqueue("in", "/in", [FileStat("/in/a.png", 10, 1.0)], delay=0, again=again)
    first, second = index.arrivals(Place("in", "a.png"))
    assert (first.status, first.moved_to, first.error) == (FileStatus.FAILED, "/failed/a.png", "not an image")
    assert second.status is FileStatus.QUEUED


def test_an_original_waiting_for_its_after_action_is_not_queued_again(index: Index) -> None:
    index.queue.enqueue("in", "/in", [FileStat("/in/a.png", 10, 1.0)], delay=0)
    claimed = index.queue.claim(NODE)
    assert claimed is not None
    index.record_failed(claimed, 10, 1.0, None, "not an image", Notice("on_failed", (), after_action=True))
    index.record_after_failure(claimed, "cannot move it: no space left", 60)
    found = [FileStat("/in/a.png", 10, 1.0)]
    assert index.queue.enqueue("in", "/in", found, delay=0, again={FileStatus.FAILED}) == []
    assert index.queue.claim_after_actions(NODE) == []  # due in a minute
    record = index.file(Place("in", "a.png"))
    assert record is not None and (record.after_error, record.after_attempts) == (
        "cannot move it: no space left",
        1,
    )


def test_a_queued_file_waits_for_its_settle_time_and_its_retry_time(index: Index) -> None:
    index.queue.enqueue("in", "/in", [FileStat("/in/a.png", 1, 1.0)], delay=60)
    assert index.queue.claim(NODE) is None
    index.queue.enqueue("in", "/in", [FileStat("/in/b.png", 1, 1.0)], delay=0)
    claimed = index.queue.claim(NODE)
    assert claimed is not None and claimed.path == "/in/b.png"
    index.queue.retry_later(claimed, "locked", 60)
    assert index.queue.claim(NODE) is None
    record = index.file(Place("in", "b.png"))
    assert record is not None and record.attempts == 1 and record.error == "locked"
    assert record.claimed_by is None and record.lease_until is None
    assert index.queue.waiting_to_retry() == 1


def test_claims_from_several_connections_never_take_the_same_file(index_url: str) -> None:
    with Index(index_url) as index:
        index.queue.enqueue("in", "/in", [FileStat(f"/in/{n}.png", 1, 1.0) for n in range(300)], delay=0)
    claimed: list[str] = []
    stems: list[str | None] = []

    def claimer() -> None:
        with Index(index_url) as own:
            while record := own.queue.claim(NODE):
                claimed.append(record.path)
                stems.append(record.output_stem)

    threads = [threading.Thread(target=claimer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(claimed) == 300 and Counter(claimed).most_common(1)[0][1] == 1
    assert len(set(stems)) == 300


# Settling


def test_settle_check_sees_a_file_still_changing_or_gone(tmp_path: Path, index: Index) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(b"12")
    info = path.stat()
    here = Node("here", {"inbox": str(tmp_path)}, 60)
    index.queue.enqueue("inbox", str(tmp_path), [FileStat(str(path), info.st_size, info.st_mtime)], delay=0)
    record = index.queue.claim(here)
    assert record is not None and settle.check(record) is None
    path.write_bytes(b"1234")
    moved = settle.check(record)
    assert moved is not None and moved.size == 4
    path.unlink()
    with pytest.raises(UnreadableFile, match="disappeared"):
        settle.check(record)


# After-actions


def test_moves_keep_the_relative_path_never_overwrite_and_say_why(tmp_path: Path) -> None:
    settings = settings_from(
        tmp_path,
        "watch:\n  - folder: in\n    on_success: move\n    done: done\n"
        "    on_failure: move\n    failed: failed\n",
    )
    profile = settings.profiles()[0]
    (tmp_path / "in" / "sub").mkdir(parents=True)
    for _ in range(2):
        (tmp_path / "in" / "sub" / "a.jpg").write_text("x")
        after_success(profile, tmp_path / "in" / "sub" / "a.jpg")
    assert sorted(p.name for p in (tmp_path / "done" / "sub").iterdir()) == ["a (2).jpg", "a.jpg"]
    (tmp_path / "in" / "b.jpg").write_text("x")
    moved = after_failure(profile, tmp_path / "in" / "b.jpg", "not an image or PDF")
    assert moved == tmp_path / "failed" / "b.jpg"
    assert "not an image or PDF" in (tmp_path / "failed" / "b.jpg.error.txt").read_text()
    assert after_success(profile, tmp_path / "in" / "gone.jpg") is None


# Service


def test_sd_notify_sends_datagrams_to_the_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert notify("READY=1") is False  # not under systemd: nothing to do
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as receiver:
        receiver.bind(str(tmp_path / "notify"))
        monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
        assert notify("READY=1", "STATUS=watching") is True
        assert receiver.recv(100) == b"READY=1\nSTATUS=watching"


def test_the_systemd_unit_verifies(tmp_path: Path) -> None:
    assert shutil.which("systemd-analyze"), (
        "systemd-analyze is missing: `make test` installs Debian's systemd"
    )
    unit = (REPO / "systemd" / "ocrwatch.service").read_text()
    settings = dict(
        line.split("=", 1) for line in unit.splitlines() if "=" in line and not line.startswith("#")
    )
    assert settings["Type"] == "notify" and settings["ProtectSystem"] == "strict"
    assert settings["NoNewPrivileges"] == "yes" and settings["PrivateTmp"] == "yes"
    assert (
        settings["Restart"] == "on-failure"
        and settings["User"] == "ocrwatch"
        and "ReadWritePaths" in settings
    )
    # Stopping must outlast the daemon's own stop timeout (30 s by default), or systemd kills mid-file.
    assert int(settings["TimeoutStopSec"]) > load_settings().stop_timeout_seconds
    # SIGTERM to the daemon alone, and SIGKILL to its workers once it has gone.
    assert settings["KillMode"] == "mixed"
    # An allow-list: webhooks and web.enabled need IP sockets, sd_notify a Unix socket; nothing more.
    assert not settings["RestrictAddressFamilies"].startswith("~")
    assert set(settings["RestrictAddressFamilies"].split()) == {"AF_UNIX", "AF_INET", "AF_INET6"}
    # The main loop pings at half the interval; the interval must outlast a wait for a locked index.
    assert int(settings["WatchdogSec"]) >= 30 and settings["NotifyAccess"] == "main"
    # verify checks that ExecStart's program exists: point it at this checkout's entry point.
    program = settings["ExecStart"].split()[0]
    entry_point = Path(sys.executable).with_name("ocrwatch")
    assert entry_point.exists(), entry_point
    copy = tmp_path / "ocrwatch.service"
    copy.write_text(unit.replace(program, str(entry_point)))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=120
    )
    # verify only warns about unknown keys and bad values; any output is a mistake in the unit.
    assert result.returncode == 0 and result.stderr.strip() == "" and result.stdout.strip() == "", result


def test_workers_share_the_cores_unless_threads_are_set(monkeypatch: pytest.MonkeyPatch) -> None:
    from ocrwatch.config import EngineSettings, TesseractSettings
    from ocrwatch.watch import workers

    monkeypatch.setattr(workers, "cores", lambda: 4)
    shared = workers._share_cores(EngineSettings(tesseract=TesseractSettings(threads=0)), 2)
    assert (shared.rapidocr.threads, shared.tesseract.threads) == (2, 2)
    assert workers._share_cores(EngineSettings(), 8).tesseract.threads == 1  # set: kept
    assert workers._share_cores(EngineSettings(), 8).rapidocr.threads == 1  # never 0 threads
