"""Search speed on a large index: `Index.search` against the same ranked query sent straight to FTS5.

    PYTHONPATH=$PWD .venv/bin/python bench/search.py [--pages 100000] [--queries 20] [--repeats 5]

Builds an index of `--pages` one-page documents in a temporary folder (`bench/search_corpus.py`:
real SROIE receipt lines with OCR-like errors, inserted in bulk through ocrwatch's tables and
triggers), picks `--queries` queries of each kind from what it inserted, and times each query
`--repeats` times, the kinds and both searches interleaved so that drift in the machine's load hits
all alike:

- `ocrwatch`: `Index.search(query)` as the CLI, the API and the page call it (20 hits: snippets,
  paths, matching words with boxes, fuzzy variants when the exact hits do not fill the page);
- `exact`: the same with `exact=True`;
- `fts5`: `SELECT rowid, rank FROM pages_fts WHERE pages_fts MATCH ? ORDER BY rank LIMIT 20` on
  a plain sqlite3 connection, the expression ocrwatch sends.

Prints p50/p95 in milliseconds per kind and the ratio of ocrwatch's p50 to FTS5's. Nothing is kept.
"""

from __future__ import annotations

import argparse
import os
import random
import shlex
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench import search_corpus
from bench.search_corpus import Corpus
from ocrwatch.index import Index, database
from ocrwatch.index.dialects.sqlite import match_expression
from ocrwatch.index.search.query import parse

RAW = (
    "SELECT rowid, bm25(pages_fts) AS rank FROM pages_fts WHERE pages_fts MATCH ?"
    " ORDER BY rank, rowid LIMIT 20"
)
KINDS = ("rare word", "common word", "phrase", "two words", "3-letter prefix", "fuzzy word")


def main(argv: Sequence[str] | None = None) -> None:
    args = _arguments().parse_args(argv)
    print("$", "PYTHONPATH=$PWD .venv/bin/python bench/search.py", shlex.join(argv or sys.argv[1:]))
    print(f"load average {' '.join(f'{load:.2f}' for load in os.getloadavg())}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="ocrwatch-bench-search-") as folder:
        path = Path(folder) / "index.db"
        corpus = _build(path, args.pages, args.seed)
        queries = choose(corpus, args.queries, random.Random(args.seed))
        with Index(f"sqlite:///{path}") as index, sqlite3.connect(path) as raw:
            started = time.perf_counter()
            index.search("vocabularyloadedonce")
            (terms,) = raw.execute("SELECT count(*) FROM terms").fetchone()
            print(f"first fuzzy search (loads the {terms:,} terms into memory): {_ms(started):.0f} ms")
            timings = _measure(index, raw, queries, args.repeats)
    _report(queries, timings)


def _build(path: Path, count: int, seed: int) -> Corpus:
    started = time.perf_counter()
    engine = database.connect(f"sqlite:///{path}")
    try:
        corpus = search_corpus.build(engine, count, seed)
    finally:
        engine.dispose()
    size = path.stat().st_size
    print(f"built {count:,} pages in {time.perf_counter() - started:.0f} s ({size / 1e6:,.0f} MB)")
    return corpus


def choose(corpus: Corpus, count: int, chance: random.Random) -> dict[str, list[str]]:
    """`count` queries of each kind, drawn from how many pages hold each token."""
    share = corpus.pages
    rare = list(search_corpus.tokens_by_frequency(corpus, 1, 5, length=5))
    common = list(search_corpus.tokens_by_frequency(corpus, share // 5, share))
    middle = list(search_corpus.tokens_by_frequency(corpus, share // 200, share // 20))
    lines = [line for receipt in search_corpus.receipts() for line in receipt if len(line.words) >= 2]
    phrases = []
    while len(phrases) < count:
        words = chance.choice(lines).words
        at = chance.randrange(len(words) - 1)
        phrases.append(f'"{words[at][0]} {words[at + 1][0]}"')
    real = list(search_corpus.tokens_by_frequency(corpus, 50, share, length=6))
    misread = []
    while len(misread) < count:
        word = chance.choice(real)
        at = chance.randrange(len(word))
        wrong = word[:at] + chance.choice("aeioux") + word[at + 1 :]
        if wrong not in corpus.frequency:
            misread.append(wrong)
    return {
        "rare word": _sample(chance, rare, count),
        "common word": _sample(chance, common, count),
        "phrase": phrases,
        "two words": [" ".join(chance.sample(middle, 2)) for _ in range(count)],
        "3-letter prefix": [f"{word[:3]}*" for word in _sample(chance, common, count)],
        "fuzzy word": misread,
    }


def _sample(chance: random.Random, pool: list[str], count: int) -> list[str]:
    return [chance.choice(pool) for _ in range(count)] if len(pool) < count else chance.sample(pool, count)


def _measure(
    index: Index, raw: sqlite3.Connection, queries: dict[str, list[str]], repeats: int
) -> dict[tuple[str, str], list[float]]:
    searches: dict[str, Callable[[str], object]] = {
        "ocrwatch": index.search,
        "exact": lambda query: index.search(query, exact=True),
        "fts5": lambda query: raw.execute(RAW, (match_expression(parse(query)),)).fetchall(),
    }
    for kind in KINDS:  # warm the page cache and the statement caches
        for query in queries[kind]:
            for search in searches.values():
                search(query)
    timings: dict[tuple[str, str], list[float]] = {}
    for _ in range(repeats):
        for position in range(max(map(len, queries.values()))):
            for kind in KINDS:
                query = queries[kind][position % len(queries[kind])]
                for name, search in searches.items():
                    started = time.perf_counter()
                    search(query)
                    timings.setdefault((kind, name), []).append(_ms(started))
    return timings


COLUMNS = (
    "query kind",
    "example",
    "ocrwatch p50",
    "p95",
    "exact p50",
    "p95",
    "FTS5 p50",
    "p95",
    "ocrwatch / FTS5, p50",
    "exact / FTS5, p50",
)


def _report(queries: dict[str, list[str]], timings: dict[tuple[str, str], list[float]]) -> None:
    print()
    print("| " + " | ".join(COLUMNS) + " |")
    print("|---|---|" + "--:|" * (len(COLUMNS) - 2))
    for kind in KINDS:
        ours, exact, fts5 = (_percentiles(timings[kind, name]) for name in ("ocrwatch", "exact", "fts5"))
        cells = [kind, f"`{queries[kind][0]}`", *(f"{value:.1f}" for value in (*ours, *exact, *fts5))]
        cells += [f"{ours[0] / fts5[0]:.2f}", f"{exact[0] / fts5[0]:.2f}"]
        print("| " + " | ".join(cells) + " |")
    print("\n(milliseconds; each kind's figures over its queries times the repeats)")


def _percentiles(values: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(values, n=20, method="inclusive")
    return statistics.median(values), cuts[18]


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=100_000, help="pages to index (default 100,000)")
    parser.add_argument("--queries", type=int, default=20, help="queries of each kind (default 20)")
    parser.add_argument("--repeats", type=int, default=5, help="times each query is timed (default 5)")
    parser.add_argument("--seed", type=int, default=0)
    return parser


if __name__ == "__main__":
    main()
