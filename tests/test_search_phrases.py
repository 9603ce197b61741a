"""Phrases: found by their words side by side and in order, on both databases; on SQLite through the
word pairs table (`dialects/sqlite_pairs.py`), which must find and rank what FTS5's own phrase
search finds, and stay in step with the pages through inserts, replacements and migrations."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config

from ocrwatch.index import Index, Sort, dialects
from ocrwatch.index import database as index_database
from ocrwatch.index.dialects.sqlite import match_expression
from ocrwatch.index.dialects.sqlite_driver import sqlite3
from ocrwatch.index.search.query import parse
from tests.test_index import assert_fulltext_in_sync, document, page, record

PAGES = {
    "side by side": "TAX INVOICE NO 1",
    "reversed": "INVOICE TAX",
    "across lines": "GST TAX\nINVOICE 2",
    "longer word": "TAX INVOICES",
    "price": "TOTAL RM 65.20",
    "other price": "TOTAL RM 65.21",
    "spaced price": "TOTAL RM 65 20 CASH",
    "accents": "Café Crème 3.50",
}


@pytest.fixture
def index(index_url: str):
    with Index(index_url) as opened:
        for name, text in PAGES.items():
            record(opened, f"inbox/{name}.jpg", document(page(*text.split("\n")), source=f"inbox/{name}.jpg"))
        yield opened


def names(index: Index, query: str) -> set[str]:
    return {Path(hit.path).stem for hit in index.search(query, exact=True)}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('"tax invoice"', {"side by side", "across lines"}),
        ('"tax inv"*', {"side by side", "across lines", "longer word"}),
        ('"rm 65.20"', {"price", "spaced price"}),  # 65.20 is two tokens, as the tokenizer splits it
        ("65.20", {"price", "spaced price"}),  # a word of two tokens is a phrase too
        ('"total rm 65.2"*', {"price", "other price", "spaced price"}),
        ('"cafe creme"', {"accents"}),
        ('"CRÈME 3.50"', {"accents"}),
        ('"invoice tax"', {"reversed"}),
        ('"tax invoice" gst', {"across lines"}),  # a phrase beside a word: the words' index
        ('"tax invoice" OR "invoice tax"', {"side by side", "across lines", "reversed"}),
    ],
)
def test_a_phrase_finds_its_words_side_by_side_and_in_order(index: Index, query: str, expected: set[str]):
    assert names(index, query) == expected


def test_a_phrase_highlights_its_words(index: Index):
    marked = {Path(hit.path).stem: [word.text for word in hit.matched] for hit in index.search('"rm 65.20"')}
    assert marked == {"price": ["RM", "65.20"], "spaced price": ["RM", "65", "20"]}


@pytest.fixture
def receipts_index(tmp_path: Path) -> tuple[Index, str]:
    """200 one-page receipts on SQLite, drawn from a small vocabulary so that phrases repeat."""
    url = f"sqlite:///{tmp_path / 'index.db'}"
    chance = random.Random(7)
    vocabulary = ["TOTAL", "RM", "TAX", "INVOICE", "GST", "CASH", "CHANGE", "65.20", "0.10", "QTY", "1", "2"]
    index = Index(url)
    for number in range(200):
        rows = [
            " ".join(chance.choices(vocabulary, k=chance.randint(2, 9))) for _ in range(chance.randint(1, 6))
        ]
        record(index, f"inbox/{number}.jpg", document(page(*rows), source=f"inbox/{number}.jpg"))
    return index, url


@pytest.mark.parametrize(
    "phrase", ['"tax invoice"', '"rm 65.20"', '"total rm"', '"cash change"', '"rm 65.20 tax"', '"tax inv"*']
)
def test_pairs_find_and_rank_a_phrase_as_the_words_index_does(receipts_index: tuple[Index, str], phrase: str):
    index, url = receipts_index
    ours = [hit.document_id for hit in index.search(phrase, limit=100, exact=True)]
    with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
        words = connection.execute(
            "SELECT p.document_id FROM pages_fts JOIN pages p ON p.id = pages_fts.rowid"
            " WHERE pages_fts MATCH ? ORDER BY bm25(pages_fts), pages_fts.rowid LIMIT 100",
            (match_expression(parse(phrase)),),
        ).fetchall()
    index.close()
    assert len(ours) > 3
    assert ours == [document_id for (document_id,) in words]


def test_pairs_stay_in_step_when_a_document_is_read_again_and_through_the_migrations(
    receipts_index: tuple[Index, str],
):
    index, url = receipts_index
    again = document(page("TAX INVOICE 9", "RM 65.20"), source="inbox/again.jpg")
    record(index, "inbox/again.jpg", again)
    record(index, "inbox/again-copy.jpg", again)  # the same content: its pages are replaced
    index.close()
    assert_fulltext_in_sync(url)

    engine = dialects.create_engine(url)
    for target in ("0009", "head"):  # without the pairs table, then built from the pages there
        with index_database.writer(engine).begin() as connection:
            config = Config()
            config.set_main_option("script_location", index_database.MIGRATIONS)
            config.attributes["connection"] = connection
            (command.downgrade if target == "0009" else command.upgrade)(config, target)
    engine.dispose()
    assert_fulltext_in_sync(url)
    with Index(url) as reopened:
        assert "again" in {Path(hit.path).stem for hit in reopened.search('"tax invoice 9"')}


def test_a_lone_phrase_is_answered_by_the_pairs_and_everything_else_by_the_words(
    receipts_index: tuple[Index, str],
):
    index, url = receipts_index
    assert index.search('"tax invoice"') and index.search("tax invoice")
    with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
        connection.execute("INSERT INTO pages_pairs (pages_pairs) VALUES ('delete-all')")
    assert index.search('"tax invoice"') == []
    assert index.search("tax invoice") and index.search('"tax invoice" gst')
    index.close()


@pytest.mark.parametrize(
    ("query", "marked"),
    [
        ('"tax invoice"', ["TAX", "INVOICE"]),  # the phrase, not the lone TAX and INVOICE below it
        ('"tax inv"*', ["TAX", "INVOICE"]),
        ('"tax invoice" 5', ["TAX", "INVOICE", "5"]),
        ("tax", ["TAX", "TAX"]),
        ('"invoice no 1"', ["INVOICE", "NO", "1"]),
        ('"1 tax"', ["1", "TAX"]),  # across the line's end, as the full-text index matches it
    ],
)
def test_a_phrase_marks_its_instances_only(index_url: str, query: str, marked: list[str]):
    with Index(index_url) as index:
        record(
            index,
            "inbox/two.jpg",
            document(page("TAX INVOICE NO 1", "TAX 5 INVOICE"), source="inbox/two.jpg"),
        )
        [hit] = index.search(query, exact=True)
        assert [word.text for word in hit.matched] == marked
        assert " ".join(" ".join(text.split()) for text, match in hit.snippet if match) == " ".join(marked)


def test_a_phrase_with_a_filter_or_sorted_by_date_finds_the_same_pages(index: Index):
    newest_first = [Path(hit.path).stem for hit in index.search('"tax invoice"', sort=Sort.DATE, exact=True)]
    assert newest_first == ["across lines", "side by side"]  # recorded in that order: the later first
    assert names(index, '"tax invoice" type:jpg') == {"side by side", "across lines"}
    assert names(index, '"tax invoice" type:pdf') == set()
