"""Page images, found by document id and page number only; never by a path a client names.

- The annotated copy lives in the output folder; `OutputPaths` refuses a path that resolves (through
  symlinks) outside it.
- The original is the file the index recorded, served only when its content still hashes to the
  document's sha256: a file changed or swapped for a link to something else since it was read is
  never sent. It is read once into a private temporary file, hashed as it is copied, and rendered
  from that copy, so it cannot change between the check and the rendering.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tempfile
from pathlib import Path

from PIL import Image

from ocrwatch.config import Settings
from ocrwatch.documents import open_pages
from ocrwatch.errors import OcrwatchError
from ocrwatch.index import StoredDocument
from ocrwatch.outputs import OutputPaths
from ocrwatch.web.problems import Refused

THUMBNAIL_WIDTH = 240
JPEG_QUALITY = 88


def check_page(document: StoredDocument, page: int) -> None:
    if not 1 <= page <= len(document.content.pages):
        raise Refused(404, f"document {document.id} has {len(document.content.pages)} page(s), not {page}")


def annotated_path(settings: Settings, document: StoredDocument, page: int) -> Path:
    check_page(document, page)
    if document.output_stem is None:
        raise Refused(404, f"document {document.id} has no outputs")
    try:
        path = OutputPaths(settings.output, document.output_stem).annotated(page)
    except OcrwatchError as error:
        raise Refused(404, f"the annotated copy is not available: {error}") from None
    if not path.is_file():
        raise Refused(404, f"the annotated copy of page {page} is missing from the output folder")
    return path


def thumbnail(settings: Settings, document: StoredDocument, page: int) -> bytes:
    """A small JPEG of the annotated copy, decoded at reduced size where JPEG allows."""
    with Image.open(annotated_path(settings, document, page), formats=["JPEG"]) as image:
        image.draft("RGB", (THUMBNAIL_WIDTH, THUMBNAIL_WIDTH * image.height // max(image.width, 1)))
        image = image.convert("RGB")
        image.thumbnail((THUMBNAIL_WIDTH, THUMBNAIL_WIDTH * 8))
        return _jpeg(image)


def original(settings: Settings, document: StoredDocument, page: int) -> bytes:
    """Page `page` of the document's original file as JPEG, as the engine saw it (EXIF turns applied)."""
    check_page(document, page)
    with tempfile.TemporaryDirectory(prefix="ocrwatch-page-") as folder:
        copy = Path(folder) / "original"
        originals = (Path(path) for path in document.originals)
        if not any(_copy_if_unchanged(path, copy, document.content.sha256) for path in originals):
            raise Refused(404, "the original file has been changed, moved or deleted since it was read")
        try:
            pages = open_pages(copy, settings.documents)
            try:
                for number, image in enumerate(pages, start=1):
                    if number == page:
                        return _jpeg(Image.fromarray(image))
            finally:
                pages.close()
        except OcrwatchError as error:
            raise Refused(404, f"the original file cannot be opened any more: {error}") from None
    raise Refused(404, f"the original file has no page {page} any more")


def _copy_if_unchanged(source: Path, target: Path, sha256: str) -> bool:
    """Copy `source` to `target` if it is a regular file whose content hashes to `sha256`."""
    try:
        # O_NONBLOCK: a path swapped for a FIFO must not hang the request; only regular files are read.
        descriptor = os.open(source, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return False
    with os.fdopen(descriptor, "rb") as stream:
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            return False
        digest = hashlib.sha256()
        with target.open("wb") as copy:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
                copy.write(chunk)
    return digest.hexdigest() == sha256


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()
