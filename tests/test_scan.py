"""`ocrwatch scan`, `search` and `show` end to end: the real CLI, engine, files and SQLite index."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from PIL import Image

from ocrwatch.index.dialects.sqlite_driver import sqlite3
from tests.conftest import render_text

DROP_ROOT_READ = [
    "setpriv",
    "--inh-caps=-dac_override,-dac_read_search",
    "--bounding-set=-dac_override,-dac_read_search",
]
"""As root, a file without read permission is still readable; this takes that power away."""


def ocrwatch(*args: str | Path, cwd: Path, unprivileged: bool = False) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "ocrwatch", *map(str, args)]
    if unprivileged and os.geteuid() == 0:
        assert shutil.which("setpriv"), "setpriv (util-linux) is needed to test unreadable files as root"
        command = DROP_ROOT_READ + command
    env = {**os.environ, "XDG_DATA_HOME": str(cwd / "xdg-data")}  # never the user's own default index
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def scan(
    tmp_path: Path, *inputs: str | Path, extra: tuple[str, ...] = (), **kwargs
) -> subprocess.CompletedProcess[str]:
    return ocrwatch(
        "scan", *inputs, "--output", "out", "--db", "out/index.db", *extra, cwd=tmp_path, **kwargs
    )


def search(tmp_path: Path, query: str) -> subprocess.CompletedProcess[str]:
    return ocrwatch("search", query, "--db", "out/index.db", cwd=tmp_path)


def test_a_rendered_page_goes_from_file_to_search_hit(tmp_path: Path) -> None:
    folder = tmp_path / "inbox" / "2026"
    folder.mkdir(parents=True)
    render_text(["INVOICE 4711", "Total amount 129.50", "Thank you"]).save(folder / "März scan 1.png")

    result = scan(tmp_path, "inbox")
    assert result.returncode == 0, result.stderr
    assert "1 files: 1 done" in result.stderr

    stem = tmp_path / "out" / "2026" / "März scan 1.png"
    assert Path(f"{stem}.txt").read_text().splitlines() == [
        "INVOICE 4711",
        "Total amount 129.50",
        "Thank you",
    ]
    document = json.loads(Path(f"{stem}.json").read_text())
    assert set(document) == {"source", "sha256", "engine", "engine_version", "pages", "text", "seconds"}
    assert document["engine"] == "auto"
    assert [word["text"] for word in document["pages"][0]["words"]][:2] == ["INVOICE", "4711"]
    with Image.open(f"{stem}.page-1.jpg") as annotated:
        assert annotated.format == "JPEG"

    hit = search(tmp_path, '"total amount"')
    assert hit.returncode == 0, hit.stderr
    assert "März scan 1.png" in hit.stdout and "page 1" in hit.stdout
    assert search(tmp_path, "invo*").returncode == 0
    assert search(tmp_path, "absent").returncode == 1

    shown = ocrwatch("show", folder / "März scan 1.png", "--db", "out/index.db", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "Total amount 129.50" in shown.stdout and "auto" in shown.stdout


def test_receipts_are_found_by_their_company_names(tmp_path: Path, data_dir: Path) -> None:
    numbers = ["000", "001", "002", "003"]
    receipts = [data_dir / "sroie" / "img" / f"{number}.jpg" for number in numbers]
    result = scan(tmp_path, *receipts)
    assert result.returncode == 0, result.stderr
    for number in numbers:
        company = json.loads((data_dir / "sroie" / "key" / f"{number}.json").read_text())["company"]
        hit = search(tmp_path, f'"{company}"')
        assert hit.returncode == 0, f"{company!r} not found: {hit.stderr}"
        first = hit.stdout.splitlines()[0]
        assert f"{number}.jpg" in first, f"{company!r}: best hit is {first!r}"


def test_unchanged_files_are_skipped_and_known_content_is_not_read_again(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    render_text(["first page"]).save(inbox / "a.png")
    assert scan(tmp_path, "inbox").returncode == 0

    again = scan(tmp_path, "inbox")
    assert "1 files: 1 skipped" in again.stderr

    shutil.copy(inbox / "a.png", inbox / "copy of a.png")
    copied = scan(tmp_path, "inbox")
    assert "2 files: 1 skipped, 1 duplicate" in copied.stderr
    assert not (tmp_path / "out" / "copy of a.png.txt").exists()
    shown = ocrwatch("show", inbox / "copy of a.png", "--db", "out/index.db", cwd=tmp_path)
    assert "a.png" in shown.stdout and "first page" in shown.stdout

    forced = scan(tmp_path, "inbox/a.png", extra=("--force",))
    assert "1 files: 1 done" in forced.stderr
    # Read again into the same arrival and outputs: no second record, no `a.png~2.txt`.
    assert sorted(path.name for path in (tmp_path / "out").glob("a.png*.txt")) == ["a.png.txt"]
    with sqlite3.connect(tmp_path / "out" / "index.db") as connection:
        rows = connection.execute("SELECT status FROM files WHERE path LIKE '%/a.png'").fetchall()
    assert rows == [("done",)]


def test_same_name_in_two_formats_keeps_both_results(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    render_text(["the jpeg one"]).save(inbox / "a.jpg")
    render_text(["the png one"]).save(inbox / "a.png")
    assert scan(tmp_path, "inbox").returncode == 0
    assert (tmp_path / "out" / "a.jpg.txt").read_text() == "the jpeg one\n"
    assert (tmp_path / "out" / "a.png.txt").read_text() == "the png one\n"


def test_same_name_from_two_folders_never_collides(tmp_path: Path) -> None:
    for folder, words in (("one", "first folder"), ("two", "second folder")):
        (tmp_path / folder).mkdir()
        render_text([words]).save(tmp_path / folder / "scan.png")
    assert scan(tmp_path, "one/scan.png", "two/scan.png").returncode == 0
    texts = sorted(path.read_text() for path in (tmp_path / "out").glob("scan.png*.txt"))
    assert texts == ["first folder\n", "second folder\n"]


def test_every_bad_input_is_recorded_and_the_batch_goes_on(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    render_text(["Good news for everyone"]).save(inbox / "good.png")
    (inbox / "empty.jpg").touch()
    jpeg = io.BytesIO()
    render_text(["cut short"]).save(jpeg, "JPEG")
    (inbox / "truncated.jpg").write_bytes(jpeg.getvalue()[:1500])
    (inbox / "notes.jpg").write_text("not a picture")
    Image.new("1", (20_000, 20_000)).save(inbox / "bomb.png", optimize=True)
    (inbox / "broken.pdf").write_bytes(b"%PDF-1.7\ngarbage")
    render_text(["secret"]).save(inbox / "locked.png")
    (inbox / "locked.png").chmod(0)
    (tmp_path / "out").mkdir()

    result = scan(tmp_path, "inbox", unprivileged=True)
    assert result.returncode == 1
    assert "7 files: 1 done, 6 failed" in result.stderr
    expected = {
        "empty.jpg": "empty file (0 bytes)",
        "truncated.jpg": "truncated",
        "notes.jpg": "not an image or PDF",
        "bomb.png": "decompression bomb",
        "broken.pdf": "PDF",
        "locked.png": "permission denied",
    }
    for name, reason in expected.items():
        assert f"failed: inbox/{name}: " in result.stderr, result.stderr
        shown = ocrwatch("show", inbox / name, "--db", "out/index.db", cwd=tmp_path)
        assert shown.returncode == 1 and "failed: " in shown.stderr and reason in shown.stderr, shown.stderr
    assert "Traceback" not in result.stderr
    assert search(tmp_path, "everyone").returncode == 0


def test_outputs_never_leave_the_output_folder(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "deep" / "er").mkdir(parents=True)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    render_text(["outside"]).save(outside / "target.png")
    (inbox / "link.png").symlink_to(outside / "target.png")
    render_text(["dots"]).save(inbox / "deep" / "er" / "..png", "PNG")
    render_text(["dash"]).save(inbox / "deep" / "-rf .png", "PNG")
    before = {path for path in tmp_path.rglob("*")}

    assert scan(tmp_path, "inbox").returncode == 0
    created = {path for path in tmp_path.rglob("*")} - before
    assert created, "nothing was written"
    out = (tmp_path / "out").resolve()
    assert all(path.resolve().is_relative_to(out) for path in created), sorted(created)
    assert (out / "link.png.txt").read_text() == "outside\n"


def test_config_mistakes_are_named(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("engine: easyocr\n")
    render_text(["x"]).save(tmp_path / "x.png")
    result = ocrwatch("scan", "x.png", "--config", "bad.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown engine 'easyocr'; known engines: auto, keras-ocr, rapidocr, tesseract" in result.stderr

    (tmp_path / "typo.yaml").write_text("documents:\n  pdf_dpy: 300\n")
    result = ocrwatch("scan", "x.png", "--config", "typo.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert "documents.pdf_dpy: unknown key" in result.stderr


def test_a_query_fts_cannot_parse_gets_a_message_not_a_traceback(tmp_path: Path) -> None:
    render_text(["words"]).save(tmp_path / "x.png")
    assert scan(tmp_path, "x.png").returncode == 0
    result = search(tmp_path, '"unclosed')
    assert result.returncode == 2
    assert "quote" in result.stderr and "Traceback" not in result.stderr
