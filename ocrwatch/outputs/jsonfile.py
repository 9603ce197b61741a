"""The JSON output: the contract other tools read, with every word and line and its box.

Keys and shapes here are a public format; change them only with a new format version.
"""

from __future__ import annotations

import json
from typing import Any

from ocrwatch.engines.base import PageText
from ocrwatch.geometry import Quad
from ocrwatch.result import DocumentText


def render_json(doc: DocumentText) -> bytes:
    """The document as UTF-8 JSON, non-ASCII text kept readable rather than escaped."""
    document = {
        "source": str(doc.source),
        "sha256": doc.sha256,
        "engine": doc.engine,
        "engine_version": doc.engine_version,
        "pages": [page_to_dict(page, number) for number, page in enumerate(doc.pages, start=1)],
        "text": doc.text,
        "seconds": round(doc.ocr_seconds, 3),
    }
    return (json.dumps(document, ensure_ascii=False) + "\n").encode("utf-8")


def page_to_dict(page: PageText, number: int) -> dict[str, Any]:
    """One page in the JSON shape; shared with the web API so both speak the same format."""
    return {
        "page": number,
        "width": page.width,
        "height": page.height,
        "rotation": page.rotation,
        "engine": page.engine,
        "source": page.source,
        "reason": page.reason,
        "words": [{"text": word.text, "score": word.score, "box": _box(word.box)} for word in page.words],
        "lines": [
            {"text": line.text, "score": line.score, "box": _box(line.box), "words": list(line.words)}
            for line in page.lines
        ],
    }


def _box(box: Quad) -> list[list[float]]:
    return [[x, y] for x, y in box]
