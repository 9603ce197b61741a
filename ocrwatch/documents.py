"""Open an input file as page images: the formats ocrwatch reads, and the checks before decoding.

Every failure is an `InputError` that says what is wrong with the file, so that the pipeline can
record it and go on. Pages are yielded one at a time: a 200-page PDF never sits in memory at once.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pypdfium2
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from ocrwatch.config import DocumentSettings
from ocrwatch.errors import CorruptImage, DecompressionBomb, EmptyFile, NotAnImage, UnreadableFile

IMAGE_FORMATS = ("JPEG", "PNG", "TIFF", "BMP", "WEBP")
"""Pillow decoders ocrwatch allows; others (EPS through Ghostscript, say) are never tried."""

SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp", ".pdf"})
"""File name endings picked up when a folder is scanned; content decides the format."""

PDF_MAGIC = b"%PDF-"

# ocrwatch checks each page against `DocumentSettings.max_pixels` itself, before decoding, with a
# message that names the setting; Pillow's own global limit would otherwise refuse first.
Image.MAX_IMAGE_PIXELS = None


def file_sha256(path: Path) -> str:
    """The content hash that identifies a document whatever its name."""
    with open_input(path) as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def open_pages(path: Path, settings: DocumentSettings) -> Iterator[np.ndarray]:
    """Yield each page of `path` as an RGB uint8 array, EXIF orientation applied."""
    if is_pdf(path):
        yield from (page.render() for page in open_pdf(path, settings))
    else:
        yield from _image_pages(path, settings)


def is_pdf(path: Path) -> bool:
    """Whether `path` holds a PDF, by its content; an empty file is refused here, as unreadable."""
    with open_input(path) as stream:
        head = stream.read(len(PDF_MAGIC))
    if not head:
        raise EmptyFile("empty file (0 bytes)")
    return head == PDF_MAGIC


def open_input(path: Path) -> BinaryIO:
    """Open an input for reading, turning the operating system's refusals into typed `InputError`s."""
    try:
        return path.open("rb")
    except PermissionError:
        raise UnreadableFile("cannot read the file: permission denied") from None
    except FileNotFoundError:
        raise UnreadableFile("the file disappeared before it could be read") from None
    except IsADirectoryError:
        raise NotAnImage("a folder, not a file") from None
    except OSError as error:
        raise UnreadableFile(f"cannot read the file: {error.strerror}") from None


def _image_pages(path: Path, settings: DocumentSettings) -> Iterator[np.ndarray]:
    try:
        image = Image.open(path, formats=IMAGE_FORMATS)
    except UnidentifiedImageError:
        raise NotAnImage(
            "not an image or PDF: the content matches none of JPEG, PNG, TIFF, BMP, WebP, PDF"
        ) from None
    except OSError as error:
        raise CorruptImage(f"damaged image header: {error}") from None
    with image:
        for number, frame in enumerate(ImageSequence.Iterator(image), start=1):
            _check_pixels(frame.width, frame.height, number, settings)
            try:
                upright = ImageOps.exif_transpose(frame).convert("RGB")
            except (OSError, SyntaxError, ValueError) as error:
                raise CorruptImage(f"truncated or damaged image (page {number}): {error}") from None
            yield np.asarray(upright)


@dataclass(frozen=True, slots=True)
class PdfPage:
    """A PDF page, not rendered yet: when its own text layer is read, its pixels may not be needed."""

    page: pypdfium2.PdfPage
    number: int
    """From 1."""
    scale: float
    """Pixels per point: `documents.pdf_dpi` / 72."""

    @property
    def size(self) -> tuple[int, int]:
        """The (width, height) in pixels of the page as `render` draws it, upright as displayed."""
        width, height = self.page.get_size()
        return math.ceil(width * self.scale), math.ceil(height * self.scale)

    def render(self) -> np.ndarray:
        """The page as an RGB uint8 array at `documents.pdf_dpi`, the page's /Rotate applied."""
        try:
            bitmap = self.page.render(scale=self.scale)
        except pypdfium2.PdfiumError as error:
            raise CorruptImage(f"cannot render PDF page {self.number}: {error}") from None
        return np.asarray(bitmap.to_pil().convert("RGB"))


def open_pdf(path: Path, settings: DocumentSettings) -> Iterator[PdfPage]:
    """Yield each page of the PDF `path`, checked against `documents.max_pixels`; open while iterated."""
    scale = settings.pdf_dpi / 72
    try:
        pdf = pypdfium2.PdfDocument(path)
    except pypdfium2.PdfiumError as error:
        raise CorruptImage(f"damaged or encrypted PDF: {error}") from None
    try:
        if len(pdf) == 0:
            raise CorruptImage("the PDF has no pages")
        for index in range(len(pdf)):
            page = PdfPage(pdf[index], index + 1, scale)
            width, height = page.page.get_size()
            _check_pixels(round(width * scale), round(height * scale), index + 1, settings)
            yield page
    finally:
        pdf.close()


def _check_pixels(width: int, height: int, page: int, settings: DocumentSettings) -> None:
    pixels = width * height
    if pixels > settings.max_pixels:
        raise DecompressionBomb(
            f"page {page} is {width}x{height} = {pixels:,} pixels, over the limit of "
            f"{settings.max_pixels:,} (documents.max_pixels); refused as a possible decompression bomb"
        )
