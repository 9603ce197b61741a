"""An invisible font for the PDF's text layer, made for the characters one document uses.

The text layer is never drawn (render mode 3), so its font needs no glyph shapes, only a character
map that covers every character the engine read, whatever the script: RapidOCR reads Chinese, which
no font that ships with Debian's fonts-dejavu covers. Like Tesseract's and OCRmyPDF's GlyphLessFont,
every glyph is empty and equally wide; each word is then stretched to its box. Built with fontTools
(fpdf2's own dependency) in a millisecond, it adds a few kilobytes to a PDF.
"""

from __future__ import annotations

from pathlib import Path

from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen

UNITS_PER_EM = 1000
ASCENT = 0.8
"""Of the em, above the baseline; with DESCENT, a word's box is exactly one em tall."""
DESCENT = 0.2
ADVANCE = 0.5
"""Every glyph's width, of the em."""


def write_glyphless_font(characters: set[str], path: Path) -> None:
    """Write a TrueType font to `path` that maps each of `characters` (and the space) to an empty glyph.

    One glyph per character, rather than one glyph for all as Tesseract's font has: fpdf2 embeds a
    subset keyed by glyph, and TrueType's format 4 character map cannot send thousands of characters
    to one glyph.
    """
    names = {ord(character): f"u{ord(character):04X}" for character in characters | {" "}}
    order = [".notdef", *names.values()]
    builder = FontBuilder(UNITS_PER_EM, isTTF=True)
    builder.setupGlyphOrder(order)
    builder.setupCharacterMap(names)
    empty = TTGlyphPen(None).glyph()
    builder.setupGlyf({name: empty for name in order})
    builder.setupHorizontalMetrics({name: (round(ADVANCE * UNITS_PER_EM), 0) for name in order})
    ascent, descent = round(ASCENT * UNITS_PER_EM), round(DESCENT * UNITS_PER_EM)
    builder.setupHorizontalHeader(ascent=ascent, descent=-descent)
    builder.setupNameTable({"familyName": "GlyphLessFont", "styleName": "Regular"})
    builder.setupOS2(sTypoAscender=ascent, sTypoDescender=-descent, usWinAscent=ascent, usWinDescent=descent)
    builder.setupPost()
    builder.save(str(path))
