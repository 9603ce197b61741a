"""Opening files as pages: every format ocrwatch reads, and every kind of bad input."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ocrwatch.config import DocumentSettings
from ocrwatch.documents import file_sha256, open_pages
from ocrwatch.errors import CorruptImage, DecompressionBomb, EmptyFile, NotAnImage, UnreadableFile
from tests.conftest import render_text

SETTINGS = DocumentSettings()


def pages(path: Path, settings: DocumentSettings = SETTINGS) -> list[np.ndarray]:
    return list(open_pages(path, settings))


@pytest.mark.parametrize(
    ("suffix", "fmt"), [("jpg", "JPEG"), ("png", "PNG"), ("bmp", "BMP"), ("webp", "WEBP")]
)
def test_single_page_formats_open_as_rgb(tmp_path: Path, suffix: str, fmt: str) -> None:
    path = tmp_path / f"page.{suffix}"
    render_text(["hello"]).convert("L").save(path, fmt)
    (page,) = pages(path)
    assert page.dtype == np.uint8
    assert page.shape == (140, 900, 3)


def test_every_tiff_page_is_read(tmp_path: Path) -> None:
    path = tmp_path / "scan.tiff"
    first, second = render_text(["one"]), render_text(["two", "lines"])
    first.save(path, save_all=True, append_images=[second], compression="tiff_lzw")
    assert [page.shape[0] for page in pages(path)] == [first.height, second.height]


def test_every_pdf_page_is_rasterised_at_the_configured_dpi(tmp_path: Path) -> None:
    path = tmp_path / "doc.pdf"
    a4 = Image.new("RGB", (595, 842), "white")  # 72 dpi: one pixel per PDF point
    a4.save(path, save_all=True, append_images=[a4.copy(), a4.copy()], resolution=72)
    result = pages(path, DocumentSettings(pdf_dpi=144))
    assert len(result) == 3
    assert result[0].shape == (842 * 2, 595 * 2, 3)


def test_exif_orientation_is_honoured(tmp_path: Path) -> None:
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: viewers turn it 90 degrees clockwise
    Image.new("RGB", (300, 100), "white").save(path, exif=exif)
    (page,) = pages(path)
    assert page.shape == (300, 100, 3)


def test_a_file_is_identified_by_content_not_name(tmp_path: Path) -> None:
    path = tmp_path / "actually-a-png.jpg"
    render_text(["x"]).save(path, "PNG")
    assert len(pages(path)) == 1


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jpg"
    path.touch()
    with pytest.raises(EmptyFile, match="0 bytes"):
        pages(path)


def test_truncated_jpeg(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    render_text(["cut short"]).save(buffer, "JPEG")
    path = tmp_path / "truncated.jpg"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(CorruptImage, match="truncated"):
        pages(path)


def test_text_file_named_like_an_image(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("this is not a picture\n")
    with pytest.raises(NotAnImage, match="not an image or PDF"):
        pages(path)


def test_png_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    Image.new("1", (20_000, 20_000)).save(path, optimize=True)  # 400 megapixels in a few kB
    assert path.stat().st_size < 200_000
    with pytest.raises(DecompressionBomb, match=r"400,000,000 pixels.*documents\.max_pixels"):
        pages(path)


def test_pdf_page_over_the_pixel_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "poster.pdf"
    Image.new("RGB", (595, 842), "white").save(path, resolution=72)
    with pytest.raises(DecompressionBomb):
        pages(path, DocumentSettings(pdf_dpi=1200, max_pixels=10_000_000))


def test_corrupt_pdf(tmp_path: Path) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage without xref\n")
    with pytest.raises(CorruptImage, match="PDF"):
        pages(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile, match="disappeared"):
        pages(tmp_path / "gone.jpg")


def test_sha256_is_of_the_content(tmp_path: Path) -> None:
    one, two = tmp_path / "one.bin", tmp_path / "two.bin"
    one.write_bytes(b"abc")
    two.write_bytes(b"abc")
    expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert file_sha256(one) == file_sha256(two) == expected
