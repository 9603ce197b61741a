"""A PDF page's own text layer: its words and lines with boxes, and whether to trust it over OCR.

A born-digital page holds its text exactly; reading it takes milliseconds where OCR takes seconds
and makes mistakes. But a layer can lie: an earlier OCR left invisible text (often wrong), a font
maps its glyphs to no Unicode, or a scan carries only a stamped page number. `decide` looks at one
page's layer and says whether to use it or to OCR the page, and why, as OCRmyPDF's `--skip-text`,
`--force-ocr` and `--redo-ocr` do (README, PDFs with text).

Words are cut as pdftotext cuts them: at spaces (the PDF's or pdfium's generated ones), where the
next character goes back or moves to another row, and where the gap to it is wider than its height.
Boxes are each character's font box (ascent to descent, advance width), in the pixels of the page
rendered at `documents.pdf_dpi`, upright as displayed: the coordinates OCR would have measured.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import pypdfium2
import pypdfium2.raw as pdfium

from ocrwatch.config import PdfText
from ocrwatch.documents import PdfPage
from ocrwatch.engines.base import Line, PageText, Word
from ocrwatch.geometry import Quad, bounding_quad, lines_of_words

ENGINE = "text-layer"
UNMAPPED_SHARE = 0.3
"""Of a page's characters: more without Unicode (U+FFFD, private use, control) and the layer is replaced.
A font without a ToUnicode map yields such characters for nearly every glyph; real text has none."""
INVISIBLE_SHARE = 0.5
"""Of a page's characters: more in render mode 3 and the layer is taken for an earlier OCR's, replaced."""
NON_WORD_SHARE = 0.5
"""Of a page's words with letters or digits: more that are no words (`is_non_word`) and it is replaced."""
IMAGE_SHARE = 0.5
"""Of the page's area: an image this large makes the page a scan..."""
TINY_TEXT_SHARE = 0.005
"""...whose text layer is taken for a stamp (a page number, a date) when its words cover less than
this share of the page: the rest of the page's text is in the image, so the page is OCR'd."""
VOWELS = frozenset("aeiouyàáâãäåæèéêëìíîïòóôõöøùúûüÿœ")
CONSONANT_RUN = 6
"""Lowercase Latin consonants in a row that no word in the invoices' languages has ("ngstschw" aside)."""

Box = tuple[float, float, float, float]
"""left, top, right, bottom in points, y growing downwards, on the page as stored (before /Rotate)."""


@dataclass(frozen=True, slots=True)
class Layer:
    """What one page's text layer holds, and the counts `decide` judges it by."""

    words: list[Word]
    characters: int
    """Characters other than white space."""
    invisible: int
    """Of them, drawn in render mode 3 (invisible)."""
    unmapped: int
    """Of them, without Unicode: U+FFFD, private use or control characters."""
    text_share: float
    """The share of the page's area that the words' boxes cover."""
    image_share: float
    """The share of the page's area that its largest image covers."""

    @property
    def non_words(self) -> int:
        return sum(is_non_word(word.text) for word in self.words)

    @property
    def spelled(self) -> int:
        """Words with a letter or digit: punctuation alone is neither a word nor a non-word."""
        return sum(any(character.isalnum() for character in word.text) for word in self.words)


@dataclass(frozen=True, slots=True)
class Decision:
    use_layer: bool
    reason: str


def decide(layer: Layer, mode: PdfText) -> Decision:
    """Use the page's text layer or OCR the page, and why, in words (`PageText.reason`)."""
    count = len(layer.words)
    if count == 0:
        return Decision(False, "no text layer")
    if mode is PdfText.USE:
        shown = " (invisible, render mode 3)" if layer.invisible > INVISIBLE_SHARE * layer.characters else ""
        return Decision(True, f"its own text layer{shown}, as pdf_text: use asks ({count} words)")
    if layer.unmapped > UNMAPPED_SHARE * layer.characters:
        return Decision(False, "text layer has no Unicode: replaced")
    if layer.invisible > INVISIBLE_SHARE * layer.characters:
        return Decision(False, "text layer is invisible (render mode 3): replaced")
    if layer.non_words > NON_WORD_SHARE * layer.spelled:
        return Decision(False, "text layer is mostly non-words: replaced")
    if layer.image_share >= IMAGE_SHARE and layer.text_share < TINY_TEXT_SHARE:
        return Decision(
            False, f"text layer covers only {layer.text_share:.1%} of a page that is an image ({count} words)"
        )
    return Decision(True, f"its own text layer covers the page ({count} words)")


def is_non_word(text: str) -> bool:
    """Whether `text` is no word of any language: mostly symbols, or a run of consonants no word has.

    Punctuation alone (":", "-", "|") is counted as a word: pdftotext finds such words in real text.
    """
    letters = sum(character.isalnum() for character in text)
    if letters == 0:
        return False
    if letters < len(text) / 2:
        return True
    run = 0
    for character in text:
        run = run + 1 if "a" <= character <= "z" and character not in VOWELS else 0
        if run >= CONSONANT_RUN:
            return True
    return False


def page_text(page: PdfPage, layer: Layer, reason: str) -> PageText:
    """The page as read from its layer, words grouped into lines (`geometry.lines_of_words`)."""
    words: list[Word] = []
    lines: list[Line] = []
    for members in lines_of_words([word.box for word in layer.words]):
        first = len(words)
        words.extend(layer.words[index] for index in members)
        line_words = words[first:]
        lines.append(
            Line(
                text=" ".join(word.text for word in line_words),
                score=1.0,
                box=bounding_quad([word.box for word in line_words]),
                words=tuple(range(first, len(words))),
            )
        )
    width, height = page.size
    return PageText(width, height, words, lines, engine=ENGINE, source="text-layer", reason=reason)


def read_layer(page: PdfPage) -> Layer:
    """The words of `page`'s text layer with their boxes in rendered pixels, and their counts."""
    textpage = page.page.get_textpage()
    try:
        return _layer(page, textpage)
    finally:
        textpage.close()


def _layer(page: PdfPage, textpage: pypdfium2.PdfTextPage) -> Layer:
    to_pixels = _Pixels(page)
    words: list[Word] = []
    word: list[str] = []
    word_box: Box | None = None
    previous: Box | None = None
    characters = invisible = unmapped = 0
    rect = pdfium.FS_RECTF()
    for index in range(textpage.count_chars()):
        code = pdfium.FPDFText_GetUnicode(textpage, index)
        character = chr(code) if 0 < code < 0x110000 else ""
        if not character or character.isspace() or code == 0xFFFE:  # 0xFFFE: pdfium's line-end hyphen mark
            previous = None
            if word and word_box is not None:
                words.append(Word("".join(word), 1.0, to_pixels.quad(word_box)))
            word, word_box = [], None
            continue
        characters += 1
        unmapped += _unmapped(character)
        mode = pdfium.FPDFTextObj_GetTextRenderMode(pdfium.FPDFText_GetTextObject(textpage, index))
        invisible += mode == pdfium.FPDF_TEXTRENDERMODE_INVISIBLE
        pdfium.FPDFText_GetLooseCharBox(textpage, index, rect)
        box = (rect.left, -rect.top, rect.right, -rect.bottom)
        if word and previous is not None and _apart(previous, box) and word_box is not None:
            words.append(Word("".join(word), 1.0, to_pixels.quad(word_box)))
            word, word_box = [], None
        word.append(character)
        word_box = box if word_box is None else _union(word_box, box)
        previous = box
    if word and word_box is not None:
        words.append(Word("".join(word), 1.0, to_pixels.quad(word_box)))
    return Layer(
        words=words,
        characters=characters,
        invisible=invisible,
        unmapped=unmapped,
        text_share=to_pixels.share([word.box for word in words]),
        image_share=_image_share(page),
    )


def _apart(previous: Box, box: Box) -> bool:
    """Whether a character starts a new word although no space precedes it: pdftotext's cut."""
    size = max(previous[3] - previous[1], box[3] - box[1], 1.0)
    backwards = box[0] < previous[0] - 0.5 * size
    other_row = abs(box[1] - previous[1]) > 0.7 * size
    return backwards or other_row or box[0] - previous[2] > size


def _unmapped(character: str) -> bool:
    return character == "\ufffd" or unicodedata.category(character) in ("Co", "Cc", "Cs")


def _union(a: Box, b: Box) -> Box:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def _image_share(page: PdfPage) -> float:
    """The share of the page that its largest image covers (images inside forms too)."""
    left, bottom, right, top = page.page.get_cropbox()
    area = max((right - left) * (top - bottom), 1e-9)
    largest = 0.0
    for image in page.page.get_objects(filter=[pdfium.FPDF_PAGEOBJ_IMAGE]):
        a, b, c, d = image.get_bounds()
        covered = max(0.0, min(c, right) - max(a, left)) * max(0.0, min(d, top) - max(b, bottom))
        largest = max(largest, covered / area)
    return min(largest, 1.0)


class _Pixels:
    """From PDF user space (y negated, see `Box`) to the pixels of the page rendered upright."""

    def __init__(self, page: PdfPage) -> None:
        self.left, self.bottom, self.right, self.top = page.page.get_cropbox()
        self.rotation = page.page.get_rotation() % 360
        self.scale = page.scale
        self.width, self.height = page.size

    def point(self, x: float, y: float) -> tuple[float, float]:
        """User-space (x, y), y upwards, as rendered pixels (x right, y down), /Rotate applied."""
        if self.rotation == 90:
            u, v = y - self.bottom, x - self.left
        elif self.rotation == 180:
            u, v = self.right - x, y - self.bottom
        elif self.rotation == 270:
            u, v = self.top - y, self.right - x
        else:
            u, v = x - self.left, self.top - y
        return round(u * self.scale, 1), round(v * self.scale, 1)

    def quad(self, box: Box) -> Quad:
        """The corners of `box` clockwise from the top-left as displayed."""
        left, top, right, bottom = box
        xs_ys = [self.point(x, -y) for x, y in ((left, top), (right, top), (right, bottom), (left, bottom))]
        xs = [x for x, _ in xs_ys]
        ys = [y for _, y in xs_ys]
        x0, y0, x1, y1 = min(xs), min(ys), max(xs), max(ys)
        return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))

    def share(self, boxes: list[Quad]) -> float:
        """The share of the page's area that `boxes` cover (overlaps counted twice: words rarely do)."""
        covered = sum((box[1][0] - box[0][0]) * (box[2][1] - box[1][1]) for box in boxes)
        return min(covered / max(self.width * self.height, 1), 1.0)
