"""Every command on a PostgreSQL index, through the real CLI: `scan`, `search`, `show`, `export`,
`retry`, `status` and `serve` with its dashboard and metrics (`run` is `test_arrivals.py`'s, on both
databases)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.test_scan import ocrwatch
from tests.webserver import free_port


def get(url: str) -> dict:
    return json.loads(read(url))


def read(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def serving(port: int, deadline: float = 120.0) -> None:
    """Wait for `ocrwatch serve` to answer on `port`."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            get(f"http://127.0.0.1:{port}/api/health")
            return
        except OSError:
            time.sleep(0.25)
    raise AssertionError(f"ocrwatch serve did not answer on port {port}")


def test_every_command_works_on_postgresql(tmp_path: Path, data_dir: Path, postgres_url: str) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(data_dir / "sroie" / "img" / "000.jpg", inbox / "receipt.jpg")
    (inbox / "notes.jpg").write_bytes(b"not an image at all")
    db = ("--db", postgres_url)

    scanned = ocrwatch("scan", "inbox", "--output", "out", *db, cwd=tmp_path)
    assert scanned.returncode == 1, scanned.stderr  # one file failed
    assert "2 files: 1 done, 1 failed" in scanned.stderr
    assert "1 files: 1 skipped" in ocrwatch("scan", "inbox/receipt.jpg", *db, cwd=tmp_path).stderr

    found = ocrwatch("search", "taman", *db, cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    assert "receipt.jpg" in found.stdout and "page 1" in found.stdout
    assert ocrwatch("search", "zebra", *db, cwd=tmp_path).returncode == 1

    shown = ocrwatch("show", inbox / "receipt.jpg", *db, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "TAMAN" in shown.stdout.upper()
    exported = ocrwatch("export", inbox / "receipt.jpg", "--format", "txt", *db, cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout == (tmp_path / "out" / "receipt.jpg.txt").read_text()

    status = ocrwatch("status", *db, cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    counts = dict(line.split() for line in status.stdout.splitlines() if len(line.split()) == 2)
    assert (counts["done"], counts["failed"], counts["queued"]) == ("1", "1", "0")
    assert "notes.jpg: not an image" in status.stdout
    assert ocrwatch("retry", "--failed", *db, cwd=tmp_path).returncode == 0
    requeued = ocrwatch("status", *db, cwd=tmp_path).stdout
    assert dict(line.split() for line in requeued.splitlines() if len(line.split()) == 2)["queued"] == "1"

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "ocrwatch", "serve", *db, "--output", "out", "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        serving(port)
        hits = get(f"http://127.0.0.1:{port}/api/search?q=taman")
        stats = get(f"http://127.0.0.1:{port}/api/stats")
        board = get(f"http://127.0.0.1:{port}/api/dashboard")
        metrics = read(f"http://127.0.0.1:{port}/metrics")
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
    [hit] = hits["hits"]
    assert hit["path"] == str(inbox / "receipt.jpg") and hit["words"], hit
    assert any(segment["match"] and segment["text"].upper() == "TAMAN" for segment in hit["snippet"])
    assert (stats["counts"]["done"], stats["counts"]["queued"]) == (1, 1)
    assert "receipt.jpg" in json.dumps(board)
    assert 'ocrwatch_files{folder="",status="done"} 1.0' in metrics
    assert "index: postgresql+psycopg://ocrwatch@/" in errors.decode()
