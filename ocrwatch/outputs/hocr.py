"""The hOCR output: the words in XHTML, for the tools of the hOCR world (hocr-tools, OCRmyPDF's
hocrtransform, search-engine indexers, proofreading editors).

It follows the hOCR 1.2 spec as its validator (hocr-spec) and hocr-tools read it: one `ocr_page` per
page, one `ocr_carea` and `ocr_par` around its lines, `ocr_line`s holding `ocrx_word`s, each with its
`bbox` in page pixels (the upright rectangle around the box) and the word's `x_wconf` (0-100).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ocrwatch import __version__
from ocrwatch.engines.base import PageText
from ocrwatch.outputs.lines import envelope, text_lines
from ocrwatch.result import DocumentText

XHTML = "http://www.w3.org/1999/xhtml"
DOCTYPE = (
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"'
    ' "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">'
)
CAPABILITIES = "ocr_page ocr_carea ocr_par ocr_line ocrx_word ocrp_wconf"


def render_hocr(doc: DocumentText) -> bytes:
    """The document as UTF-8 XHTML."""
    html = ET.Element("html", {"xmlns": XHTML, "xml:lang": "en", "lang": "en"})
    head = ET.SubElement(html, "head")
    ET.SubElement(head, "title").text = doc.source.name
    ET.SubElement(head, "meta", {"http-equiv": "Content-Type", "content": "text/html;charset=utf-8"})
    system = f"ocrwatch {__version__} ({doc.engine} {doc.engine_version})"
    ET.SubElement(head, "meta", {"name": "ocr-system", "content": system})
    ET.SubElement(head, "meta", {"name": "ocr-capabilities", "content": CAPABILITIES})
    ET.SubElement(head, "meta", {"name": "ocr-number-of-pages", "content": str(len(doc.pages))})
    body = ET.SubElement(html, "body")
    for number, page in enumerate(doc.pages, start=1):
        body.append(_page(page, number, str(doc.source)))
    # Indenting also puts white space between the words: tools that take the text content see them apart.
    ET.indent(html, space=" ")
    markup = ET.tostring(html, encoding="unicode", short_empty_elements=True)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{DOCTYPE}\n{markup}\n'.encode()


def _page(page: PageText, number: int, image: str) -> ET.Element:
    quoted = image.replace("\\", "\\\\").replace('"', '\\"')
    element = ET.Element(
        "div",
        {
            "class": "ocr_page",
            "id": f"page_{number}",
            "title": f'image "{quoted}"; bbox 0 0 {page.width} {page.height}; ppageno {number - 1}',
        },
    )
    lines = text_lines(page)
    if not lines:
        return element
    boxes = [[envelope(word.box, page.width, page.height) for word in line.words] for line in lines]
    area = _bbox([box for line_boxes in boxes for box in line_boxes])
    carea = ET.SubElement(element, "div", {"class": "ocr_carea", "id": f"block_{number}_1", "title": area})
    paragraph = ET.SubElement(carea, "p", {"class": "ocr_par", "id": f"par_{number}_1", "title": area})
    # textangle: degrees anticlockwise the text runs, on pages that were stored turned.
    angle = f"; textangle {page.rotation}" if page.rotation else ""
    word_number = 0
    for line_number, (line, words) in enumerate(zip(lines, boxes, strict=True), start=1):
        span = ET.SubElement(
            paragraph,
            "span",
            {"class": "ocr_line", "id": f"line_{number}_{line_number}", "title": _bbox(words) + angle},
        )
        for word, box in zip(line.words, words, strict=True):
            word_number += 1
            ET.SubElement(
                span,
                "span",
                {
                    "class": "ocrx_word",
                    "id": f"word_{number}_{word_number}",
                    "title": f"{_bbox([box])}; x_wconf {round(word.score * 100)}",
                },
            ).text = word.text
    return element


def _bbox(boxes: list[tuple[int, int, int, int]]) -> str:
    left = min(box[0] for box in boxes)
    top = min(box[1] for box in boxes)
    right = max(box[2] for box in boxes)
    bottom = max(box[3] for box in boxes)
    return f"bbox {left} {top} {right} {bottom}"
