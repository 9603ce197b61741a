"""Accuracy of engines on the public sets: ICDAR 2015 photos (words) and SROIE receipts (scans).

    python bench/accuracy.py [--sroie N] [--icdar N] [--engine NAME[=ICDAR,SROIE]]... [--json OUT]

Prints a markdown table, a row per engine, and the command that made it; progress goes to stderr.
`--engine` may be repeated; `NAME=20,10` reads only the first 20 photos and 10 receipts with that
engine (for slow ones). `--json` also keeps every word each engine read, so that scores can be
recomputed and errors studied without re-running.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from typing import Any

from bench import datasets
from bench.metrics import TEXT_RULE, IcdarScore, Score, TextBox, icdar2015_score, sroie_score
from bench.readers import LEGACY_RAPIDOCR, RAPIDOCR_DEFAULTS, Reader, install_size, open_reader


@dataclass(frozen=True, slots=True)
class Reading:
    sample: datasets.Sample
    words: list[TextBox]
    seconds: float
    """The engine call alone: decoding the file is the same work for every engine."""


def main(argv: Sequence[str] | None = None) -> None:
    args = _arguments().parse_args(argv)
    started = perf_counter()
    rows, reports = [], []
    for name, icdar_limit, sroie_limit in _engines(args):
        reader = open_reader(name)
        icdar = _read_all(reader, datasets.icdar2015(icdar_limit), "icdar2015")
        sroie = _read_all(reader, datasets.sroie(sroie_limit), "sroie")
        icdar_scores = [icdar2015_score(r.words, r.sample.truth) for r in icdar]
        sroie_scores = [sroie_score(r.words, r.sample.truth) for r in sroie]
        icdar_total, sroie_total = sum(icdar_scores, IcdarScore()), sum(sroie_scores, Score())
        size = install_size(name)
        rows.append(_row(reader.label, icdar, icdar_total, sroie, sroie_total, size))
        reports.append(
            {
                "engine": reader.label,
                "install_mb": size,
                "icdar2015": _set_report(icdar, icdar_scores, icdar_total),
                "sroie": _set_report(sroie, sroie_scores, sroie_total),
            }
        )
    command = _command()
    print("\n".join([HEADER, "|---" * HEADER.count(" | ") + "|---|", *rows]))
    print(f"\nICDAR 2015 text rule: {TEXT_RULE}.")
    print("Seconds per image: the engine call only (file decoding excluded).")
    print("Install: MB of the engine's own packages and what they require, Debian's included.")
    print(f"Data: {datasets.data_dir()}; took {perf_counter() - started:.0f} s.")
    print(f"Command: `{command}`")
    if args.json:
        report: dict[str, Any] = {"command": command, "text_rule": TEXT_RULE}
        report |= reports[0] if len(reports) == 1 else {"engines": reports}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")


def _engines(args: argparse.Namespace) -> list[tuple[str, int, int]]:
    """(name, photos, receipts) for each `--engine NAME[=ICDAR,SROIE]`."""
    engines = []
    for spec in args.engine or ["rapidocr"]:
        name, _, limits = spec.partition("=")
        icdar, sroie = (int(n) for n in limits.split(",")) if limits else (args.icdar, args.sroie)
        engines.append((name, icdar, sroie))
    return engines


def _arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--sroie", type=int, default=100, metavar="N", help="receipts to read (of 100)")
    parser.add_argument("--icdar", type=int, default=200, metavar="N", help="photos to read (of 200)")
    parser.add_argument(
        "--engine",
        action="append",
        metavar="NAME[=ICDAR,SROIE]",
        help=f"an ocrwatch engine name, {RAPIDOCR_DEFAULTS} (RapidOCR untuned), or {LEGACY_RAPIDOCR} "
        "(run from a venv that has it); "
        "repeat for more engines; =20,10 limits this engine to 20 photos and 10 receipts "
        "(default: rapidocr)",
    )
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write scores and words here")
    return parser


def _read_all(reader: Reader, samples: list[datasets.Sample], label: str) -> list[Reading]:
    readings = []
    for number, sample in enumerate(samples, start=1):
        image = datasets.load_rgb(sample.image)
        started = perf_counter()
        words = reader.read(image)
        seconds = perf_counter() - started
        readings.append(Reading(sample, words, seconds))
        print(f"[{label} {number}/{len(samples)}] {sample.name}: {seconds:.2f} s", file=sys.stderr)
    return readings


HEADER = (
    "| engine | ICDAR15 e2e P | e2e R | e2e F1 | det F1 | SROIE word P | word R | word F1 "
    "| s/img ICDAR15 | s/img SROIE | photos, receipts | install MB |"
)


def _row(
    engine: str,
    icdar: list[Reading],
    icdar_total: IcdarScore,
    sroie: list[Reading],
    sroie_total: Score,
    size: float | None,
) -> str:
    e2e, detection = icdar_total.end_to_end, icdar_total.detection
    icdar_cells = [e2e.precision, e2e.recall, e2e.f1, detection.f1] if icdar else [None] * 4
    sroie_cells = [sroie_total.precision, sroie_total.recall, sroie_total.f1] if sroie else [None] * 3
    cells = [*icdar_cells, *sroie_cells, _per_image(icdar), _per_image(sroie)]
    text = ["-" if v is None else f"{v:.3f}" for v in cells]
    text += [f"{len(icdar)}, {len(sroie)}", "-" if size is None else f"{size:.0f}"]
    return "| " + " | ".join([engine, *text]) + " |"


def _per_image(readings: list[Reading]) -> float | None:
    return sum(r.seconds for r in readings) / len(readings) if readings else None


def _command() -> str:
    """The command line, with the environment variables that change what it reads or runs."""
    env = [f"{key}={os.environ[key]}" for key in ("PYTHONPATH", "OCRWATCH_DATA") if key in os.environ]
    return shlex.join([*env, sys.executable, *sys.argv])


def _set_report(
    readings: list[Reading], scores: Sequence[IcdarScore | Score], total: IcdarScore | Score
) -> dict[str, Any]:
    return {
        "images": len(readings),
        "seconds_per_image": _per_image(readings),
        "score": total.as_dict(),
        "samples": [
            {
                "name": r.sample.name,
                "seconds": round(r.seconds, 3),
                "score": score.as_dict(),
                "words": [[word.text, word.box] for word in r.words],
            }
            for r, score in zip(readings, scores, strict=True)
        ],
    }


if __name__ == "__main__":
    main()
