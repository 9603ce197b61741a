"""Every arrival is its own record, through the real `ocrwatch run`: a name reused by a scanner never
loses the document read earlier under it, and no two files ever share outputs. On SQLite and on
PostgreSQL: `run`, `search`, `show` and `export` on both."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from ocrwatch.config import load_settings
from ocrwatch.index import Index
from ocrwatch.web.images import original
from tests.daemon_helpers import RunningDaemon, wait_for


def receipts(data_dir: Path) -> tuple[Path, Path]:
    """Two real receipts with words the other lacks: 'TAMAN' (000) and 'KEMBANGAN' (002) are on one each."""
    return data_dir / "sroie" / "img" / "000.jpg", data_dir / "sroie" / "img" / "002.jpg"


def ocrwatch(daemon: RunningDaemon, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ocrwatch", *arguments, "--config", str(daemon.config_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=daemon.folder,
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> str | None:
    """The daemon's index: the SQLite file in its output folder, or a database on the test server."""
    return None if request.param == "sqlite" else request.getfixturevalue("postgres_url")


def finished_arrivals(daemon: RunningDaemon, path: Path, count: int) -> bool:
    rows = [row for row in daemon.rows() if row["path"] == str(path)]
    return len(rows) == count and all(row["status"] in ("done", "failed") for row in rows)


# On PostgreSQL once, with the after-action that exercises the most (moved originals, show, export).
@pytest.mark.parametrize(
    ("on_success", "database"),
    [("keep", "sqlite"), ("move", "sqlite"), ("delete", "sqlite"), ("move", "postgresql")],
    indirect=["database"],
)
def test_a_reused_name_keeps_both_documents(
    tmp_path: Path, data_dir: Path, daemons: list[RunningDaemon], on_success: str, database: str | None
) -> None:
    first, second = receipts(data_dir)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    folder = {"folder": "inbox", "on_success": on_success}
    if on_success == "move":
        folder["done"] = "done"
    daemon = RunningDaemon(tmp_path, {"watch": [folder]}, database=database)
    daemons.append(daemon.start())
    scan = inbox / "scan0001.jpg"

    shutil.copy(first, scan)
    wait_for(lambda: finished_arrivals(daemon, scan, 1), "the first receipt to be read")
    if on_success != "keep":
        wait_for(lambda: not scan.exists(), "the first original to be moved or deleted")
    shutil.copy(second, scan)  # with keep, the scanner overwrites the file in place
    wait_for(lambda: finished_arrivals(daemon, scan, 2), "the second receipt under the same name")

    rows = [row for row in daemon.rows() if row["path"] == str(scan)]
    assert [row["status"] for row in rows] == ["done", "done"]
    assert rows[0]["document_id"] != rows[1]["document_id"]
    assert [row["output_stem"] for row in rows] == ["scan0001.jpg", "scan0001.jpg~2"]
    out = tmp_path / "out"
    assert "TAMAN" in (out / "scan0001.jpg.txt").read_text().upper()
    assert "KEMBANGAN" in (out / "scan0001.jpg~2.txt").read_text().upper()
    assert "KEMBANGAN" not in (out / "scan0001.jpg.txt").read_text().upper()
    assert (out / "scan0001.jpg.page-1.jpg").exists() and (out / "scan0001.jpg~2.page-1.jpg").exists()

    for word, row in (("taman", rows[0]), ("kembangan", rows[1])):
        found = ocrwatch(daemon, "search", word)
        assert found.returncode == 0, found.stderr
        assert f"id {row['document_id']}" in found.stdout
        shown = ocrwatch(daemon, "show", str(row["document_id"]))
        assert shown.returncode == 0 and word.upper() in shown.stdout.upper()
    if on_success == "move":
        assert [row["moved_to"] for row in rows] == [
            str(tmp_path / "done" / "scan0001.jpg"),
            str(tmp_path / "done" / "scan0001 (2).jpg"),
        ]
        shown = ocrwatch(daemon, "show", str(rows[0]["document_id"]))
        compact = "".join(shown.stdout.split())  # the table may wrap a long path
        assert f"{scan}→{tmp_path / 'done' / 'scan0001.jpg'}".replace(" ", "") in compact
        pdf = tmp_path / "first.pdf"
        exported = ocrwatch(
            daemon, "export", str(rows[0]["document_id"]), "--format", "pdf", "--out", str(pdf)
        )
        assert exported.returncode == 0, exported.stderr
        assert pdf.read_bytes().startswith(b"%PDF")
        with Index(daemon.url) as index:  # the web page's image of the first page
            stored = index.document(rows[0]["document_id"])
            assert stored is not None
            jpeg = original(load_settings(daemon.config_path), stored, 1)
        assert Image.open(io.BytesIO(jpeg)).size == Image.open(first).size
    assert daemon.stop() == 0


def test_two_folders_sharing_an_output_never_share_an_output_name(
    tmp_path: Path, data_dir: Path, daemons: list[RunningDaemon], database: str | None
) -> None:
    first, second = receipts(data_dir)
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    daemon = RunningDaemon(
        tmp_path, {"watch": [{"folder": "a"}, {"folder": "b"}], "settle_seconds": 2}, database=database
    )
    daemons.append(daemon.start())
    shutil.copy(first, tmp_path / "a" / "scan.jpg")  # the same name in both folders, at once
    shutil.copy(second, tmp_path / "b" / "scan.jpg")
    for name in ("a", "b"):
        wait_for(
            lambda name=name: finished_arrivals(daemon, tmp_path / name / "scan.jpg", 1), f"{name}/scan.jpg"
        )
    rows = {Path(row["path"]).parent.name: row for row in daemon.rows()}
    assert {row["status"] for row in rows.values()} == {"done"}
    assert sorted(row["output_stem"] for row in rows.values()) == ["scan.jpg", "scan.jpg~2"]
    texts = {
        name: (tmp_path / "out" / f"{row['output_stem']}.txt").read_text().upper()
        for name, row in rows.items()
    }
    assert "TAMAN" in texts["a"] and "KEMBANGAN" not in texts["a"]
    assert "KEMBANGAN" in texts["b"] and "TAMAN" not in texts["b"]
    assert daemon.alive() and "Traceback" not in daemon.log()
    assert daemon.stop() == 0
