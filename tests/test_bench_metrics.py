"""The benchmark metrics on hand-made boxes, so that a change in a score is a change in the engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import datasets
from bench.metrics import IcdarScore, Score, TextBox, icdar2015_score, sroie_score


def box(x: float, y: float = 0, width: float = 100, height: float = 20) -> TextBox:
    """An axis-aligned box; the text is filled in with `word`."""
    return TextBox("", ((x, y), (x + width, y), (x + width, y + height), (x, y + height)))


def word(text: str, x: float, y: float = 0, width: float = 100) -> TextBox:
    return TextBox(text, box(x, y, width).box)


def counts(score: Score) -> tuple[int, int, int]:
    return score.matched, score.predicted, score.expected


def test_exact_match_counts_for_detection_and_end_to_end() -> None:
    score = icdar2015_score([word("EXIT", 0)], [word("EXIT", 0)])
    assert counts(score.end_to_end) == counts(score.detection) == (1, 1, 1)
    assert score.end_to_end.f1 == 1.0


@pytest.mark.parametrize(
    ("shift", "matched"),
    [(32, 1), (34, 0)],  # IoU = (100 - shift) / (100 + shift): 0.515 and 0.493
)
def test_iou_threshold_is_one_half(shift: float, matched: int) -> None:
    score = icdar2015_score([word("EXIT", shift)], [word("EXIT", 0)])
    assert counts(score.detection) == (matched, 1, 1)
    assert counts(score.end_to_end) == (matched, 1, 1)


def test_wrong_text_is_a_detection_but_not_a_reading() -> None:
    score = icdar2015_score([word("EXTT", 0)], [word("EXIT", 0)])
    assert counts(score.detection) == (1, 1, 1)
    assert counts(score.end_to_end) == (0, 1, 1)


def test_text_is_compared_case_insensitively() -> None:
    assert icdar2015_score([word("exit", 0)], [word("Exit", 0)]).end_to_end.matched == 1


@pytest.mark.parametrize(
    ("truth", "predicted", "matched"),
    [
        ("EXIT.", "EXIT", 1),  # the ground truth may lose a trailing special character
        ('"EXIT', "EXIT", 1),  # or a leading one
        ("(EXIT)", "EXIT", 1),  # or both
        ("EXIT", "EXIT.", 0),  # the prediction is taken as read
        ("EX-IT", "EXIT", 0),  # nothing inside a word is dropped
    ],
)
def test_ground_truth_may_shed_edge_punctuation(truth: str, predicted: str, matched: int) -> None:
    assert icdar2015_score([word(predicted, 0)], [word(truth, 0)]).end_to_end.matched == matched


def test_reading_a_dont_care_region_is_not_a_false_positive() -> None:
    score = icdar2015_score([word("blur", 0), word("EXIT", 300)], [word("###", 0), word("EXIT", 300)])
    assert counts(score.end_to_end) == (1, 1, 1)


def test_a_prediction_mostly_inside_a_dont_care_region_is_ignored() -> None:
    region = word("###", 0, width=400)  # IoU with the prediction is 0.25, but it lies wholly inside
    assert counts(icdar2015_score([word("blur", 100)], [region]).detection) == (0, 0, 0)


def test_an_unread_dont_care_region_is_not_a_miss() -> None:
    score = icdar2015_score([word("EXIT", 0)], [word("EXIT", 0), word("###", 300)])
    assert counts(score.end_to_end) == (1, 1, 1)


def test_one_ground_truth_word_matches_one_prediction_only() -> None:
    score = icdar2015_score([word("EXIT", 0), word("EXIT", 10)], [word("EXIT", 0)])
    assert counts(score.detection) == (1, 2, 1)
    assert counts(score.end_to_end) == (1, 2, 1)
    assert score.end_to_end.precision == 0.5


def test_pairs_are_made_by_overlap_before_text_is_compared() -> None:
    """As in rrc: the best-overlapping prediction takes the word, even when another one reads it."""
    score = icdar2015_score([word("EXTT", 0), word("EXIT", 10)], [word("EXIT", 0)])
    assert counts(score.end_to_end) == (0, 2, 1)


def test_pairing_takes_the_best_overlap_first() -> None:
    """The order of the predictions does not matter: the closer box takes the word."""
    predictions = [word("EXTT", 25), word("EXIT", 5)]  # IoU 0.6 and 0.9
    assert counts(icdar2015_score(predictions, [word("EXIT", 0)]).end_to_end) == (1, 2, 1)


def test_self_intersecting_quads_are_repaired_whole() -> None:
    """A bow-tie keeps both lobes (IoU 0.6 here); buffer(0) would keep one (IoU 0.33)."""
    bow_tie = TextBox("EXIT", ((0, 0), (100, 20), (100, 0), (0, 20)))
    band = TextBox("EXIT", box(0, y=5, height=10).box)
    assert counts(icdar2015_score([bow_tie], [band]).end_to_end) == (1, 1, 1)


def test_empty_pages() -> None:
    assert icdar2015_score([], []) == IcdarScore()
    assert counts(icdar2015_score([], [word("EXIT", 0)]).end_to_end) == (0, 0, 1)
    assert icdar2015_score([word("EXIT", 0)], []).end_to_end.precision == 0.0


def test_scores_add_up_to_a_micro_average() -> None:
    total = Score(1, 2, 4) + Score(3, 2, 4)
    assert (total.precision, total.recall) == (1.0, 0.5)
    assert total.f1 == pytest.approx(2 / 3)


def test_sroie_counts_words_as_a_multiset() -> None:
    truth = [word("TOTAL 9.00", 0), word("CASH 9.00", 0, y=30)]
    predictions = [word("total", 0), word("9.00", 50), word("9.00 9.00", 0, y=30)]
    score = sroie_score(predictions, truth)
    assert counts(score) == (3, 4, 4)  # TOTAL and 9.00 twice; the third 9.00 and CASH are not matched
    assert score.f1 == pytest.approx(0.75)


def test_loaders_split_at_the_eighth_comma_and_order_by_number(tmp_path: Path) -> None:
    (tmp_path / "icdar2015" / "img").mkdir(parents=True)
    (tmp_path / "icdar2015" / "gt").mkdir()
    for number in (10, 9):
        (tmp_path / "icdar2015" / "img" / f"img_{number}.jpg").touch()
        (tmp_path / "icdar2015" / "gt" / f"gt_img_{number}.txt").write_text(
            '\ufeff1,2,3,2,3,4,1,4,"SCAN"\r\n1,2,3,2,3,4,1,4,$5,000\r\n', encoding="utf-8"
        )
    samples = datasets.icdar2015(root=tmp_path)
    assert [sample.name for sample in samples] == ["img_9", "img_10"]
    assert [w.text for w in samples[0].truth] == ["SCAN", "$5,000"]
    assert samples[0].truth[0].box == ((1, 2), (3, 2), (3, 4), (1, 4))
    assert [sample.name for sample in datasets.icdar2015(limit=1, root=tmp_path)] == ["img_9"]
