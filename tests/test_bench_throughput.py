"""The throughput benchmark's arithmetic on made-up passes, so that a changed figure is a changed machine."""

from __future__ import annotations

import argparse

import pytest

from bench.throughput import Config, Pass, counts, summarise


def timed(config: Config, wall: float, busy: float = 1.0, rss: float = 100.0) -> Pass:
    """A pass of 4 images in `wall` seconds."""
    return Pass(config, config.engine, wall, [busy] * 4, {1: rss, 2: rss / 2})


def test_counts_reads_comma_separated_whole_numbers() -> None:
    assert counts("1,2") == [1, 2]
    assert counts("0") == [0]
    for bad in ("1,x", "-1", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            counts(bad)


def test_rows_take_medians_and_compare_with_the_best_one_worker_run_of_the_same_engine() -> None:
    one_one, one_two, two_one = Config("a", 1, 1), Config("a", 1, 2), Config("a", 2, 1)
    other = Config("b", 2, 1)
    passes = [
        *(timed(one_one, wall) for wall in (4.0, 8.0, 100.0)),  # 60, 30 and 2.4 images/min
        timed(one_two, 3.0, busy=2.0, rss=300.0),  # 80 images/min: the best 1-worker run of "a"
        timed(one_two, 3.0, busy=4.0),
        timed(two_one, 2.0),  # 120 images/min
        timed(other, 2.0),
    ]
    rows = {row.config: row for row in summarise([one_one, one_two, two_one, other], passes)}
    assert rows[one_one].per_minute == pytest.approx(30.0)
    assert rows[one_one].ratio == pytest.approx(30 / 80)
    assert rows[two_one].ratio == pytest.approx(120 / 80)
    assert rows[one_two].seconds_per_image == pytest.approx(3.0)
    assert rows[one_two].peak_rss_mb == 300.0
    assert rows[other].ratio is None
