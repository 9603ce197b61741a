"""Accuracy of engines on the public sets and the office pages, page by page in one run.

    python bench/accuracy.py [--icdar N] [--sroie N] [--letters N] [--invoices N]
        [--engine NAME[=ICDAR,SROIE[,LETTERS,INVOICES]]]... [--json OUT]

Sets: ICDAR 2015 street photos (words, end-to-end F1), SROIE receipts, rendered letters and scanned
invoices (bag-of-words F1), and their mix: every page of the four, scored as a bag of words. Every page
is read by each engine in turn, so that a load on the machine weighs on all engines alike and the
seconds compare as ratios. The oracle row takes, page by page, the better of rapidocr and tesseract.

Prints a markdown table, a row per engine, a table of the two halves of each set (even and odd pages),
and the command that made it; progress goes to stderr. `--engine` may be repeated (default: rapidocr,
tesseract and auto); `NAME=20,10` reads only the first 20 photos and 10 receipts with that engine.
`--json` also keeps every word each engine read, so that scores can be recomputed and errors studied.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from typing import Any

from bench import datasets
from bench.metrics import DONT_CARE, TEXT_RULE, Score, TextBox, icdar2015_score, sroie_score
from bench.readers import LEGACY_RAPIDOCR, RAPIDOCR_DEFAULTS, OcrwatchReader, Reader, open_reader

SETS = ("icdar2015", "sroie", "letters", "invoices")
TITLES = {
    "icdar2015": "ICDAR15 e2e F1",
    "sroie": "SROIE F1",
    "letters": "letters F1",
    "invoices": "invoices F1",
}
ORACLE = ("rapidocr", "tesseract")
"""The engines the oracle chooses between, page by page."""
DEFAULT_ENGINES = ["rapidocr", "tesseract", "auto"]


@dataclass(frozen=True, slots=True)
class Reading:
    """One engine's reading of one page, scored two ways."""

    sample: datasets.Sample
    words: list[TextBox]
    seconds: float
    """The engine call alone: decoding the file is the same work for every engine."""
    score: Score
    """The set's own score: ICDAR 2015 end-to-end (boxes and text), else the bag of words."""
    bag: Score
    """The bag-of-words score, the one the mix of all sets is scored by."""
    engine: str
    """What read the page, as the engine says (auto names the engine it chose)."""


def main(argv: Sequence[str] | None = None) -> None:
    args = _arguments().parse_args(argv)
    started = perf_counter()
    samples = {
        "icdar2015": datasets.icdar2015(args.icdar),
        "sroie": datasets.sroie(args.sroie),
        "letters": datasets.documents("letters", args.letters),
        "invoices": datasets.documents("invoices", args.invoices),
    }
    limits = _engines(args)
    readers = {name: open_reader(name) for name in limits}
    readings = _read_all(readers, limits, samples)
    oracle = _oracle(readings)
    rows = [_row(readers[name].label, readings[name]) for name in readers]
    if oracle:
        rows.append(_row("oracle: per page the better of rapidocr and tesseract", oracle, timed=False))
    command = _command()
    print("\n".join([HEADER, "|---" * (HEADER.count(" | ") + 1) + "|", *rows]))
    print("\nF1 on the two halves of each set, even pages / odd pages:\n")
    print("\n".join([HALVES_HEADER, "|---" * (HALVES_HEADER.count(" | ") + 1) + "|"]))
    for name, label in [*((name, readers[name].label) for name in readers), ("oracle", "oracle")]:
        if name in readings or (name == "oracle" and oracle):
            print(_halves_row(label, readings.get(name) or oracle))
    for name in readers:
        if any(reading.engine != name for pages in readings[name].values() for reading in pages):
            print(_chosen(readers[name].label, readings[name]))
            if oracle:
                print(_against_slower(readers[name].label, readings[name], readings))
    print(f"\nICDAR 2015 text rule: {TEXT_RULE}. Others, and the mix: bag of words, case-insensitive.")
    print("Seconds per page: the engine call only (file decoding excluded).")
    print("keras-ocr is not measured: TensorFlow is not in this venv (see README, keras-ocr).")
    print(f"Data: {datasets.data_dir()}; took {perf_counter() - started:.0f} s.")
    print(f"Command: `{command}`")
    if args.json:
        report = {
            "command": command,
            "text_rule": TEXT_RULE,
            "engines": {readers[name].label: _report(readings[name]) for name in readers},
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")


def _engines(args: argparse.Namespace) -> dict[str, dict[str, int | None]]:
    """Pages of each set each `--engine NAME[=ICDAR,SROIE[,LETTERS,INVOICES]]` reads (None: all)."""
    engines: dict[str, dict[str, int | None]] = {}
    for spec in args.engine or DEFAULT_ENGINES:
        name, _, given = spec.partition("=")
        counts = [int(n) for n in given.split(",")] if given else []
        engines[name] = {label: counts[i] if i < len(counts) else None for i, label in enumerate(SETS)}
    return engines


def _arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--icdar", type=int, default=200, metavar="N", help="photos to read (of 200)")
    parser.add_argument("--sroie", type=int, default=100, metavar="N", help="receipts to read (of 100)")
    parser.add_argument("--letters", type=int, default=20, metavar="N", help="letters to read (of 20)")
    parser.add_argument("--invoices", type=int, default=15, metavar="N", help="invoice pages (of 15)")
    parser.add_argument(
        "--engine",
        action="append",
        metavar="NAME[=ICDAR,SROIE[,LETTERS,INVOICES]]",
        help=f"an ocrwatch engine name, {RAPIDOCR_DEFAULTS} (RapidOCR untuned), or {LEGACY_RAPIDOCR} "
        "(run from a venv that has it); repeat for more engines; =20,10 limits this engine to 20 "
        f"photos and 10 receipts (default: {', '.join(DEFAULT_ENGINES)})",
    )
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write scores and words here")
    return parser


def _read_all(
    readers: dict[str, Reader],
    limits: dict[str, dict[str, int | None]],
    samples: dict[str, list[datasets.Sample]],
) -> dict[str, dict[str, list[Reading]]]:
    """Each page read by every engine in turn: {engine: {set: readings}}."""
    readings: dict[str, dict[str, list[Reading]]] = {name: {label: [] for label in SETS} for name in readers}
    for label in SETS:
        for number, sample in enumerate(samples[label]):
            image = datasets.load_rgb(sample.image)
            times = []
            for name, reader in readers.items():
                limit = limits[name][label]
                if limit is not None and number >= limit:
                    continue
                started = perf_counter()
                words = reader.read(image)
                seconds = perf_counter() - started
                engine = reader.last_engine if isinstance(reader, OcrwatchReader) else name
                readings[name][label].append(_scored(label, sample, words, seconds, engine))
                times.append(f"{name} {seconds:.2f} s")
            progress = f"[{label} {number + 1}/{len(samples[label])}] {sample.name}: {', '.join(times)}"
            print(progress, file=sys.stderr)
    return readings


def _scored(
    label: str, sample: datasets.Sample, words: list[TextBox], seconds: float, engine: str
) -> Reading:
    bag = sroie_score(words, [word for word in sample.truth if word.text != DONT_CARE])
    score = icdar2015_score(words, sample.truth).end_to_end if label == "icdar2015" else bag
    return Reading(sample, words, seconds, score, bag, engine)


def _oracle(readings: dict[str, dict[str, list[Reading]]]) -> dict[str, list[Reading]]:
    """Page by page, the reading of whichever of rapidocr and tesseract scored better (ties: fewer
    words predicted); only over the pages both read."""
    if not all(name in readings for name in ORACLE):
        return {}
    first, second = (readings[name] for name in ORACLE)
    return {
        label: [
            max(a, b, key=lambda r: (r.score.f1, -r.score.predicted))
            for a, b in zip(first[label], second[label], strict=False)
        ]
        for label in SETS
    }


HEADER = (
    "| engine | " + " | ".join(f"{TITLES[label]} | s/page" for label in SETS) + " | mix F1 (bag of words) "
    "| s/page | pages |"
)
HALVES_HEADER = "| engine | " + " | ".join(TITLES[label] for label in SETS) + " | mix F1 |"


def _row(engine: str, readings: dict[str, list[Reading]], timed: bool = True) -> str:
    cells = []
    for label in SETS:
        cells += [_f1(readings[label], "score"), _seconds(readings[label]) if timed else "-"]
    everything = [reading for label in SETS for reading in readings[label]]
    cells += [_f1(everything, "bag"), _seconds(everything) if timed else "-"]
    cells.append(", ".join(str(len(readings[label])) for label in SETS))
    return "| " + " | ".join([engine, *cells]) + " |"


def _halves_row(engine: str, readings: dict[str, list[Reading]]) -> str:
    def halves(pages: list[Reading], kind: str) -> str:
        return f"{_f1(pages[::2], kind)} / {_f1(pages[1::2], kind)}"

    everything = [reading for label in SETS for reading in readings[label]]
    cells = [halves(readings[label], "score") for label in SETS] + [halves(everything, "bag")]
    return "| " + " | ".join([engine, *cells]) + " |"


def _chosen(engine: str, readings: dict[str, list[Reading]]) -> str:
    """Which engine read how many pages of each set, for an engine that chooses (auto)."""
    counts = {label: Counter(reading.engine for reading in readings[label]) for label in SETS}
    parts = [
        f"{label} " + ", ".join(f"{n} {name}" for name, n in sorted(count.items()))
        for label, count in counts.items()
        if count
    ]
    return f"\n{engine} read by: " + "; ".join(parts) + "."


def _against_slower(
    engine: str, readings: dict[str, list[Reading]], every: dict[str, dict[str, list[Reading]]]
) -> str:
    """The engine's seconds over those of the slower of rapidocr and tesseract on each set: of the
    totals, and the median of the page-by-page ratios (which a passing load on the machine moves least)."""
    parts = []
    for label in SETS:
        pages = readings[label]
        if not pages or any(len(every[name][label]) != len(pages) for name in ORACLE):
            continue
        slower = max(ORACLE, key=lambda name: sum(r.seconds for r in every[name][label]))
        theirs = every[slower][label]
        total = sum(r.seconds for r in pages) / sum(r.seconds for r in theirs)
        median = statistics.median(r.seconds / t.seconds for r, t in zip(pages, theirs, strict=True))
        parts.append(f"{label} {total:.2f} of {slower} (median {median:.2f})")
    return f"\n{engine} seconds / the slower engine's: " + "; ".join(parts) + "."


def _f1(readings: list[Reading], kind: str) -> str:
    if not readings:
        return "-"
    return f"{sum((getattr(reading, kind) for reading in readings), Score()).f1:.3f}"


def _seconds(readings: list[Reading]) -> str:
    return f"{sum(r.seconds for r in readings) / len(readings):.2f}" if readings else "-"


def _command() -> str:
    """The command line, with the environment variables that change what it reads or runs."""
    env = [f"{key}={os.environ[key]}" for key in ("PYTHONPATH", "OCRWATCH_DATA") if key in os.environ]
    return shlex.join([*env, sys.executable, *sys.argv])


def _report(readings: dict[str, list[Reading]]) -> dict[str, Any]:
    return {
        label: {
            "pages": len(pages),
            "seconds_per_page": sum(r.seconds for r in pages) / len(pages) if pages else None,
            "score": sum((r.score for r in pages), Score()).as_dict(),
            "samples": [
                {
                    "name": r.sample.name,
                    "seconds": round(r.seconds, 3),
                    "engine": r.engine,
                    "score": r.score.as_dict(),
                    "bag": r.bag.as_dict(),
                    "words": [[word.text, word.box] for word in r.words],
                }
                for r in pages
            ],
        }
        for label, pages in readings.items()
    }


if __name__ == "__main__":
    main()
