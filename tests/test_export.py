"""Choosing outputs per profile, and `ocrwatch export` through the real CLI: scan, then rebuild each
output from the index and compare it with what the scan wrote."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ocrwatch.config import OutputFormat, load_settings
from ocrwatch.errors import ConfigError
from tests.conftest import render_text
from tests.pdftext import needs_pdftotext, pdftotext
from tests.test_scan import ocrwatch

CONFIG = """\
output: out
database: out/index.db
outputs: [text, json, pdf, hocr, alto]
"""


def export(tmp_path: Path, target: str | Path, fmt: str, *extra: str):
    return ocrwatch("export", target, "--format", fmt, "--config", "config.yaml", *extra, cwd=tmp_path)


@pytest.fixture
def scanned(tmp_path: Path) -> Path:
    """A folder scanned with every one-file output chosen: a PNG page and a two-page PDF."""
    (tmp_path / "config.yaml").write_text(CONFIG)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    render_text(["Receipt 2026", "Total 42.00"]).save(inbox / "page.png")
    first, second = render_text(["Dear customer"]), render_text(["Kind regards"])
    first.save(inbox / "letter.pdf", save_all=True, append_images=[second], resolution=100)
    # An absolute path, as the index records it: the outputs name their source as it was given.
    result = ocrwatch("scan", inbox, "--config", "config.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return tmp_path


@needs_pdftotext
def test_export_rebuilds_what_scan_wrote(scanned: Path):
    out = scanned / "out"
    assert sorted(path.name for path in out.glob("page.png*")) == [
        "page.png.alto.xml",
        "page.png.hocr",
        "page.png.json",
        "page.png.pdf",
        "page.png.txt",
    ]  # no annotated copies: not chosen
    for name in ("page.png", "letter.pdf"):
        for fmt, suffix in (("txt", ".txt"), ("json", ".json"), ("hocr", ".hocr"), ("alto", ".alto.xml")):
            result = export(scanned, f"inbox/{name}", fmt)
            assert result.returncode == 0, result.stderr
            assert result.stdout == (out / f"{name}{suffix}").read_text(encoding="utf-8"), (name, fmt)
        rebuilt = scanned / f"{name}.rebuilt.pdf"
        result = export(scanned, f"inbox/{name}", "pdf", "--out", str(rebuilt))
        assert result.returncode == 0, result.stderr
        assert pdftotext(rebuilt, "-layout") == pdftotext(out / f"{name}.pdf", "-layout")
    assert pdftotext(out / "letter.pdf.pdf", "-layout").split() == ["Dear", "customer", "Kind", "regards"]


def test_export_by_id_to_stdout_and_its_refusals(scanned: Path):
    shown = ocrwatch("show", "inbox/page.png", "--config", "config.yaml", cwd=scanned)
    document_id = next(line.split()[1] for line in shown.stdout.splitlines() if line.startswith("id"))
    by_id = export(scanned, document_id, "txt")
    assert by_id.returncode == 0 and by_id.stdout == "Receipt 2026\nTotal 42.00\n"

    needs_out = export(scanned, document_id, "pdf")
    assert needs_out.returncode == 2 and "--out" in needs_out.stderr

    unknown = export(scanned, "inbox/never.png", "txt")
    assert unknown.returncode == 1 and "not in the index" in unknown.stderr

    bad_format = export(scanned, document_id, "docx")
    assert bad_format.returncode == 2

    (scanned / "inbox" / "page.png").write_bytes(b"changed")
    gone = export(scanned, document_id, "pdf", "--out", "x.pdf")
    assert gone.returncode == 1
    assert "every copy is gone or changed" in gone.stderr and "Traceback" not in gone.stderr
    assert not (scanned / "x.pdf").exists()
    assert export(scanned, document_id, "alto").returncode == 0  # the index alone is enough


def test_export_pdf_uses_a_copy_that_still_holds_the_content(scanned: Path):
    inbox = scanned / "inbox"
    shutil.copy(inbox / "page.png", inbox / "copy.png")
    assert ocrwatch("scan", "inbox", "--config", "config.yaml", cwd=scanned).returncode == 0  # a duplicate
    (inbox / "page.png").unlink()
    result = export(scanned, "inbox/copy.png", "pdf", "--out", "copy.pdf")
    assert result.returncode == 0, result.stderr
    assert (scanned / "copy.pdf").read_bytes().startswith(b"%PDF-")


# --- the config key ----------------------------------------------------------------------------


def test_outputs_default_to_text_json_and_annotated_and_a_profile_may_choose_its_own(tmp_path: Path):
    config = tmp_path / "config.yaml"
    config.write_text("outputs: [pdf, json]\nwatch:\n  - folder: a\n  - folder: b\n    outputs: [alto]\n")
    settings = load_settings(config)
    assert settings.outputs == (OutputFormat.PDF, OutputFormat.JSON)
    assert [p.settings.outputs for p in settings.profiles()] == [settings.outputs, (OutputFormat.ALTO,)]
    assert load_settings().outputs == (OutputFormat.TEXT, OutputFormat.JSON, OutputFormat.ANNOTATED)


@pytest.mark.parametrize(
    ("yaml", "key"),
    [
        ("outputs: [text, docx]\n", "outputs.1"),
        ("watch:\n  - {folder: a, outputs: [x]}\n", "watch.0.outputs.0"),
    ],
)
def test_an_unknown_output_is_named_with_its_key(tmp_path: Path, yaml: str, key: str):
    config = tmp_path / "config.yaml"
    config.write_text(yaml)
    with pytest.raises(ConfigError, match=rf"{key}: Input should be 'text', 'json'"):
        load_settings(config)
