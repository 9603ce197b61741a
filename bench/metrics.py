"""Accuracy metrics for the two public sets, written out here so that every number is explainable.

ICDAR 2015 end-to-end follows the Robust Reading Competition's rules (rrc.cvc.uab.es, task 4.4,
"generic" vocabulary) with three departures: IoU must be at least 0.5 (rrc: more than 0.5), pairs are
formed best-IoU-first instead of in file order, and a prediction is set aside for lying on a `###`
region only if it did not pair with a real word. SROIE is scored as a bag of words, which ignores
boxes and reading order: a receipt's words either came out of the engine or did not.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely

from ocrwatch.geometry import Quad

IOU_THRESHOLD = 0.5
DONT_CARE = "###"
"""ICDAR 2015's mark for illegible text: neither a miss when unread nor a false positive when read."""
DONT_CARE_INSIDE = 0.5
"""Share of a prediction's area inside a `###` region that makes it ignored (IoU >= 0.5 implies it)."""
SPECIAL_CHARACTERS = "!?.:,*\"()·[]/'"
"""Characters that rrc lets a ground-truth word lose at its start and at its end."""
TEXT_RULE = (
    "case-insensitive; the ground-truth word may lose one leading and/or one trailing "
    f"character of {SPECIAL_CHARACTERS} (rrc end-to-end rule); predictions are not stripped"
)


@dataclass(frozen=True, slots=True)
class TextBox:
    """A word or line with its box, whether read by an engine or written by an annotator."""

    text: str
    box: Quad


@dataclass(frozen=True, slots=True)
class Score:
    """Counts behind precision and recall; summing per-image scores gives the micro average."""

    matched: int = 0
    predicted: int = 0
    expected: int = 0

    def __add__(self, other: Score) -> Score:
        return Score(
            self.matched + other.matched, self.predicted + other.predicted, self.expected + other.expected
        )

    @property
    def precision(self) -> float:
        return self.matched / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.matched / self.expected if self.expected else 0.0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "matched": self.matched,
            "predicted": self.predicted,
            "expected": self.expected,
        }


@dataclass(frozen=True, slots=True)
class IcdarScore:
    """End-to-end (box and text) and detection-only (box) scores, from the same one-to-one pairing."""

    end_to_end: Score = Score()
    detection: Score = Score()

    def __add__(self, other: IcdarScore) -> IcdarScore:
        return IcdarScore(self.end_to_end + other.end_to_end, self.detection + other.detection)

    def as_dict(self) -> dict[str, dict[str, float | int]]:
        return {"end_to_end": self.end_to_end.as_dict(), "detection": self.detection.as_dict()}


def icdar2015_score(predictions: Sequence[TextBox], truth: Sequence[TextBox]) -> IcdarScore:
    """Score one image's predicted words against its ground-truth words.

    Each cared-for ground-truth word pairs with at most one prediction (IoU >= 0.5, best IoU first);
    a pair counts for detection, and for end-to-end when the texts also match. An unpaired prediction
    with at least half its area inside a `###` region is left out of the precision count.
    """
    care = [word for word in truth if word.text != DONT_CARE]
    regions = _polygons([word.box for word in truth if word.text == DONT_CARE])
    found = _polygons([word.box for word in predictions])
    pairs = _pair(_iou(_polygons([word.box for word in care]), found))
    paired = {prediction for _, prediction in pairs}
    unpaired = np.array([index not in paired for index in range(len(predictions))], dtype=bool)
    ignored = int(np.count_nonzero(unpaired & (_inside_fraction(found, regions) >= DONT_CARE_INSIDE)))
    counted = len(predictions) - ignored
    read = sum(texts_match(care[gt].text, predictions[prediction].text) for gt, prediction in pairs)
    return IcdarScore(
        end_to_end=Score(read, counted, len(care)),
        detection=Score(len(pairs), counted, len(care)),
    )


def texts_match(truth: str, predicted: str) -> bool:
    """rrc's end-to-end text test, case-insensitive: only the ground truth may shed punctuation."""
    truth, predicted = truth.upper(), predicted.upper()
    if not truth:
        return False
    head = 1 if truth[0] in SPECIAL_CHARACTERS else 0
    tail = 1 if truth[-1] in SPECIAL_CHARACTERS else 0
    return predicted in {
        truth,
        truth[head:],
        truth[: len(truth) - tail],
        truth[head : len(truth) - tail],
    }


def sroie_score(predictions: Sequence[TextBox], truth: Sequence[TextBox]) -> Score:
    """Bag-of-words score of one receipt: upper-cased whitespace tokens, counted as multisets."""
    expected = Counter(token for line in truth for token in line.text.upper().split())
    predicted = Counter(token for word in predictions for token in word.text.upper().split())
    return Score((expected & predicted).total(), predicted.total(), expected.total())


def _polygons(boxes: Sequence[Quad]) -> np.ndarray:
    """Shapely polygons of the quads; self-intersecting (bow-tie) quads are repaired, not dropped."""
    return shapely.make_valid(shapely.polygons(np.asarray(boxes, dtype=float).reshape(-1, 4, 2)))


def _iou(truth: np.ndarray, found: np.ndarray) -> np.ndarray:
    """Intersection over union of every ground-truth polygon (rows) with every prediction (columns)."""
    overlap = shapely.area(shapely.intersection(truth[:, None], found[None, :]))
    union = shapely.area(truth)[:, None] + shapely.area(found)[None, :] - overlap
    return np.divide(overlap, union, out=np.zeros_like(overlap), where=union > 0)


def _inside_fraction(found: np.ndarray, regions: np.ndarray) -> np.ndarray:
    """For each prediction, the largest share of its area that lies inside any one of `regions`."""
    if len(regions) == 0:
        return np.zeros(len(found))
    overlap = shapely.area(shapely.intersection(found[:, None], regions[None, :])).max(axis=1)
    area = shapely.area(found)
    return np.divide(overlap, area, out=np.zeros_like(overlap), where=area > 0)


def _pair(iou: np.ndarray) -> list[tuple[int, int]]:
    """One-to-one (truth, prediction) pairs with IoU >= 0.5, taken greedily from the highest IoU."""
    candidates = sorted(zip(*np.nonzero(iou >= IOU_THRESHOLD), strict=True), key=lambda p: (-iou[p], p))
    used_truth: set[int] = set()
    used_found: set[int] = set()
    pairs = []
    for gt, prediction in candidates:
        if gt not in used_truth and prediction not in used_found:
            used_truth.add(gt)
            used_found.add(prediction)
            pairs.append((int(gt), int(prediction)))
    return pairs
