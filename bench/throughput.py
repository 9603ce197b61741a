"""Images per minute with every core busy: how worker processes and engine threads should split the cores.

    python bench/throughput.py [--engine NAME]... [--workers 1,2] [--threads 1,2] [--images N]
                               [--repeats R] [--json OUT]

A hot folder's steady state, for each engine and each (workers W, threads T): W worker processes on
the spawn context, as ocrwatch's daemon starts them, each loading its engine once and warming it up on
an image outside the timed set. The timed part hands the pool N images (receipts and photos in turn)
and runs from the first submit to the last result; each worker decodes its image from the path, as
the daemon's workers do, so decoding is timed too. Engines: ocrwatch's by config name (`rapidocr`,
`tesseract`) with `threads: T`, and `rapidocr-defaults` (RapidOCR's shipped config, T onnxruntime
threads). Threads 0 leaves the library's own default.

Every repeat runs every configuration once, each in a fresh pool, in an order rotating between
repeats, so that drift in the machine's load hits all alike; the table gives the median over repeats.
Figures taken on a busy machine say little: the load average is printed with them.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import shlex
import statistics
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from itertools import zip_longest
from pathlib import Path
from threading import Barrier
from time import perf_counter

import numpy as np

from bench import datasets
from bench.readers import RAPIDOCR_DEFAULTS, RapidOcrDefaults

DEFAULT_ENGINES = ("rapidocr", "tesseract")
ENGINES = (*DEFAULT_ENGINES, RAPIDOCR_DEFAULTS)
BUSY_LOAD_PER_CORE = 0.5
"""A 1-minute load average above this per core at the start means someone else is using the cores."""


@dataclass(frozen=True, slots=True)
class Config:
    engine: str
    workers: int
    threads: int


@dataclass(frozen=True, slots=True)
class Pass:
    """One timed read of the whole set by one fresh pool."""

    config: Config
    label: str
    wall: float
    busy: list[float]
    """Seconds each image held its worker (decode and read), in submission order."""
    peak_rss_mb: dict[int, float]
    """Peak resident memory of each worker process, by pid."""

    @property
    def per_minute(self) -> float:
        return 60 * len(self.busy) / self.wall


@dataclass(frozen=True, slots=True)
class Row:
    config: Config
    label: str
    per_minute: float
    ratio: float | None
    """To the best 1-worker configuration of the same engine; None when no 1-worker one ran."""
    seconds_per_image: float
    peak_rss_mb: float


def main(argv: Sequence[str] | None = None) -> None:
    parser = _arguments()
    args = parser.parse_args(argv)
    if 0 in args.workers or args.images < 1:
        parser.error("--workers and --images need at least 1")
    started = perf_counter()
    cpus = os.cpu_count() or 1
    load_start = os.getloadavg()
    busy_note = _busy_note(load_start[0], cpus)
    if busy_note:
        print(busy_note, file=sys.stderr)
    receipts = datasets.sroie((args.images + 1) // 2 + 1)
    photos = datasets.icdar2015(args.images // 2)
    warmup, receipts = receipts[-1].image, receipts[:-1]
    paths = [s.image for pair in zip_longest(receipts, photos) for s in pair if s is not None]
    engines = args.engine or DEFAULT_ENGINES
    configs = [Config(e, w, t) for e in engines for w in args.workers for t in args.threads]
    passes: list[Pass] = []
    for repeat in range(args.repeats):
        shift = repeat * len(configs) // args.repeats
        for config in configs[shift:] + configs[:shift]:
            passes.append(_timed_pass(config, paths, warmup))
            figure = f"{passes[-1].per_minute:.1f} images/min"
            print(f"repeat {repeat + 1}/{args.repeats}, {config}: {figure}", file=sys.stderr)
    load_end = os.getloadavg()
    command = _command()
    print(_table(summarise(configs, passes)))
    print(
        f"\n{len(paths)} images ({len(receipts)} SROIE receipts, {len(photos)} ICDAR 2015 photos), each "
        f"decoded in its worker; median of {args.repeats} repeats.\n"
        "s/img per worker: mean seconds an image holds a worker (decode and read). "
        "Peak RSS: the largest worker's.\n"
        f"os.cpu_count() = {cpus}; load average (1/5/15 min) {_load(load_start)} at start, "
        f"{_load(load_end)} at end; took {perf_counter() - started:.0f} s."
    )
    if busy_note:
        print(busy_note)
    print(f"Command: `{command}`")
    if args.json:
        report = {
            "command": command,
            "cpu_count": cpus,
            "loadavg_start": load_start,
            "loadavg_end": load_end,
            "images": [str(path) for path in paths],
            "warmup": str(warmup),
            "passes": [asdict(p) | {"images_per_minute": p.per_minute} for p in passes],
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1), encoding="utf-8")


def _arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument(
        "--engine", action="append", choices=ENGINES, help="repeat for more (default: rapidocr, tesseract)"
    )
    parser.add_argument("--workers", type=counts, default=[1, 2], metavar="1,2", help="worker processes")
    parser.add_argument(
        "--threads", type=counts, default=[1, 2], metavar="1,2", help="threads per worker; 0: the library's"
    )
    parser.add_argument("--images", type=int, default=16, metavar="N", help="half receipts, half photos")
    parser.add_argument("--repeats", type=int, default=3, metavar="R")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write every pass's figures here")
    return parser


def counts(text: str) -> list[int]:
    """`1,2` -> [1, 2]: the values of a comma-separated option, each a whole number >= 0."""
    try:
        values = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None
    if any(value < 0 for value in values):
        raise argparse.ArgumentTypeError(f"expected numbers >= 0, got {text!r}")
    return values


def _timed_pass(config: Config, paths: list[Path], warmup: Path) -> Pass:
    """A fresh pool: every worker loaded and warmed up before the clock starts, then the whole set."""
    context = multiprocessing.get_context("spawn")
    # Each ready task waits for all the others, so each lands on its own worker, and the pool (which
    # on spawn starts workers as tasks arrive) has started them all before the timed part.
    barrier = context.Barrier(config.workers)
    with ProcessPoolExecutor(
        config.workers,
        mp_context=context,
        initializer=_start,
        initargs=(config.engine, config.threads, warmup, barrier),
    ) as pool:
        ready = [future.result() for future in [pool.submit(_ready) for _ in range(config.workers)]]
        started = perf_counter()
        results = list(pool.map(_read, paths))
        wall = perf_counter() - started
    peaks: dict[int, float] = {}
    for _seconds, pid, peak in results:
        peaks[pid] = max(peak, peaks.get(pid, 0.0))
    return Pass(config, ready[0][1], wall, [seconds for seconds, _, _ in results], peaks)


def summarise(configs: list[Config], passes: list[Pass]) -> list[Row]:
    """A row per configuration: medians over its passes, and its ratio to its engine's best 1-worker."""
    rows = []
    for config in configs:
        mine = [p for p in passes if p.config == config]
        per_minute = statistics.median(p.per_minute for p in mine)
        seconds = statistics.median(statistics.fmean(p.busy) for p in mine)
        peak = max(max(p.peak_rss_mb.values()) for p in mine)
        rows.append(Row(config, mine[0].label, per_minute, None, seconds, peak))
    best = {}
    for row in rows:
        if row.config.workers == 1:
            best[row.config.engine] = max(row.per_minute, best.get(row.config.engine, 0.0))
    return [
        replace(row, ratio=row.per_minute / best[row.config.engine]) if row.config.engine in best else row
        for row in rows
    ]


def _table(rows: list[Row]) -> str:
    lines = [
        "| engine | workers | threads/worker | images/min (median) | x best 1-worker | s/img per worker "
        "| peak RSS/worker MB |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        ratio = "-" if row.ratio is None else f"{row.ratio:.2f}"
        threads = row.config.threads or "default"
        lines.append(
            f"| {row.label} | {row.config.workers} | {threads} | {row.per_minute:.1f} | {ratio} "
            f"| {row.seconds_per_image:.2f} | {row.peak_rss_mb:.0f} |"
        )
    return "\n".join(lines)


def _busy_note(load: float, cpus: int) -> str | None:
    if load <= BUSY_LOAD_PER_CORE * cpus:
        return None
    return f"Warning: 1-minute load average {load:.2f} on {cpus} cores at start: figures taken under load."


def _load(load: tuple[float, float, float]) -> str:
    return " / ".join(f"{value:.2f}" for value in load)


def _command() -> str:
    """The command line, with the environment variables that change what it reads or runs."""
    env = [f"{key}={os.environ[key]}" for key in ("PYTHONPATH", "OCRWATCH_DATA") if key in os.environ]
    return shlex.join([*env, sys.executable, *sys.argv])


# In the worker processes: the engine each loaded, and the barrier the ready tasks meet at.
_reader: Callable[[np.ndarray], object]
_label: str
_barrier: Barrier


def _start(engine: str, threads: int, warmup: Path, barrier: Barrier) -> None:
    global _reader, _label, _barrier
    _reader, _label = _open(engine, threads)
    _barrier = barrier
    _reader(datasets.load_rgb(warmup))


def _open(name: str, threads: int) -> tuple[Callable[[np.ndarray], object], str]:
    if name == RAPIDOCR_DEFAULTS:
        defaults = RapidOcrDefaults(threads)
        return defaults.read, defaults.label
    from ocrwatch.config import Settings
    from ocrwatch.engines import create_engine

    engines = Settings().engines
    settings = engines.model_copy(
        update={
            "rapidocr": engines.rapidocr.model_copy(update={"threads": threads}),
            "tesseract": engines.tesseract.model_copy(update={"threads": threads}),
        }
    )
    engine = create_engine(name, settings)
    return engine.read, f"{engine.name} {engine.version}"


def _ready() -> tuple[int, str]:
    _barrier.wait()
    return os.getpid(), _label


def _read(path: Path) -> tuple[float, int, float]:
    """Decode and read one image; its seconds, the worker's pid and its peak RSS in MB so far."""
    started = perf_counter()
    _reader(datasets.load_rgb(path))
    seconds = perf_counter() - started
    return seconds, os.getpid(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()
