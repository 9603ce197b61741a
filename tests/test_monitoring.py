"""Monitoring, shown with the real parts: `/metrics` scraped from a real `ocrwatch serve` after a real
daemon and a real `ocrwatch scan` read real receipts into one index, parsed with Prometheus's own
parser and checked against `ocrwatch status`; JSON log lines from the real daemon, its workers and the
server; systemd's watchdog pings received on a real notify socket."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from ocrwatch.index import FileStat, Index, Node
from ocrwatch.index.dialects.sqlite_driver import sqlite3
from ocrwatch.monitoring.watchdog import Watchdog
from tests.daemon_helpers import RunningDaemon, page, wait_for
from tests.webserver import free_port

JSON_FIELDS = {"time", "level", "logger", "message"}
SERVE = (sys.executable, "-m", "ocrwatch", "serve")


def ocrwatch(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "ocrwatch", *map(str, args)]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)


@contextmanager
def serving(config: Path, log: Path) -> Iterator[str]:
    """A real `ocrwatch serve --log-format json` on a free loopback port; yields its URL."""
    port = free_port()
    with log.open("w") as output:
        process = subprocess.Popen(
            [*SERVE, "--config", str(config), "--port", str(port), "--log-format", "json"],
            cwd=config.parent,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"

    def answering() -> bool:
        assert process.poll() is None, log.read_text()
        try:
            return httpx.get(f"{url}/api/health", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(answering, "ocrwatch serve to answer")
        yield url
    finally:
        process.terminate()
        process.wait(30)


def scrape(url: str) -> dict[str, list[Sample]]:
    """`/metrics` parsed by Prometheus's own parser: each family's samples, by family name."""
    response = httpx.get(f"{url}/metrics", timeout=60)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {family.name: family.samples for family in text_string_to_metric_families(response.text)}


def matching(samples: list[Sample], name: str, **labels: str) -> list[float]:
    """The values of the samples called `name` whose labels include `labels`."""
    return [s.value for s in samples if s.name == name and labels.items() <= s.labels.items()]


def value(samples: list[Sample], name: str, **labels: str) -> float:
    """The one sample called `name` whose labels include `labels`."""
    found = matching(samples, name, **labels)
    assert len(found) == 1, (name, labels, samples)
    return found[0]


def status_counts(config: Path) -> dict[str, int]:
    """The count in each state as `ocrwatch status` prints it, and its queue line's numbers."""
    result = ocrwatch("status", "--config", config, cwd=config.parent)
    assert result.returncode == 0, result.stderr
    counts = {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", result.stdout, re.MULTILINE)}
    queue = re.search(r"^queue: (\d+) files \((\d+) waiting to retry", result.stdout, re.MULTILINE)
    assert queue is not None, result.stdout
    return {**counts, "queue": int(queue[1]), "retrying": int(queue[2])}


def json_lines(text: str) -> list[dict]:
    """Every line of `text` as a JSON object; fails on the first line that is not one."""
    entries = []
    for line in text.splitlines():
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"not a JSON line: {line!r}")
    assert all(entry.keys() >= JSON_FIELDS for entry in entries), entries
    return entries


def test_metrics_after_a_real_batch_equal_what_status_says(
    tmp_path: Path, data_dir: Path, daemons: list[RunningDaemon]
) -> None:
    inbox, elsewhere = tmp_path / "inbox", tmp_path / "elsewhere"
    inbox.mkdir()
    elsewhere.mkdir()
    receipts = [data_dir / "sroie" / "img" / f"00{n}.jpg" for n in range(3)]
    daemon = RunningDaemon(
        tmp_path,
        {"watch": [{"folder": "inbox", "on_done": {"command": ["true"]}}], "workers": 1},  # engine: auto
        env={"OCRWATCH_LOG_FORMAT": "json"},  # as `--log-format json`; the workers log as the daemon does
    )
    daemons.append(daemon.start())
    dropped = [inbox / "a.jpg", inbox / "b.jpg", inbox / "copy of a.jpg", inbox / "notes.jpg"]
    shutil.copyfile(receipts[0], dropped[0])
    shutil.copyfile(receipts[1], dropped[1])
    shutil.copyfile(receipts[0], dropped[2])  # the same content: a duplicate
    dropped[3].write_text("not an image")
    wait_for(lambda: daemon.settled(dropped), "the batch to be read")
    # Another process reads into the same index: `ocrwatch scan`, with no watched folder.
    shutil.copyfile(receipts[2], elsewhere / "c.jpg")
    scanned = ocrwatch("scan", elsewhere / "c.jpg", "--config", daemon.config_path, cwd=tmp_path)
    assert scanned.returncode == 0, scanned.stderr
    scanned_pages = int(re.search(r"(\d+) pages read", scanned.stderr)[1])

    with serving(daemon.config_path, tmp_path / "serve.log") as url:

        def delivered() -> dict[str, list[Sample]] | None:
            metrics = scrape(url)
            samples = metrics["ocrwatch_notifications"]
            return metrics if matching(samples, "ocrwatch_notifications", state="delivered") == [3] else None

        metrics = wait_for(delivered, "the on_done notifications of a.jpg, b.jpg and its copy")
        counts = status_counts(daemon.config_path)
        assert httpx.get(f"{url}/metrics", headers={"Authorization": "Bearer x"}).status_code == 401
    assert daemon.stop() == 0

    files = metrics["ocrwatch_files"]
    for state in ("queued", "processing", "done", "failed", "duplicate"):
        assert sum(s.value for s in files if s.labels["status"] == state) == counts[state], state
    assert counts["done"] == 3 and counts["failed"] == 1 and counts["duplicate"] == 1, counts
    assert value(files, "ocrwatch_files", folder=inbox.name, status="done") == 2
    assert value(files, "ocrwatch_files", folder=inbox.name, status="failed") == 1
    assert value(files, "ocrwatch_files", folder="", status="done") == 1  # the scan's
    queued = metrics["ocrwatch_queue_oldest_age_seconds"]
    assert value(queued, "ocrwatch_queue_oldest_age_seconds", folder=inbox.name) == 0 == counts["queue"]
    assert sum(s.value for s in metrics["ocrwatch_queue_retrying"]) == counts["retrying"] == 0

    # Every daemon line is JSON; the outcome lines carry the text line's parts as fields of their own.
    entries = json_lines(daemon.log())
    done = [entry for entry in entries if entry.get("status") == "done"]
    assert {Path(entry["path"]).name for entry in done} == {"a.jpg", "b.jpg"}
    assert all(e["folder"] == str(inbox) and e["engine"] == "auto" and e["seconds"] > 0 for e in done)
    failed = next(entry for entry in entries if entry.get("status") == "failed")
    assert failed["level"] == "WARNING" and "not an image or PDF" in failed["error"]
    assert failed["message"].startswith(f"failed {inbox / 'notes.jpg'} ")
    assert json_lines((tmp_path / "serve.log").read_text())[0]["message"].startswith("serving http://")

    # Pages by the engine `auto` chose for each (receipts: rapidocr), from both processes.
    histogram = metrics["ocrwatch_ocr_page_seconds"]
    pages_read = sum(entry["pages"] for entry in done) + scanned_pages
    assert sum(matching(histogram, "ocrwatch_ocr_page_seconds_count")) == pages_read == 3
    for engine in {s.labels["engine"] for s in histogram}:
        assert engine in ("rapidocr", "tesseract"), engine
        buckets = [s for s in histogram if s.name.endswith("_bucket") and s.labels["engine"] == engine]
        assert [s.value for s in buckets] == sorted(s.value for s in buckets)  # cumulative
        count = value(histogram, "ocrwatch_ocr_page_seconds_count", engine=engine)
        assert buckets[-1].labels["le"] == "+Inf" and buckets[-1].value == count
        assert value(histogram, "ocrwatch_ocr_page_seconds_sum", engine=engine) > 0

    assert value(metrics["ocrwatch_daemon_paused"], "ocrwatch_daemon_paused") == 0
    assert (
        value(metrics["ocrwatch_daemon_heartbeat_age_seconds"], "ocrwatch_daemon_heartbeat_age_seconds") < 60
    )


def test_queued_and_retrying_files_are_counted_as_status_counts_them(tmp_path: Path) -> None:
    """Without OCR: arrivals queued in two folders, one of them waiting to retry."""
    database = tmp_path / "index.db"
    with Index(f"sqlite:///{database}") as index:
        index.queue.enqueue(
            "a", "/in/a", [FileStat("/in/a/1.jpg", 1, 1.0), FileStat("/in/a/2.jpg", 1, 1.0)], delay=0
        )
        index.queue.enqueue("b", "/in/b", [FileStat("/in/b/3.jpg", 1, 1.0)], delay=0)
        claimed = index.queue.claim(Node("here", {"b": "/in/b"}, 60))
        assert claimed is not None
        index.queue.retry_later(claimed, "cannot read the file: permission denied", 3600)
    time.sleep(1.1)
    config = tmp_path / "config.yaml"
    config.write_text(f"database: {database}\nengine: tesseract\n")
    with serving(config, tmp_path / "serve.log") as url:
        metrics = scrape(url)
        counts = status_counts(config)
    files = metrics["ocrwatch_files"]
    assert value(files, "ocrwatch_files", folder="a", status="queued") == 2
    assert (
        sum(s.value for s in files if s.labels["status"] == "queued") == counts["queued"] == counts["queue"]
    )
    retrying = metrics["ocrwatch_queue_retrying"]
    assert value(retrying, "ocrwatch_queue_retrying", folder="b") == 1 == counts["retrying"]
    assert value(retrying, "ocrwatch_queue_retrying", folder="a") == 0
    oldest = value(
        metrics["ocrwatch_queue_oldest_age_seconds"], "ocrwatch_queue_oldest_age_seconds", folder="a"
    )
    assert 1 <= oldest < 120


def test_a_config_error_under_log_format_json_is_a_json_line(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("watch:\n  - folder: inbox\n    settle_second: 2\n")
    result = ocrwatch("run", "--config", config, "--log-format", "json", cwd=tmp_path)
    assert result.returncode == 2
    (entry,) = json_lines(result.stderr)
    assert entry["level"] == "ERROR" and "settle_second: unknown key" in entry["message"], entry


def test_rapidocr_whose_logger_prints_through_its_own_handler_logs_json_lines_too(tmp_path: Path) -> None:
    program = (
        "from ocrwatch.monitoring.logs import LogFormat, log_to_stderr\n"
        "log_to_stderr(LogFormat.JSON)\n"
        "from rapidocr.utils.log import logger\n"  # its handler is added at import, to a bare logger
        "logger.error('the model file is missing')\n"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    (entry,) = json_lines(result.stderr)
    assert entry["logger"] == "RapidOCR" and entry["message"] == "the model file is missing", entry


def test_the_watchdog_is_pinged_from_the_main_loop_also_while_the_index_is_locked(
    tmp_path: Path, daemons: list[RunningDaemon]
) -> None:
    notifications = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notifications.bind(str(tmp_path / "notify"))
    notifications.settimeout(60)
    (tmp_path / "inbox").mkdir()
    daemon = RunningDaemon(
        tmp_path,
        {"watch": [{"folder": "inbox"}], "engine": "tesseract", "workers": 1},
        env={"NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "2000000"},  # WATCHDOG_PID unset
    )
    daemons.append(daemon.start())
    assert notifications.recv(4096).decode().startswith("READY=1")

    def pings(seconds: float) -> list[float]:
        """When each WATCHDOG=1 arrived over `seconds`; other states (STATUS=paused) are skipped."""
        arrived, deadline = [], time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            notifications.settimeout(left)
            try:
                message = notifications.recv(4096).decode()
            except TimeoutError:
                break
            if message == "WATCHDOG=1":
                arrived.append(time.monotonic())
        return arrived

    running = pings(5)
    assert 4 <= len(running) <= 6, running  # every second, half of WATCHDOG_USEC; not every loop turn
    gaps = [b - a for a, b in itertools.pairwise(running)]
    assert max(gaps) < 2, gaps  # over WATCHDOG_USEC, systemd would kill it

    holder = sqlite3.connect(daemon.database, isolation_level=None, timeout=30)
    holder.execute("BEGIN IMMEDIATE")  # the index is locked past its busy timeout (5 s): a pause
    (tmp_path / "inbox" / "during.png").write_bytes(page("dropped while the index is locked"))
    try:
        locked = pings(18)
    finally:
        holder.execute("COMMIT")
        holder.close()
    assert "paused: the index is unavailable" in daemon.log()
    # Each write (and each probe of the index while paused) waits out the busy timeout, then the loop
    # turns on: a gap is at most half the interval (1 s) plus that wait (5 s), never unbounded.
    gaps = [b - a for a, b in itertools.pairwise(locked)]
    assert len(locked) >= 3 and max(gaps) < 7, gaps
    resumed = pings(4)
    assert len(resumed) >= 3 and max(b - a for a, b in itertools.pairwise(resumed)) < 2, resumed
    assert daemon.stop() == 0
    notifications.close()


def test_the_watchdog_pings_only_the_process_systemd_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "2000000")
    assert Watchdog.from_environment().interval == 1.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert Watchdog.from_environment().interval == 1.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getppid()))  # inherited from the process systemd started
    assert Watchdog.from_environment().interval is None
    monkeypatch.delenv("WATCHDOG_PID")
    for off in ("0", "", "soon"):
        monkeypatch.setenv("WATCHDOG_USEC", off)
        assert Watchdog.from_environment().interval is None

    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as receiver:
        receiver.bind(str(tmp_path / "notify"))
        receiver.settimeout(0.5)
        monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
        watchdog = Watchdog(0.3)
        watchdog.ping()
        watchdog.ping()  # too soon: not sent
        assert receiver.recv(100) == b"WATCHDOG=1"
        with pytest.raises(TimeoutError):
            receiver.recv(100)
        time.sleep(0.3)
        watchdog.ping()
        assert receiver.recv(100) == b"WATCHDOG=1"
