"""A large index fast: pages made of real receipt lines, inserted in bulk through ocrwatch's own tables.

Each page is one SROIE receipt's transcript (`sroie/box/NNN.csv`), its lines in order, with OCR-like
errors sprinkled over its words (`0` for `O`, `1` for `l`, a letter dropped...) so that the index's
vocabulary grows as a real one does, with many rare misreadings. Rows go in through the same tables
and triggers as a document that was read (SQLite's pages_fts is filled by its triggers, PostgreSQL's
generated `fts` column as each page goes in), without OCR: a 100,000-page index takes a few minutes.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Table, insert

from bench import datasets
from ocrwatch.index import database
from ocrwatch.index.search import terms
from ocrwatch.index.search.query import fold
from ocrwatch.index.tables import documents, files, lines, pages, words

ROOTS = ("/srv/scans/invoices", "/srv/scans/receipts", "/srv/scans/letters")
SUFFIXES = (".jpg", ".pdf", ".png")
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
CONFUSIONS = {"o": "0", "O": "0", "l": "1", "I": "l", "i": "l", "S": "5", "B": "8", "e": "c", "rn": "m"}
ERROR_RATE = 0.04
"""The share of words misread: about what RapidOCR gets wrong on receipts (word F1 0.86)."""


@dataclass(frozen=True, slots=True)
class SourceLine:
    text: str
    box: str
    words: list[tuple[str, str]]
    """Each word with its box as JSON text, cut from the line's box in proportion to its length."""


@dataclass
class Corpus:
    """What was inserted, for choosing queries: how many pages hold each token."""

    pages: int
    frequency: Counter[str]


def receipts() -> list[list[SourceLine]]:
    """Every SROIE receipt's lines, with word boxes cut from the line boxes."""
    return [[_line(truth.text, truth.box) for truth in sample.truth] for sample in datasets.sroie()]


def build(engine: Engine, count: int, seed: int = 0, batch: int = 2000) -> Corpus:
    """Insert `count` one-page documents into the index at `engine`, one transaction per `batch`."""
    sources = receipts()
    chance = random.Random(seed)
    frequency: Counter[str] = Counter()
    for start in range(0, count, batch):
        chunk = [_page(chance, chance.choice(sources)) for _ in range(min(batch, count - start))]
        for _, text in chunk:
            frequency.update(set(fold(text)))
        with database.writer(engine).begin() as connection:
            _insert(connection, start, chunk)
    return Corpus(count, frequency)


def _insert(connection: Connection, start: int, chunk: list[tuple[list[SourceLine], str]]) -> None:
    ids = range(start + 1, start + len(chunk) + 1)
    connection.execute(
        insert(documents),
        [
            {
                "id": number,
                "sha256": f"{number:064x}",
                "engine": "bench",
                "engine_version": "0",
                "page_count": 1,
                "ocr_seconds": 1.0,
                "timings": "{}",
                "created_at": EPOCH + timedelta(minutes=number * 5),
            }
            for number in ids
        ],
    )
    connection.execute(
        insert(files),
        [
            {
                "id": number,
                "path": f"{ROOTS[number % 3]}/{number // 1000:03d}/scan{number:06d}{SUFFIXES[number % 3]}",
                "root": ROOTS[number % 3],
                "status": "done",
                "document_id": number,
                "sha256": f"{number:064x}",
                "created_at": EPOCH,
                "updated_at": EPOCH,
            }
            for number in ids
        ],
    )
    connection.execute(
        insert(pages),
        [
            {"id": number, "document_id": number, "number": 1, "width": 800, "height": 2900, "text": text}
            for number, (_, text) in zip(ids, chunk, strict=True)
        ],
    )
    terms.record(connection, [text for _, text in chunk])
    line_rows: list[tuple[Any, ...]] = []
    word_rows: list[tuple[Any, ...]] = []
    for number, (page_lines, _) in zip(ids, chunk, strict=True):
        counter = 0
        for line_number, line in enumerate(page_lines):
            line_rows.append((number, line_number, line.text, 0.9, line.box))
            for text, box in line.words:
                word_rows.append((number, counter, line_number, text, 0.9, box))
                counter += 1
    _bulk(connection, lines, ("page_id", "number", "text", "score", "box"), line_rows)
    _bulk(connection, words, ("page_id", "number", "line_number", "text", "score", "box"), word_rows)


def _bulk(connection: Connection, table: Table, names: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """Insert `rows` with the driver's own bulk path (SQLite's executemany, PostgreSQL's COPY):
    SQLAlchemy's would spend more time building parameters than the database spends inserting the
    millions of lines and words."""
    columns = ", ".join(names)
    if connection.dialect.name == "postgresql":
        driver = connection.connection.driver_connection
        assert driver is not None
        with driver.cursor() as cursor, cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" * len(names))
    connection.exec_driver_sql(f"INSERT INTO {table.name} ({columns}) VALUES ({marks})", rows)


def _page(chance: random.Random, source: list[SourceLine]) -> tuple[list[SourceLine], str]:
    """The receipt's lines with some words misread, and the page's text."""
    page_lines = [
        SourceLine(" ".join(text for text, _ in words), line.box, words)
        for line in source
        for words in [[(_misread(chance, text), box) for text, box in line.words]]
    ]
    return page_lines, "\n".join(line.text for line in page_lines)


def _misread(chance: random.Random, word: str) -> str:
    if chance.random() >= ERROR_RATE or len(word) < 3:
        return word
    wrong = [(a, b) for a, b in CONFUSIONS.items() if a in word]
    if wrong and chance.random() < 0.7:
        a, b = chance.choice(wrong)
        return word.replace(a, b, 1)
    at = chance.randrange(len(word))
    return word[:at] + word[at + 1 :]


def _line(text: str, box: tuple[tuple[float, float], ...]) -> SourceLine:
    (x1, y1), (x2, _), _, (_, y4) = box
    pieces = text.split()
    total = max(1, sum(len(piece) + 1 for piece in pieces))
    cut, x = [], x1
    for piece in pieces:
        width = (x2 - x1) * (len(piece) + 1) / total
        corners = [[x, y1], [x + width, y1], [x + width, y4], [x, y4]]
        cut.append((piece, json.dumps([[round(a), round(b)] for a, b in corners])))
        x += width
    return SourceLine(text, json.dumps([[round(a), round(b)] for a, b in box]), cut)


def tokens_by_frequency(corpus: Corpus, low: int, high: int, length: int = 4) -> Iterator[str]:
    """Alphabetic tokens of `length` letters or more held by between `low` and `high` pages."""
    for token, count in sorted(corpus.frequency.items()):
        if low <= count <= high and len(token) >= length and token.isalpha():
            yield token
