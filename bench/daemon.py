"""The daemon as users meet it: receipts dropped into a watched folder, until their text is searchable.

    python bench/daemon.py [--files N] [--workers 1 2] [--settle S]

For each worker count: start `ocrwatch run` on a fresh temporary folder, read one receipt to warm the
engines up, then copy N receipts from the SROIE set into the watched folder at once. The index is
polled every 50 ms: a file counts as searchable the moment its row is `done` (its pages and their
full-text rows are committed in the same transaction). Throughput is N over the time from the first
drop to the last file searchable; latency is per file, from its copy to searchable, and includes
`settle_seconds` (default 2) and the time spent waiting behind the rest of the burst.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bench import datasets
from ocrwatch.index.dialects.sqlite_driver import sqlite3

REPO = Path(__file__).resolve().parents[1]


def run(receipts: list[Path], warm_up: Path, workers: int, settle: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="ocrwatch-bench-") as folder:
        root = Path(folder)
        inbox = root / "inbox"
        inbox.mkdir()
        config = {
            "output": "out",
            "workers": workers,
            "settle_seconds": settle,
            "watch": [{"folder": "inbox"}],
        }
        (root / "config.yaml").write_text(yaml.safe_dump(config))
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        log = (root / "run.log").open("wb")
        daemon = subprocess.Popen(
            [sys.executable, "-m", "ocrwatch", "run", "--config", "config.yaml"],
            cwd=root,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        try:
            database = root / "out" / "index.db"
            shutil.copy(warm_up, inbox / "warm-up.jpg")
            _wait_done(database, {str(inbox / "warm-up.jpg")}, {})
            dropped: dict[str, float] = {}
            for path in receipts:
                target = inbox / path.name
                shutil.copy(path, target)
                dropped[str(target)] = time.time()
            searchable: dict[str, float] = {}
            _wait_done(database, set(dropped), searchable)
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(120)
            log.close()
    latencies = sorted(searchable[path] - dropped[path] for path in dropped)
    elapsed = max(searchable.values()) - min(dropped.values())
    return {
        "per_minute": len(receipts) / elapsed * 60,
        "median": statistics.median(latencies),
        "p90": latencies[max(0, round(0.9 * len(latencies)) - 1)],
        "elapsed": elapsed,
    }


def _wait_done(database: Path, paths: set[str], seen: dict[str, float], timeout: float = 1800) -> None:
    """Poll the index until every path in `paths` is done, noting when each was first seen done."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if database.exists():
            try:
                with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as connection:
                    rows = connection.execute("SELECT path, status FROM files").fetchall()
            except sqlite3.OperationalError:  # still being created and migrated
                rows = []
            now = time.time()
            for path, status in rows:
                if path in paths and status in ("done", "duplicate", "failed"):
                    seen.setdefault(path, now)
            if paths <= seen.keys():
                return
        time.sleep(0.05)
    raise TimeoutError(f"{len(paths - seen.keys())} files not read after {timeout} s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=40, help="receipts to drop (at most 99)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--settle", type=float, default=2.0, help="settle_seconds")
    args = parser.parse_args()
    samples = datasets.sroie()
    receipts, warm_up = [sample.image for sample in samples[: args.files]], samples[-1].image
    print(f"$ {shlex.join(['python', 'bench/daemon.py', *sys.argv[1:]])}")
    print(
        f"{len(receipts)} SROIE receipts dropped at once; "
        f"settle_seconds {args.settle:g}; {os.cpu_count()} cores"
    )
    print()
    print("| workers | files/min | drop → searchable, median | p90 | burst took |")
    print("|--:|--:|--:|--:|--:|")
    for workers in args.workers:
        result = run(receipts, warm_up, workers, args.settle)
        print(
            f"| {workers} | {result['per_minute']:.1f} | {result['median']:.1f} s | {result['p90']:.1f} s "
            f"| {result['elapsed']:.1f} s |",
            flush=True,
        )


if __name__ == "__main__":
    main()
