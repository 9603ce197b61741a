"""The ALTO XML output: the words in the Library of Congress's layout format, which libraries and
digitisation tools (METS packages, Goobi, Kitodo, eScriptorium, newspaper portals) take in.

ALTO 4.4, measured in page pixels: each page's lines in one TextBlock, each word a String with its
upright rectangle (HPOS, VPOS, WIDTH, HEIGHT), its confidence WC (0-1) and its CONTENT, and an SP
between the words of a line. A page that was stored turned says so in its ROTATION.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ocrwatch import __version__
from ocrwatch.engines.base import PageText
from ocrwatch.outputs.lines import envelope, text_lines
from ocrwatch.result import DocumentText

NAMESPACE = "http://www.loc.gov/standards/alto/ns-v4#"
SCHEMA = "http://www.loc.gov/standards/alto/v4/alto-4-4.xsd"
XSI = "http://www.w3.org/2001/XMLSchema-instance"

Rectangle = tuple[int, int, int, int]


def render_alto(doc: DocumentText) -> bytes:
    """The document as UTF-8 ALTO 4.4 XML."""
    alto = ET.Element(
        "alto",
        {
            "xmlns": NAMESPACE,
            "xmlns:xsi": XSI,
            "xsi:schemaLocation": f"{NAMESPACE} {SCHEMA}",
            "SCHEMAVERSION": "4.4",
        },
    )
    description = ET.SubElement(alto, "Description")
    ET.SubElement(description, "MeasurementUnit").text = "pixel"
    source = ET.SubElement(description, "sourceImageInformation")
    ET.SubElement(source, "fileName").text = str(doc.source)
    processing = ET.SubElement(description, "Processing", {"ID": "ocrwatch"})
    ET.SubElement(processing, "processingCategory").text = "contentGeneration"
    software = ET.SubElement(processing, "processingSoftware")
    ET.SubElement(software, "softwareName").text = "ocrwatch"
    ET.SubElement(software, "softwareVersion").text = __version__
    ET.SubElement(software, "applicationDescription").text = f"{doc.engine} {doc.engine_version}"
    layout = ET.SubElement(alto, "Layout")
    for number, page in enumerate(doc.pages, start=1):
        layout.append(_page(page, number))
    ET.indent(alto, space=" ")
    return ET.tostring(alto, encoding="utf-8", xml_declaration=True) + b"\n"


def _page(page: PageText, number: int) -> ET.Element:
    attributes = {"ID": f"page_{number}", "PHYSICAL_IMG_NR": str(number)}
    attributes |= {"WIDTH": str(page.width), "HEIGHT": str(page.height)}
    if page.rotation:
        attributes["ROTATION"] = str(page.rotation)  # degrees anticlockwise the text runs
    element = ET.Element("Page", attributes)
    space = ET.SubElement(element, "PrintSpace", _position((0, 0, page.width, page.height)))
    lines = text_lines(page)
    if not lines:
        return element
    line_boxes = [_around([envelope(w.box, page.width, page.height) for w in line.words]) for line in lines]
    block = ET.SubElement(space, "TextBlock", {"ID": f"block_{number}_1", **_position(_around(line_boxes))})
    word_number = 0
    for line_number, (line, line_box) in enumerate(zip(lines, line_boxes, strict=True), start=1):
        text_line = ET.SubElement(
            block, "TextLine", {"ID": f"line_{number}_{line_number}", **_position(line_box)}
        )
        boxes = [envelope(word.box, page.width, page.height) for word in line.words]
        for index, (word, box) in enumerate(zip(line.words, boxes, strict=True)):
            word_number += 1
            if index:
                after = boxes[index - 1][2]
                gap = {"HPOS": str(after), "VPOS": str(box[1]), "WIDTH": str(max(0, box[0] - after))}
                ET.SubElement(text_line, "SP", gap)
            ET.SubElement(
                text_line,
                "String",
                {
                    "ID": f"word_{number}_{word_number}",
                    **_position(box),
                    "WC": f"{min(1.0, max(0.0, word.score)):.4g}",
                    "CONTENT": word.text,
                },
            )
    return element


def _around(boxes: list[Rectangle]) -> Rectangle:
    return (
        min(box[0] for box in boxes),
        min(box[1] for box in boxes),
        max(box[2] for box in boxes),
        max(box[3] for box in boxes),
    )


def _position(box: Rectangle) -> dict[str, str]:
    left, top, right, bottom = box
    return {"HPOS": str(left), "VPOS": str(top), "WIDTH": str(right - left), "HEIGHT": str(bottom - top)}
