"""Search speed on a large index, on SQLite and on PostgreSQL: `Index.search` against the same ranked
query sent straight to the database's full-text index.

    PYTHONPATH=$PWD .venv/bin/python bench/search.py [--pages 100000] [--queries 20] [--repeats 5]
                                                     [--database sqlite|postgresql|both]

Builds an index of `--pages` one-page documents on each database (`bench/search_corpus.py`: real
SROIE receipt lines with OCR-like errors, inserted in bulk through ocrwatch's tables; the same seed,
so the same pages on both; PostgreSQL is a server of the bench's own, `tests/postgres.py`, analysed
after the build as autovacuum would), picks `--queries` queries of each kind from what it inserted,
and times each query `--repeats` times, the kinds, the databases and the searches interleaved so
that drift in the machine's load hits all alike (which search of a query runs first rotates):

- `ocrwatch`: `Index.search(query)` as the CLI, the API and the page call it (20 hits: snippets,
  paths, matching words with boxes, fuzzy variants when the exact hits do not fill the page);
- `exact`: the same with `exact=True`;
- `raw`: the ranked query of the words, on a plain driver connection: on SQLite
  `SELECT rowid, bm25(pages_fts) ... MATCH ? ORDER BY rank LIMIT 20` (FTS5, through the same SQLite
  library as ocrwatch, `sqlite_driver`), on PostgreSQL
  `SELECT id, -ts_rank_cd(fts, q, 1) ... WHERE fts @@ q ORDER BY rank LIMIT 20` (the GIN index).
  On SQLite ocrwatch looks a lone phrase up in its word pairs instead (`dialects/sqlite_pairs.py`),
  so for phrases `raw` is what FTS5's own phrase search costs.

Prints p50/p95 in milliseconds per kind and database, the ratio of ocrwatch's p50 to the raw query's,
and with both databases PostgreSQL's p50 over SQLite's. Nothing is kept.
"""

from __future__ import annotations

import argparse
import os
import random
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from bench import search_corpus
from bench.search_corpus import Corpus
from ocrwatch.index import Index, database
from ocrwatch.index.dialects import postgresql
from ocrwatch.index.dialects.sqlite import match_expression
from ocrwatch.index.dialects.sqlite_driver import sqlite3
from ocrwatch.index.search.query import fold, parse
from tests.postgres import ROLE, PostgresServer

RAW_SQLITE = (
    "SELECT rowid, bm25(pages_fts) AS rank FROM pages_fts WHERE pages_fts MATCH ?"
    " ORDER BY rank, rowid LIMIT 20"
)
_TSQUERY = f"to_tsquery('{postgresql.CONFIG}', %(q)s)"
RAW_POSTGRESQL = (
    f"SELECT id, -ts_rank_cd(fts, {_TSQUERY}, 1) AS rank FROM pages WHERE fts @@ {_TSQUERY}"
    " ORDER BY rank, id LIMIT 20"
)
KINDS = ("rare word", "common word", "phrase", "two words", "3-letter prefix", "fuzzy word")
SEARCHES = ("ocrwatch", "exact", "raw")
NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


@dataclass
class Built:
    """One database's index, open, with a plain driver connection for the raw query."""

    name: str
    index: Index
    raw: Callable[[str], object]
    """Runs a query's raw ranked statement."""


def main(argv: Sequence[str] | None = None) -> None:
    args = _arguments().parse_args(argv)
    print("$", "PYTHONPATH=$PWD .venv/bin/python bench/search.py", shlex.join(argv or sys.argv[1:]))
    print(f"load average {' '.join(f'{load:.2f}' for load in os.getloadavg())}, {os.cpu_count()} cores")
    kinds = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ocrwatch-bench-search-")))
        built, corpus = [], None
        for kind in kinds:
            opened = (
                _sqlite(folder, args.pages, args.seed)
                if kind == "sqlite"
                else _postgresql(args.pages, args.seed)
            )
            one, corpus = stack.enter_context(opened)
            built.append(one)
        assert corpus is not None
        queries = choose(corpus, args.queries, random.Random(args.seed))
        for one in built:
            started = time.perf_counter()
            one.index.search("vocabularyloadedonce")
            print(f"{NAMES[one.name]}: first fuzzy search {_ms(started):.0f} ms")
        timings = _measure(built, queries, args.repeats)
    _report(queries, [one.name for one in built], timings)


@contextmanager
def _sqlite(folder: Path, pages: int, seed: int) -> Iterator[tuple[Built, Corpus]]:
    """The SQLite index: a file in `folder`; its terms are read into memory by the first fuzzy search."""
    path = folder / "index.db"
    url = f"sqlite:///{path}"
    corpus = _build("sqlite", url, pages, seed)
    print(f" ({path.stat().st_size / 1e6:,.0f} MB)")
    with Index(url) as index, sqlite3.connect(path) as connection:

        def raw(query: str) -> object:
            return connection.execute(RAW_SQLITE, (match_expression(parse(query)),)).fetchall()

        yield Built("sqlite", index, raw), corpus


@contextmanager
def _postgresql(pages: int, seed: int) -> Iterator[tuple[Built, Corpus]]:
    """A database on a PostgreSQL server of the bench's own, stopped and removed afterwards."""
    server = PostgresServer().start()
    try:
        name = server.create_database()
        corpus = _build("postgresql", server.url(name), pages, seed)
        with psycopg.connect(host=str(server.folder), user=ROLE, dbname=name, autocommit=True) as connection:
            connection.execute("VACUUM ANALYZE")
            (size,) = connection.execute("SELECT pg_database_size(current_database())").fetchone() or (0,)
            print(f" ({size / 1e6:,.0f} MB, vacuumed and analysed)")

            def raw(query: str) -> object:
                return connection.execute(RAW_POSTGRESQL, {"q": postgresql.tsquery(parse(query))}).fetchall()

            with Index(server.url(name)) as index:
                yield Built("postgresql", index, raw), corpus
    finally:
        server.stop()


def _build(kind: str, url: str, count: int, seed: int) -> Corpus:
    started = time.perf_counter()
    engine = database.connect(url)
    try:
        corpus = search_corpus.build(engine, count, seed)
    finally:
        engine.dispose()
    print(f"{NAMES[kind]}: built {count:,} pages in {time.perf_counter() - started:.0f} s", end="")
    return corpus


def choose(corpus: Corpus, count: int, chance: random.Random) -> dict[str, list[str]]:
    """`count` queries of each kind, drawn from how many pages hold each token."""
    share = corpus.pages
    rare = list(search_corpus.tokens_by_frequency(corpus, 1, 5, length=5))
    common = list(search_corpus.tokens_by_frequency(corpus, share // 5, share))
    middle = list(search_corpus.tokens_by_frequency(corpus, share // 200, share // 20))
    lines = [line for receipt in search_corpus.receipts() for line in receipt if len(line.words) >= 2]
    phrases = []
    while len(phrases) < count:  # two words that both hold a token: `"TOTAL :"` is the word `total`
        words = chance.choice(lines).words
        at = chance.randrange(len(words) - 1)
        if fold(words[at][0]) and fold(words[at + 1][0]):
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
    built: list[Built], queries: dict[str, list[str]], repeats: int
) -> dict[tuple[str, str, str], list[float]]:
    """Milliseconds by (kind, database, search). The searches of one query run one after another, and
    the first of them in a turn that moves on each time: a search that runs right after another one
    of the same query finds its pages in SQLite's cache and the CPU's (measured 1.5-2 ms faster for a
    common word), and a fixed order gave that to `raw` every time."""
    searches: dict[tuple[str, str], Callable[[str], object]] = {}
    for one in built:
        searches[one.name, "ocrwatch"] = one.index.search
        searches[one.name, "exact"] = lambda query, index=one.index: index.search(query, exact=True)
        searches[one.name, "raw"] = one.raw
    for kind in KINDS:  # warm the page caches and the statement caches
        for query in queries[kind]:
            for search in searches.values():
                search(query)
    timings: dict[tuple[str, str, str], list[float]] = {}
    order = list(searches.items())
    for repeat in range(repeats):
        for position in range(max(map(len, queries.values()))):
            for kind in KINDS:
                query = queries[kind][position % len(queries[kind])]
                turn = (repeat + position) % len(order)  # who runs first changes: see _measure's docstring
                for (name, how), search in order[turn:] + order[:turn]:
                    started = time.perf_counter()
                    search(query)
                    timings.setdefault((kind, name, how), []).append(_ms(started))
    return timings


COLUMNS = (
    "query kind",
    "example",
    "ocrwatch p50",
    "p95",
    "exact p50",
    "p95",
    "raw p50",
    "p95",
    "ocrwatch / raw, p50",
    "exact / raw, p50",
)


def _report(
    queries: dict[str, list[str]], names: list[str], timings: dict[tuple[str, str, str], list[float]]
) -> None:
    for name in names:
        raw = "FTS5" if name == "sqlite" else "tsquery with GIN"
        print(f"\n{NAMES[name]} (raw: {raw})\n")
        print("| " + " | ".join(COLUMNS) + " |")
        print("|---|---|" + "--:|" * (len(COLUMNS) - 2))
        for kind in KINDS:
            ours, exact, alone = (_percentiles(timings[kind, name, how]) for how in SEARCHES)
            cells = [kind, f"`{queries[kind][0]}`", *(f"{value:.1f}" for value in (*ours, *exact, *alone))]
            cells += [f"{ours[0] / alone[0]:.2f}", f"{exact[0] / alone[0]:.2f}"]
            print("| " + " | ".join(cells) + " |")
    if len(names) == 2:
        print("\nPostgreSQL's p50 over SQLite's\n")
        print("| query kind | ocrwatch | exact | raw |")
        print("|---|--:|--:|--:|")
        for kind in KINDS:
            ratios = [
                statistics.median(timings[kind, "postgresql", how])
                / statistics.median(timings[kind, "sqlite", how])
                for how in SEARCHES
            ]
            print(f"| {kind} | " + " | ".join(f"{ratio:.2f}" for ratio in ratios) + " |")
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
    parser.add_argument(
        "--database", choices=("sqlite", "postgresql", "both"), default="both", help="(default both)"
    )
    return parser


if __name__ == "__main__":
    main()
