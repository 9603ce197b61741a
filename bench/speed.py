"""What ocrwatch costs over the plain engine: seconds per image for three ways to read the same files.

    python bench/speed.py [--images N] [--repeats R]

  raw       rapidocr.RapidOCR(...)(path): the library used plainly, on the file path
  engine    ocrwatch's engine read() on an already decoded RGB array
  pipeline  ocrwatch's whole path per file: hash, open, OCR, annotate, write the outputs, index

Each variant is warmed up once; then every repeat reads each image with each variant in turn (the
order rotating between repeats) so that machine drift hits all variants alike. The table gives the
median over repeats and the ratio to the raw call of the same run.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from time import perf_counter

from rapidocr import RapidOCR

from bench import datasets
from ocrwatch.config import Settings, load_settings
from ocrwatch.engines import create_engine
from ocrwatch.index import Index
from ocrwatch.pipeline import Pipeline

VARIANTS = ("raw", "engine", "pipeline")
WHAT = {
    "raw": "`RapidOCR(params)(path)`",
    "engine": "`engine.read(rgb_array)`",
    "pipeline": "`Pipeline.process(path, force=True)`",
}

Call = Callable[[Path], object]


class Variants:
    """The three ways to read a file; they share one engine, loaded once as in a running ocrwatch."""

    def __init__(self, paths: list[Path]) -> None:
        self._raw = RapidOCR(params={"Global.log_level": "warning", "Global.return_word_box": True})
        self._engine = create_engine("rapidocr", Settings().engines)
        self._arrays = {path: datasets.load_rgb(path) for path in paths}
        self.label = f"{self._engine.name} {self._engine.version}"

    def raw(self, path: Path) -> object:
        return self._raw(str(path))

    def engine(self, path: Path) -> object:
        return self._engine.read(self._arrays[path])

    @contextmanager
    def pipeline(self) -> Iterator[dict[str, Call]]:
        """All three calls, the pipeline's with a fresh output folder and index: every file is read."""
        with tempfile.TemporaryDirectory(prefix="ocrwatch-speed-") as folder:
            settings = load_settings(
                None, output=str(Path(folder) / "output"), database=str(Path(folder) / "index.db")
            )
            with Index(settings.database_url) as index:
                pipeline = Pipeline(settings, index, engine=self._engine)

                def process(path: Path) -> None:
                    outcome = pipeline.process(path, root=path.parent, force=True)
                    if outcome.status != "done":
                        raise RuntimeError(f"{path}: {outcome.status} ({outcome.error})")

                yield {"raw": self.raw, "engine": self.engine, "pipeline": process}


def main(argv: list[str] | None = None) -> None:
    args = _arguments().parse_args(argv)
    started = perf_counter()
    sets = {
        "SROIE": [sample.image for sample in datasets.sroie(args.images)],
        "ICDAR15": [sample.image for sample in datasets.icdar2015(args.images)],
    }
    paths = [path for group in sets.values() for path in group]
    variants = Variants(paths)
    with variants.pipeline() as calls:
        for call in calls.values():
            call(paths[0])
    runs: list[dict[str, dict[Path, float]]] = []
    for repeat in range(args.repeats):
        order = VARIANTS[repeat % 3 :] + VARIANTS[: repeat % 3]
        seconds: dict[str, dict[Path, float]] = {variant: {} for variant in VARIANTS}
        with variants.pipeline() as calls:
            for path in paths:
                for variant in order:
                    mark = perf_counter()
                    calls[variant](path)
                    seconds[variant][path] = perf_counter() - mark
        runs.append(seconds)
        print(f"repeat {repeat + 1}/{args.repeats} done", file=sys.stderr)
    print(_table(runs, sets, variants.label))
    print(f"\nMedian of {args.repeats} repeats; took {perf_counter() - started:.0f} s.")
    print(f"Command: `{shlex.join([sys.executable, *sys.argv])}`")


def _arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--images", type=int, default=8, metavar="N", help="images from each set")
    parser.add_argument("--repeats", type=int, default=5, metavar="R")
    return parser


def _table(runs: list[dict[str, dict[Path, float]]], sets: dict[str, list[Path]], label: str) -> str:
    groups = {"all": [path for group in sets.values() for path in group], **sets}

    def median(variant: str, paths: list[Path]) -> float:
        return statistics.median(sum(run[variant][p] for p in paths) / len(paths) for run in runs)

    header = "| variant | timed | " + " | ".join(f"s/img {g} ({len(p)})" for g, p in groups.items())
    lines = [header + " | x raw |", "|---" * (len(groups) + 3) + "|"]
    raw = median("raw", groups["all"])
    for variant in VARIANTS:
        cells = [f"{median(variant, paths):.3f}" for paths in groups.values()]
        ratio = median(variant, groups["all"]) / raw
        lines.append(f"| {variant} ({label}) | {WHAT[variant]} | {' | '.join(cells)} | {ratio:.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
