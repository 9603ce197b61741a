"""Scans fed sideways and upside down: SROIE receipts turned by 0, 90, 180 and 270 degrees.

    python bench/rotation.py [--sroie N]

For each turn: the word F1 against the receipts' transcripts (as bench/accuracy.py scores SROIE), how
many pages ocrwatch found turned by exactly that much, and the seconds per page (a turned page is
read twice: once to find which way is up, once upright).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from time import perf_counter

import numpy as np

from bench import datasets
from bench.metrics import Score, TextBox, sroie_score
from ocrwatch.config import Settings
from ocrwatch.engines import create_engine

TURNS = (0, 90, 180, 270)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--sroie", type=int, default=100, metavar="N", help="receipts to read (of 100)")
    args = parser.parse_args(argv)
    engine = create_engine("rapidocr", Settings().engines)
    scores = {turn: Score() for turn in TURNS}
    found = dict.fromkeys(TURNS, 0)
    seconds = dict.fromkeys(TURNS, 0.0)
    samples = datasets.sroie(args.sroie)
    for number, sample in enumerate(samples, start=1):
        image = datasets.load_rgb(sample.image)
        for turn in TURNS:
            stored = np.ascontiguousarray(np.rot90(image, turn // 90))  # upright after `turn` clockwise
            started = perf_counter()
            page = engine.read(stored)
            seconds[turn] += perf_counter() - started
            scores[turn] += sroie_score([TextBox(w.text, w.box) for w in page.words], sample.truth)
            found[turn] += page.rotation == turn
        print(f"[{number}/{len(samples)}] {sample.name}", file=sys.stderr)
    print("| page turned by | SROIE word F1 | turn found | s/page |\n|---|---|---|---|")
    for turn in TURNS:
        per_page = seconds[turn] / len(samples)
        print(f"| {turn}° | {scores[turn].f1:.3f} | {found[turn]}/{len(samples)} | {per_page:.2f} |")
    print(f"\nCommand: `{shlex.join([sys.executable, *sys.argv])}`")


if __name__ == "__main__":
    main()
