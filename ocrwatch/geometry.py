"""Boxes on a page: reading order of lines, rows of text, word boxes cut from a line's box, and
turning boxes between a page as stored and the same page turned upright."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import pairwise

Point = tuple[float, float]
Quad = tuple[Point, Point, Point, Point]
"""Four corners in image pixels, clockwise from the top-left *as the text reads*: the text runs from
point 0 to point 1, so on a page stored sideways a box's point 0 is not its top-left on screen."""

ROTATIONS = (0, 90, 180, 270)
"""Page rotations in degrees clockwise: what turns a page as stored into the page read upright."""


def quad_from_points(points: Sequence[Sequence[float]]) -> Quad:
    """Four (x, y) pairs as plain floats, rounded to a tenth of a pixel."""
    a, b, c, d = ((round(float(x), 1), round(float(y), 1)) for x, y in points)
    return (a, b, c, d)


def reading_order(boxes: Sequence[Quad]) -> list[int]:
    """Indices of `boxes` top to bottom, and left to right within a row.

    Two boxes share a row when their vertical spans overlap by more than half the smaller height,
    so a receipt's "TOTAL ....... 9.00" reads as one row although the detector found two lines.
    """
    return [index for row in rows(boxes) for index in row]


def rows(boxes: Sequence[Quad]) -> list[list[int]]:
    """Group box indices into rows of text, each row sorted left to right."""
    spans = [_vertical_span(box) for box in boxes]
    by_top = sorted(range(len(boxes)), key=lambda i: (spans[i][0] + spans[i][1]) / 2)
    grouped: list[list[int]] = []
    row_span: tuple[float, float] | None = None
    for index in by_top:
        top, bottom = spans[index]
        if row_span is not None and _overlap((top, bottom), row_span) > 0.5 * min(
            bottom - top, row_span[1] - row_span[0]
        ):
            grouped[-1].append(index)
            row_span = (min(row_span[0], top), max(row_span[1], bottom))
        else:
            grouped.append([index])
            row_span = (top, bottom)
    return [sorted(row, key=lambda i: min(x for x, _ in boxes[i])) for row in grouped]


def lines_of_words(boxes: Sequence[Quad], gap: float = 1.0) -> list[list[int]]:
    """Join word boxes into lines, for engines that find words only: indices in reading order.

    Words of one row of text (see `rows`) stay in one line while the space between two neighbours is
    less than `gap` times the taller one's height; a wider space starts a new line (another column).
    """
    lines: list[list[int]] = []
    for row in rows(boxes):
        line = [row[0]]
        for left, right in pairwise(row):
            space = min(x for x, _ in boxes[right]) - max(x for x, _ in boxes[left])
            height = max(_height(boxes[left]), _height(boxes[right]))
            if space > gap * height:
                lines.append(line)
                line = []
            line.append(right)
        lines.append(line)
    return lines


def bounding_quad(boxes: Sequence[Quad]) -> Quad:
    """The upright rectangle around all `boxes` (a line's box from its words' boxes)."""
    if len(boxes) == 1:
        return boxes[0]
    xs = [x for box in boxes for x, _ in box]
    ys = [y for box in boxes for _, y in box]
    left, top, right, bottom = min(xs), min(ys), max(xs), max(ys)
    return ((left, top), (right, top), (right, bottom), (left, bottom))


def split_line_box(box: Quad, text: str) -> list[tuple[str, Quad]]:
    """Cut a line's box into one box per whitespace-separated word, in proportion to characters.

    Used when an engine gives no word boxes of its own; exact for monospaced print, close otherwise.
    """
    words = text.split()
    total = len(text)
    if not words or total == 0:
        return []
    top_left, top_right, bottom_right, bottom_left = box
    pieces = []
    position = 0
    for word in words:
        start = text.index(word, position)
        end = start + len(word)
        position = end
        s, e = start / total, end / total
        pieces.append(
            (
                word,
                (
                    _lerp(top_left, top_right, s),
                    _lerp(top_left, top_right, e),
                    _lerp(bottom_left, bottom_right, e),
                    _lerp(bottom_left, bottom_right, s),
                ),
            )
        )
    return pieces


def _lerp(a: Point, b: Point, t: float) -> Point:
    return (round(a[0] + (b[0] - a[0]) * t, 1), round(a[1] + (b[1] - a[1]) * t, 1))


def _vertical_span(box: Quad) -> tuple[float, float]:
    ys = [y for _, y in box]
    return min(ys), max(ys)


def _height(box: Quad) -> float:
    top, bottom = _vertical_span(box)
    return bottom - top


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def from_upright(box: Quad, rotation: int, width: int, height: int) -> Quad:
    """`box`, measured on the page turned upright, in the pixels of the page as stored.

    `rotation` is what turned the stored page (`width` x `height`) upright, in degrees clockwise.
    """
    return _map(box, lambda x, y: _from_upright_point(x, y, rotation, width, height))


def to_upright(box: Quad, rotation: int, width: int, height: int) -> Quad:
    """`box`, measured on the stored page (`width` x `height`), on the page turned upright."""
    turned_width, turned_height = upright_size(rotation, width, height)
    back = (360 - rotation) % 360
    return _map(box, lambda x, y: _from_upright_point(x, y, back, turned_width, turned_height))


def upright_size(rotation: int, width: int, height: int) -> tuple[int, int]:
    """The (width, height) of a `width` x `height` page once turned by `rotation` degrees."""
    return (height, width) if rotation in (90, 270) else (width, height)


def _from_upright_point(x: float, y: float, rotation: int, width: int, height: int) -> Point:
    if rotation == 0:
        return (x, y)
    if rotation == 90:
        return (y, height - x)
    if rotation == 180:
        return (width - x, height - y)
    if rotation == 270:
        return (width - y, x)
    raise ValueError(f"a page turns by one of {ROTATIONS} degrees, not {rotation}")


def _map(box: Quad, point: Callable[[float, float], Point]) -> Quad:
    a, b, c, d = (point(x, y) for x, y in box)
    return (a, b, c, d)
