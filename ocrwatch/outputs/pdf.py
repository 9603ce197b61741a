"""The searchable PDF: each page as it was scanned, with the words read laid invisibly over it.

The pipeline keeps no decoded pages (a long PDF would not fit in memory), so this writer reads the
original file again, and refuses it unless it still hashes to the document's sha256: otherwise one
file's text would be laid over another's pages. Pages are never made worse than the source:

- a JPEG goes in byte for byte (fpdf2 passes it through as DCTDecode); an EXIF turn becomes the
  page's /Rotate rather than a re-encoding;
- other images go in losslessly: bilevel scans as CCITT G4, the rest Flate-compressed;
- a PDF keeps its own pages and their vector content; the text layer is laid over them (pikepdf).

Each word is written in render mode 3 (invisible) from its box's bottom-left to its bottom-right
corner, stretched to the box's width and as tall as the box, so that selecting text in a viewer
selects the words where they are seen, whatever their direction. A space between the words of a line
makes extractors (pdftotext, copy and paste) see the words apart, however close their boxes.
"""

from __future__ import annotations

import hashlib
import io
import math
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pikepdf
from fpdf import FPDF
from fpdf.drawing_primitives import Transform
from fpdf.enums import TextMode
from PIL import Image, ImageOps, ImageSequence

from ocrwatch import __version__
from ocrwatch.documents import IMAGE_FORMATS, PDF_MAGIC, open_input
from ocrwatch.engines.base import PageText
from ocrwatch.errors import InputError, OriginalChanged
from ocrwatch.outputs.glyphless import DESCENT, write_glyphless_font
from ocrwatch.outputs.lines import text_lines
from ocrwatch.result import DocumentText

DEFAULT_DPI = 300.0
"""The resolution of an image that records none: a scanner's usual. A phone photo normally records
72 dpi (EXIF); one that records nothing comes out as a small page, which viewers zoom."""
FONT = "GlyphLessFont"
EXIF_ORIENTATION = 0x0112
EXIF_TURNS = {1: 0, 3: 180, 6: 90, 8: 270}
"""EXIF orientations that are plain turns (every camera's): shown by /Rotate, the JPEG left as it is.
The mirrored ones (2, 4, 5, 7) are rare; those pages are stored turned, losslessly."""
MIN_SPACE = 0.05
"""Of the font size: the width of a space between two words whose boxes touch or overlap."""
TEXT_LAYER = "text-layer"
"""`PageText.source` of a page read from its PDF's own text: that page needs no layer of ours."""
SHOW_TEXT = frozenset({"Tj", "TJ", "'", '"'})
INVISIBLE = 3
"""Text render mode 3: neither fill nor stroke."""

Point = tuple[float, float]


def read_original(path: Path, sha256: str) -> bytes:
    """The bytes of `path`, refused unless they are the content that was read.

    Read once and used from memory, so the file cannot change between the check and the use.
    """
    try:
        with open_input(path) as stream:
            data = stream.read()
    except InputError as error:
        raise OriginalChanged(f"the original {path} cannot be read: {error}") from None
    except OSError as error:
        raise OriginalChanged(f"the original {path} cannot be read: {error.strerror}") from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise OriginalChanged(f"the original {path} has changed since it was read (its sha256 differs)")
    return data


def render_pdf(doc: DocumentText, original: bytes) -> bytes:
    """The searchable PDF of `doc`, whose original file's bytes are `original` (see `read_original`)."""
    with tempfile.TemporaryDirectory(prefix="ocrwatch-pdf-") as folder:
        layer = _text_document(doc, Path(folder) / "glyphless.ttf")
        if original.startswith(PDF_MAGIC):
            return _over_pdf(doc, original, layer)
        return _over_images(doc, original, layer)


@dataclass(frozen=True, slots=True)
class Frame:
    """Where a page's pixels land on its PDF page.

    The engine measured the page as displayed; the PDF page is stored `turn` degrees anticlockwise of
    that (its /Rotate turns it back), `width` x `height` points as stored.
    """

    width: float
    height: float
    turn: int
    scale_x: float
    """Points per pixel along the engine's x axis."""
    scale_y: float

    @classmethod
    def fit(cls, width: float, height: float, turn: int, page: PageText) -> Frame:
        """The frame of a page stored `width` x `height` points, that `page` measured in pixels."""
        shown_width, shown_height = (height, width) if turn in (90, 270) else (width, height)
        return cls(width, height, turn, shown_width / page.width, shown_height / page.height)

    def point(self, x: float, y: float) -> Point:
        """Pixel (x, y) as displayed, in points on the stored page (origin top-left, y down, as fpdf2)."""
        a, b = x * self.scale_x, y * self.scale_y
        if self.turn == 90:
            return b, self.height - a
        if self.turn == 180:
            return self.width - a, self.height - b
        if self.turn == 270:
            return self.width - b, a
        return a, b


def _text_document(doc: DocumentText, font: Path) -> FPDF:
    """An empty fpdf2 document in points, with an invisible font that has every character of `doc`."""
    words = [word for page in doc.pages for line in text_lines(page) for word in line.words]
    write_glyphless_font({character for word in words for character in word.text}, font)
    pdf = FPDF(unit="pt")
    pdf.set_auto_page_break(False)
    pdf.set_margin(0)
    pdf.set_creator(f"ocrwatch {__version__} ({doc.engine} {doc.engine_version})")
    pdf.set_title(doc.source.name)
    pdf.add_font(FONT, fname=font)
    return pdf


def _over_images(doc: DocumentText, original: bytes, pdf: FPDF) -> bytes:
    turns = []
    for page, (picture, turn, (width, height)) in zip(doc.pages, _pictures(original), strict=True):
        pdf.add_page(format=(width, height))
        pdf.image(picture, x=0, y=0, w=width, h=height)
        _write_words(pdf, page, Frame.fit(width, height, turn, page))
        turns.append((turn + page.rotation) % 360)
    if not any(turns):
        return bytes(pdf.output())
    with pikepdf.open(io.BytesIO(pdf.output())) as result:
        for target, turn in zip(result.pages, turns, strict=True):
            target.Rotate = turn
        return _saved(result)


def _pictures(original: bytes) -> Iterator[tuple[io.BytesIO | Image.Image, int, tuple[float, float]]]:
    """Each page's picture for fpdf2, the turn that displays it upright, and its size in points."""
    with Image.open(io.BytesIO(original), formats=IMAGE_FORMATS) as image:
        for frame in ImageSequence.Iterator(image):
            orientation = frame.getexif().get(EXIF_ORIENTATION, 1)
            picture: io.BytesIO | Image.Image
            if image.format == "JPEG" and orientation in EXIF_TURNS:
                picture, turn, pixels = io.BytesIO(original), EXIF_TURNS[orientation], frame.size
            else:
                picture, turn = ImageOps.exif_transpose(frame), 0
                pixels = picture.size
            dpi_x, dpi_y = _dpi(frame)
            yield picture, turn, (pixels[0] * 72 / dpi_x, pixels[1] * 72 / dpi_y)


def _dpi(image: Image.Image) -> tuple[float, float]:
    """The resolution the image records, if it is a plausible one; else `DEFAULT_DPI`."""
    recorded = image.info.get("dpi")
    try:
        x, y = (float(value) for value in recorded)
    except (TypeError, ValueError):
        return DEFAULT_DPI, DEFAULT_DPI
    plausible = 10 <= x <= 10_000 and 10 <= y <= 10_000  # JFIF files often say 1 x 1: an aspect ratio
    return (x, y) if plausible else (DEFAULT_DPI, DEFAULT_DPI)


def _over_pdf(doc: DocumentText, original: bytes, layer: FPDF) -> bytes:
    """The original PDF with each OCR'd page's words laid over it as a form XObject.

    A page read from its own text layer keeps that text and gets no second one; an OCR'd page loses
    the invisible text an earlier OCR left on it, so that every word is in the result once.
    """
    with pikepdf.open(io.BytesIO(original)) as result:
        turns = [int(target.obj.get(pikepdf.Name.Rotate, 0)) % 360 for target in result.pages]
        for target, page, turn in zip(result.pages, doc.pages, turns, strict=True):
            box = pikepdf.Rectangle(target.cropbox)  # what pdfium rendered for the engine
            layer.add_page(format=(box.width, box.height))
            if page.source != TEXT_LAYER:
                _write_words(layer, page, Frame.fit(box.width, box.height, turn, page))
        with pikepdf.open(io.BytesIO(layer.output())) as text:
            for target, text_page, page, turn in zip(result.pages, text.pages, doc.pages, turns, strict=True):
                if page.source == TEXT_LAYER:
                    continue
                remove_invisible_text(result, target)
                # pikepdf places an overlay upright on the page as displayed; the layer is drawn on the
                # page as stored, so the page is unturned while the overlay goes on.
                if pikepdf.Name.Rotate in target.obj:
                    del target.obj.Rotate
                target.add_overlay(text_page, pikepdf.Rectangle(target.cropbox))
                target.Rotate = (turn + page.rotation) % 360
            return _saved(result)


def remove_invisible_text(pdf: pikepdf.Pdf, page: pikepdf.Page) -> None:
    """Drop the text that `page`'s content stream draws in render mode 3 (an earlier OCR's layer).

    The render mode is graphics state: set by `Tr`, saved by `q` and restored by `Q`. Text inside
    form XObjects is left alone (OCR layers are written into the page's own stream).
    """
    kept: list[Instruction] = []
    mode, saved = 0, []
    removed = False
    for operands, operator in pikepdf.parse_content_stream(page):
        name = str(operator)
        if name == "q":
            saved.append(mode)
        elif name == "Q" and saved:
            mode = saved.pop()
        elif name == "Tr" and operands:
            mode = int(operands[0])
        elif name in SHOW_TEXT and mode == INVISIBLE:
            removed = True
            kept.extend(_line_moves(operands, name))
            continue
        kept.append((operands, operator))
    if removed:
        page.obj.Contents = pikepdf.Stream(pdf, pikepdf.unparse_content_stream(kept))


Instruction = tuple[list[pikepdf.Object], pikepdf.Operator]


def _line_moves(operands: list[pikepdf.Object], name: str) -> list[Instruction]:
    """What a dropped `'` or `"` did besides showing text: move to the next line (and set spacing)."""
    if name == "'":
        return [([], pikepdf.Operator("T*"))]
    if name == '"':
        return [
            ([operands[0]], pikepdf.Operator("Tw")),
            ([operands[1]], pikepdf.Operator("Tc")),
            ([], pikepdf.Operator("T*")),
        ]
    return []


def _saved(pdf: pikepdf.Pdf) -> bytes:
    buffer = io.BytesIO()
    pdf.save(buffer)
    return buffer.getvalue()


def _write_words(pdf: FPDF, page: PageText, frame: Frame) -> None:
    """Each word over its box, invisible; a space after each word that the next one continues."""
    pdf.text_mode = TextMode.INVISIBLE
    words = [word for line in text_lines(page) for word in line.words]
    spans = [_span([frame.point(x, y) for x, y in word.box]) for word in words]
    placed = [(word.text, span) for word, span in zip(words, spans, strict=True) if span is not None]
    for index, (text, (origin, along, up, length, size)) in enumerate(placed):
        _put(pdf, text, origin, along, up, size, length)
        if index + 1 < len(placed):
            end = (origin[0] + along[0] * length, origin[1] + along[1] * length)
            gap = _gap(end, along, size, placed[index + 1][1][0])
            if gap is not None:
                _put(pdf, " ", end, along, up, size, gap)


def _gap(end: Point, along: Point, size: float, start: Point) -> float | None:
    """The width of the space from a word's `end` to the next word's baseline `start`, when the next
    word continues the same baseline (the next word of its line, or a line beside it in its row)."""
    dx, dy = start[0] - end[0], start[1] - end[1]
    ahead = dx * along[0] + dy * along[1]
    aside = abs(dx * along[1] - dy * along[0])
    if ahead < -0.5 * size or aside > 0.5 * size:
        return None  # a new row, or a column elsewhere
    return max(ahead, MIN_SPACE * size)


Span = tuple[Point, Point, Point, float, float]


def _span(box: list[Point]) -> Span | None:
    """A word box's baseline origin, unit direction along and up, baseline length and font size.

    The box is one em tall (see `glyphless`), so the baseline sits one descent above its bottom edge.
    """
    top_left, top_right, bottom_right, bottom_left = box
    length = math.dist(bottom_left, bottom_right)
    up = (
        (top_left[0] - bottom_left[0] + top_right[0] - bottom_right[0]) / 2,
        (top_left[1] - bottom_left[1] + top_right[1] - bottom_right[1]) / 2,
    )
    size = math.hypot(*up)
    if length < 0.01 or size < 0.01:
        return None
    along = ((bottom_right[0] - bottom_left[0]) / length, (bottom_right[1] - bottom_left[1]) / length)
    up = (up[0] / size, up[1] / size)
    origin = (bottom_left[0] + up[0] * DESCENT * size, bottom_left[1] + up[1] * DESCENT * size)
    return origin, along, up, length, size


def _put(pdf: FPDF, text: str, origin: Point, along: Point, up: Point, size: float, width: float) -> None:
    """`text` at `size` points with its baseline from `origin` along `along`, stretched to `width`."""
    pdf.set_font(FONT, size=size)
    stretch = width / pdf.get_string_width(text)
    # Text space (x along the baseline, y down) onto the page: x follows `along`, stretched; y follows
    # `up`, reversed, because fpdf2's y grows downwards.
    matrix = Transform(stretch * along[0], stretch * along[1], -up[0], -up[1], origin[0], origin[1])
    with pdf.transform(matrix):
        pdf.text(0, 0, text)
