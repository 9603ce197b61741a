"""Word boxes that match the printed words, from what RapidOCR reports for each line.

RapidOCR places words along a line from the recognizer's character positions, but its boxes need two
corrections before they can be stored, searched and laid under a PDF's text:
- One character it classes as Chinese (a full-width bracket, a colon, `一` read for a dash) makes it
  box every character of the line on its own; the line's spaces say where the words really are.
- Every box is as tall as the detector's line box, which the DB detector pads around the text
  (`unclip_ratio` 1.6) by about a sixth of the text's height above and below.
"""

from __future__ import annotations

from collections.abc import Sequence

from ocrwatch.engines.base import Word
from ocrwatch.geometry import Point, Quad, quad_from_points, split_line_box

RawWord = tuple[str, float, Sequence[Sequence[float]]]
"""One entry of RapidOCR's `word_results`: text, score and four corners."""

TEXT_HEIGHT = 0.75
"""The share of a detector box's height that the printed text fills: the box is trimmed to it, about
its centre line. Measured on ICDAR 2015 photos (word IoU against tight annotations) and stable from 0.7
to 0.8; the padding it removes is the detector's own, the same on scans."""


def line_words(
    texts: Sequence[str],
    scores: Sequence[float],
    boxes: Sequence[Quad],
    word_results: Sequence[Sequence[RawWord]],
) -> list[list[Word]]:
    """Each line's words, with boxes trimmed to the text.

    RapidOCR drops a line's entry from `word_results` when it found no word boxes for it, so the two
    sequences can drift apart; a group is taken for a line only when its words spell the line. Lines
    without their own word boxes get boxes cut from the line box, and the line's score.
    """
    groups = list(word_results)
    paired: list[list[Word]] = []
    cursor = 0
    for text, box, line_score in zip(texts, boxes, scores, strict=True):
        group = groups[cursor] if cursor < len(groups) else ()
        if group and _squeeze("".join(word[0] for word in group)) == _squeeze(text):
            cursor += 1
            pieces = [
                Word(word_text, round(float(score), 4), quad_from_points(word_box))
                for word_text, score, word_box in group
                if word_text.strip()
            ]
            words = _join_characters(text, pieces)
        else:
            score = round(float(line_score), 4)
            words = [Word(word, score, word_box) for word, word_box in split_line_box(box, text)]
        paired.append([Word(word.text, word.score, trim_to_text(word.box)) for word in words])
    return paired


def trim_to_text(box: Quad) -> Quad:
    """`box` with its height cut to `TEXT_HEIGHT`, keeping its centre line and its slant."""
    top_left, top_right, bottom_right, bottom_left = box
    new_top_left, new_bottom_left = _trim_edge(top_left, bottom_left)
    new_top_right, new_bottom_right = _trim_edge(top_right, bottom_right)
    return quad_from_points((new_top_left, new_top_right, new_bottom_right, new_bottom_left))


def _join_characters(text: str, pieces: list[Word]) -> list[Word]:
    """Join boxed characters back into the line's space-separated words.

    Pieces that already are the words, or that cannot be laid onto the words exactly, stay as they are.
    """
    tokens = text.split()
    if len(tokens) == len(pieces):
        return pieces
    words: list[Word] = []
    position = 0
    for token in tokens:
        spelled, first = "", position
        while position < len(pieces) and len(spelled) < len(token):
            spelled += pieces[position].text.strip()
            position += 1
        if spelled != token:
            return pieces
        members = pieces[first:position]
        box = (members[0].box[0], members[-1].box[1], members[-1].box[2], members[0].box[3])
        words.append(Word(token, min(member.score for member in members), box))
    return words if position == len(pieces) else pieces


def _trim_edge(top: Point, bottom: Point) -> tuple[Point, Point]:
    middle_x, middle_y = (top[0] + bottom[0]) / 2, (top[1] + bottom[1]) / 2
    half = TEXT_HEIGHT / 2
    return (
        (middle_x + (top[0] - bottom[0]) * half, middle_y + (top[1] - bottom[1]) * half),
        (middle_x + (bottom[0] - top[0]) * half, middle_y + (bottom[1] - top[1]) * half),
    )


def _squeeze(text: str) -> str:
    return "".join(text.split())
