"""The passage of a page shown with a hit: a few words around its matches, the matches marked.

Made here from the page's text rather than by the database (FTS5's snippet()), which would have to
run the full-text query a second time to know where the matches are: for a common word or a short
prefix that doubles the cost of the search. The words marked are those the query's `Marker`
marks, the same rule the highlighted boxes follow.
"""

from __future__ import annotations

import re

from ocrwatch.index.search.query import Marker

WIDTH = 16
"""Tokens in a snippet, as FTS5's snippet() was asked for."""
ELLIPSIS = "…"

_TOKEN = re.compile(r"[^\W_]+")


def snippet(text: str, marker: Marker) -> list[tuple[str, bool]]:
    """The best window of `WIDTH` tokens of `text` as (text, matched) segments, matches merged with
    the spaces between them; an ellipsis where the window cuts the text. A query that marks nothing
    (filters alone) shows the text's beginning."""
    spans = [match.span() for match in _TOKEN.finditer(text)]
    if not spans:
        return [(text, False)] if text else []
    words = [text[start:end] for start, end in spans] if marker.marks_any else []
    matched = set(marker.matching(words))
    first = _window(len(spans), sorted(matched))
    last = min(first + WIDTH, len(spans)) - 1
    begin = 0 if first == 0 else spans[first][0]
    end = len(text) if last == len(spans) - 1 else spans[last][1]
    segments: list[tuple[str, bool]] = [(ELLIPSIS, False)] if begin else []
    at = begin
    for index in range(first, last + 1):
        if index not in matched:
            continue
        start, stop = spans[index]
        if segments and segments[-1][1] and not text[at:start].strip():
            start = at - len(segments.pop()[0])  # the previous match and the spaces join this one
        elif at < start:
            segments.append((text[at:start], False))
        segments.append((text[start:stop], True))
        at = stop
    if at < end:
        segments.append((text[at:end], False))
    if end < len(text):
        segments.append((ELLIPSIS, False))
    return segments


def _window(count: int, matched: list[int]) -> int:
    """The first token of the window that holds the most matches; the text's start when it holds
    them too, otherwise with the matches in the middle."""
    if not matched:
        return 0
    best, held, span = 0, -1, 1
    for index, token in enumerate(matched):
        inside = [other for other in matched[index:] if other < token + WIDTH]
        if len(inside) > held:
            best, held, span = token, len(inside), inside[-1] - token + 1
    if best + span <= WIDTH:
        return 0
    return max(0, min(best - (WIDTH - span) // 2, count - WIDTH))
