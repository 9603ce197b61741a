"""The index on real SQLite files and a real PostgreSQL server: schema and migrations, recording files,
search, and reloading. Tests taking `index` or `index_url` run on both."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, update

from ocrwatch.engines.base import Line, PageText, Word
from ocrwatch.errors import ClaimLost, ConfigError, QueryError
from ocrwatch.geometry import Quad
from ocrwatch.index import FileRecord, FileStat, FileStatus, Index, Node, Notice, Place, dialects
from ocrwatch.index import database as index_database
from ocrwatch.index.dialects import sqlite as index_sqlite
from ocrwatch.index.dialects.sqlite_driver import sqlite3
from ocrwatch.index.search import pairs
from ocrwatch.index.search.filters import NO_FILTERS, Sort
from ocrwatch.index.search.query import Query, Term
from ocrwatch.index.tables import files, metadata
from ocrwatch.result import DocumentText
from tests.databases import plain_engine

SILENT = Notice("on_done")
"""An outcome that sends no notification and has no after-action."""

RECEIPT = [
    "BOOK TA.K (TAMAN DAYA) SDN BHD",
    "TAN WOON YANN",
    "NO.53 JALAN SAGU 18, TAMAN DAYA",
    "TOTAL 9.00",
]
RECEIPT_BACK = ["THANK YOU", "PLEASE COME AGAIN", "Café Ärger 中文"]


def box(x: float, y: float, width: float, height: float = 20.0) -> Quad:
    return ((x, y), (x + width, y), (x + width, y + height), (x, y + height))


def page(*rows: str) -> PageText:
    """A page with one line per row, words boxed 12 px per character, as an engine would read it."""
    words: list[Word] = []
    lines: list[Line] = []
    for row_number, row in enumerate(rows):
        y = 30.0 + 40 * row_number
        first = len(words)
        x = 20.0
        for text in row.split():
            words.append(Word(text=text, score=0.95, box=box(x, y, 12.0 * len(text))))
            x += 12.0 * (len(text) + 1)
        lines.append(
            Line(text=row, score=0.9, box=box(20.0, y, x - 32.0), words=tuple(range(first, len(words))))
        )
    return PageText(width=600, height=800, words=words, lines=lines)


def document(*pages: PageText, source: str = "inbox/receipt.jpg") -> DocumentText:
    sha = hashlib.sha256("\f".join(p.text for p in pages).encode()).hexdigest()
    return DocumentText(
        source=Path(source),
        sha256=sha,
        engine="rapidocr",
        engine_version="3.4.2",
        pages=list(pages),
        ocr_seconds=1.25,
        timings={"open": 0.01, "ocr": 1.25},
    )


def arrive(index: Index, path: str, stem: str | None = None) -> FileRecord:
    """A claimed arrival at `path`, as `ocrwatch scan` makes one, with an output name reserved."""
    return index.queue.claim_path(path, 1234, 1700000000.5, stem or Path(path).stem)


def record(index: Index, path: str, content: DocumentText, stem: str | None = None) -> int:
    return index.record_done(arrive(index, path, stem), 1234, 1700000000.5, content, SILENT)


def assert_fulltext_in_sync(url: str) -> None:
    """FTS5's own check that pages_fts holds exactly the tokens of the pages table, and that the word
    pairs table holds exactly each page's pairs, where they stand; raises if not. (PostgreSQL's is a
    generated column, in step by construction.)"""
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
            connection.execute("INSERT INTO pages_fts (pages_fts, rank) VALUES ('integrity-check', 1)")
            connection.execute(
                "CREATE VIRTUAL TABLE temp.pair_vocabulary USING fts5vocab(main, pages_pairs, instance)"
            )
            indexed = set(connection.execute("SELECT term, doc, offset FROM temp.pair_vocabulary"))
            expected = {
                (pair, page_id, offset)
                for page_id, text in connection.execute("SELECT id, text FROM pages")
                for offset, pair in enumerate(pairs.of_text(text).split())
            }
            assert indexed == expected


def row_count(url: str, table: str) -> int:
    engine = plain_engine(url)
    with engine.connect() as connection:
        count = connection.scalar(sqlalchemy.text(f"SELECT count(*) FROM {table}"))
    engine.dispose()
    return count


@pytest.fixture
def database(tmp_path: Path) -> Path:
    """An SQLite file, for the tests of what only SQLite does."""
    return tmp_path / "index" / "index.db"


@pytest.fixture
def index(index_url: str):
    with Index(index_url) as opened:
        yield opened


@pytest.fixture
def receipt() -> DocumentText:
    return document(page(*RECEIPT), page(*RECEIPT_BACK))


# Schema


def test_migrations_create_the_schema_and_reopening_changes_nothing(index_url: str, receipt: DocumentText):
    with Index(index_url) as index:
        assert index.schema_version() == "0010"
        record(index, "inbox/receipt.jpg", receipt)
    engine = plain_engine(index_url)
    with engine.connect() as connection:
        schema = inspect(connection)
        tables = set(schema.get_table_names())
        assert {"files", "documents", "pages", "lines", "words", "alembic_version"} <= tables
        if engine.dialect.name == "sqlite":
            names = set(connection.scalars(sqlalchemy.text("SELECT name FROM sqlite_master")))
            assert {"pages_fts", "pages_fts_insert", "pages_fts_delete", "pages_fts_update"} <= names
        else:
            assert "fts" in {column["name"] for column in schema.get_columns("pages")}
            assert "pages_fts" in {index["name"] for index in schema.get_indexes("pages")}
            id_types = {table: schema.get_columns(table)[0]["type"].__class__.__name__ for table in tables}
            assert {id_types[table] for table in ("pages", "lines", "words")} == {"BIGINT"}
    engine.dispose()

    with Index(index_url) as index:
        assert index.schema_version() == "0010"
        assert [hit.page for hit in index.search("yann")] == [1]


def test_every_migration_goes_down_and_up_again(index_url: str, receipt: DocumentText):
    """The whole chain, down to nothing and back, on each database (batch mode is SQLite's rebuild,
    plain ALTER TABLE on PostgreSQL)."""
    Index(index_url).close()
    engine = dialects.create_engine(index_url)
    for target in ("base", "head"):
        with index_database.writer(engine).begin() as connection:
            config = Config()
            config.set_main_option("script_location", index_database.MIGRATIONS)
            config.attributes["connection"] = connection
            if target == "base":
                command.downgrade(config, target)
            else:
                command.upgrade(config, target)
        with engine.connect() as connection:
            assert ("files" in inspect(connection).get_table_names()) == (target == "head")
    engine.dispose()
    with Index(index_url) as index:
        record(index, "inbox/receipt.jpg", receipt)
        assert [hit.page for hit in index.search("yann")] == [1]


def _not_fulltext(name: str | None, kind: str, parent: object) -> bool:
    """The full-text and fuzzy parts are the dialects' own: FTS5's table; PostgreSQL's column, its
    GIN index and the trigram index on the terms."""
    return not (
        (name or "").startswith(("pages_fts", "pages_pairs"))
        or name == "ix_terms_term_trgm"
        or (kind == "column" and name == "fts")
    )


def test_tables_agree_with_the_migrations(index: Index, index_url: str):
    engine = plain_engine(index_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_name": _not_fulltext})
        assert compare_metadata(context, metadata) == []
    engine.dispose()


def test_the_database_is_in_wal_mode(database: Path):
    with Index(f"sqlite:///{database}"), sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_other_databases_are_refused_with_a_clear_message():
    with pytest.raises(ConfigError, match="mysql is not supported") as caught:
        Index("mysql://ocr:secret@db.example/ocrwatch")
    assert "secret" not in str(caught.value)


# Search


def test_search_finds_words_in_any_order_and_any_case(index: Index, receipt: DocumentText):
    document_id = record(index, "inbox/receipt.jpg", receipt)
    for query in ["tan woon yann", "YANN tan", "Woon"]:
        hits = index.search(query)
        assert [(hit.document_id, hit.page, hit.path) for hit in hits] == [
            (document_id, 1, "inbox/receipt.jpg")
        ]
    assert index.search("tan woon zebra") == []


def test_hits_carry_page_numbers_marked_snippets_and_matching_words(index: Index, receipt: DocumentText):
    record(index, "inbox/receipt.jpg", receipt)
    [hit] = index.search("yann")
    assert ("YANN", True) in hit.snippet
    assert all(not matched for text, matched in hit.snippet if text != "YANN")
    passage = "".join(text for text, _ in hit.snippet).strip("…")  # a passage of the page, as written
    assert "(TAMAN DAYA) SDN BHD\nTAN WOON YANN\nNO.53" in passage and passage in receipt.pages[0].text
    assert hit.words == [8]  # BOOK TA.K (TAMAN DAYA) SDN BHD = words 0-5, then TAN WOON YANN
    assert receipt.pages[0].words[8].text == "YANN"

    [back] = index.search("please")
    assert back.page == 2
    assert back.words == [2]


def test_phrases_must_match_in_order(index: Index, receipt: DocumentText):
    record(index, "inbox/receipt.jpg", receipt)
    [hit] = index.search('"woon yann"')
    assert " ".join(text for text, matched in hit.snippet if matched) == "WOON YANN"  # one span or two
    assert hit.words == [7, 8]
    assert index.search('"yann woon"') == []


def test_prefixes_match_the_start_of_words(index: Index, receipt: DocumentText):
    record(index, "inbox/receipt.jpg", receipt)
    [hit] = index.search("tama*")
    words = receipt.pages[0].words
    assert [words[i].text for i in hit.words] == ["(TAMAN", "TAMAN"]
    assert index.search("tama", exact=True) == []


def test_or_and_not_between_terms(index: Index, receipt: DocumentText):
    record(index, "inbox/receipt.jpg", receipt)
    assert {hit.page for hit in index.search("yann OR please")} == {1, 2}
    assert [hit.page for hit in index.search("tan NOT please")] == [1]
    [hit] = index.search("thank NOT yann")
    assert [receipt.pages[1].words[i].text for i in hit.words] == ["THANK"]


def test_results_are_ranked_by_bm25(index: Index):
    once = document(page("INVOICE 1001", "PAPER 2.00"))
    often = document(page("PAPER PAPER PAPER", "PAPER 8.00"))
    record(index, "inbox/once.jpg", once)
    record(index, "inbox/often.jpg", often)
    for number in range(3):  # bm25 only weighs terms that most pages lack
        record(index, f"inbox/other-{number}.jpg", document(page(f"NOTHING TO SEE {number}")))
    hits = index.search("paper")
    assert [hit.path for hit in hits] == ["inbox/often.jpg", "inbox/once.jpg"]
    assert hits[0].rank < hits[1].rank < 0
    assert [hit.path for hit in index.search("paper", limit=1, offset=1)] == ["inbox/once.jpg"]


@pytest.mark.parametrize(
    ("query", "pages"),
    [
        ("9.00", [1]),
        ("JALAN SAGU 18,", [1]),
        ("NO.53", [1]),
        ("TA.K", [1]),
        ("(TAMAN DAYA)", [1]),
        ("c++", []),
        ("total: 9.00", [1]),
        ("text:tan", []),
        ("NEAR(tan woon)", []),
        ("^tan", [1]),
        ("it's", []),
        ("tan*woon", [1]),
        ('"tan" "yann"*', [1]),
        ("- tan", [1]),
        ("or not and", []),
    ],
)
def test_punctuation_and_engine_syntax_are_only_text(index: Index, receipt: DocumentText, query: str, pages):
    record(index, "inbox/receipt.jpg", receipt)
    assert [hit.page for hit in index.search(query)] == pages


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "the search is empty"),
        ("   ", "the search is empty"),
        ('"tan woon', "cannot search for '\"tan woon': a quote is not closed"),
        ('tan "woon" "yann', "a quote is not closed"),
        ("OR", "OR must stand between two terms, as in 'receipt OR invoice'"),
        ("tan OR", "OR must stand between two terms"),
        ("NOT tan", "NOT must stand between two terms"),
        ("tan AND OR yann", "AND must stand between two terms"),
        ("...", "it has no letters or digits to look for"),
        ('""', "it has no letters or digits to look for"),
    ],
)
def test_queries_that_cannot_be_searched_say_why(index: Index, query: str, message: str):
    with pytest.raises(QueryError, match=re.escape(message)):
        index.search(query)


def test_a_syntax_error_from_fts5_becomes_a_query_error(database: Path):
    """The parser never produces this query; the guard behind it turns FTS5's error into a message."""
    broken = Query("tan OR", (Term("tan"), "OR"))
    Index(f"sqlite:///{database}").close()
    engine = index_sqlite.create_engine(f"sqlite:///{database}")
    with engine.connect() as connection, pytest.raises(QueryError, match="cannot search for 'tan OR': fts5"):
        index_sqlite.search(connection, broken, limit=20, offset=0, filters=NO_FILTERS, sort=Sort.RELEVANCE)
    engine.dispose()


def test_stored_documents_round_trip_exactly(index: Index, receipt: DocumentText):
    blank = replace(receipt, pages=[*receipt.pages, PageText(width=600, height=800)])
    document_id = record(index, "inbox/reçu.jpg", blank)
    stored = index.document(document_id)
    assert stored is not None
    assert stored.content == replace(blank, source=Path("inbox/reçu.jpg"))
    assert stored.paths == ["inbox/reçu.jpg"]
    assert stored.output_stem == "reçu"
    assert stored.created_at.tzinfo is not None
    assert index.document(document_id + 1) is None
    assert index.document_for_path("inbox/other.jpg") is None


@pytest.mark.parametrize(
    ("query", "word"),
    [
        ("cafe", "Café"),
        ("CAFÉ", "Café"),
        ("caf*", "Café"),
        ("arger", "Ärger"),
        ("ÄRGER", "Ärger"),
        ("中文", "中文"),
    ],
)
def test_accents_case_and_other_scripts_are_searchable(index: Index, receipt: DocumentText, query: str, word):
    record(index, "inbox/receipt.jpg", receipt)
    [hit] = index.search(query)
    assert hit.page == 2
    assert [receipt.pages[1].words[i].text for i in hit.words] == [word]
    assert (word, True) in hit.snippet


# Recording


def test_recording_the_same_content_again_replaces_its_pages(
    index: Index, index_url: str, receipt: DocumentText
):
    document_id = record(index, "inbox/receipt.jpg", receipt)
    rerun = replace(receipt, pages=[page("TAN WOON YANN", "TOTAL 12.50")], engine_version="3.5.0")
    assert record(index, "inbox/receipt.jpg", rerun) == document_id

    assert index.search("please") == []
    assert index.search("9.00") == []
    [hit] = index.search("12.50")
    assert (hit.document_id, hit.page) == (document_id, 1)
    stored = index.document(document_id)
    assert stored is not None
    assert stored.content.engine_version == "3.5.0"
    assert [p.text for p in stored.content.pages] == ["TAN WOON YANN\nTOTAL 12.50"]
    assert row_count(index_url, "pages") == 1
    assert row_count(index_url, "words") == 5
    assert_fulltext_in_sync(index_url)


def test_duplicates_point_at_the_same_document(index: Index, receipt: DocumentText):
    document_id = record(index, "inbox/receipt.jpg", receipt)
    assert index.document_id_for_sha(receipt.sha256) == document_id
    copy_of = arrive(index, "inbox/copy of receipt.jpg")
    index.record_duplicate(copy_of, 1234, 1700000100.0, receipt.sha256, document_id, SILENT)

    copy = index.file("inbox/copy of receipt.jpg")
    assert copy is not None
    assert (copy.status, copy.document_id, copy.output_stem) == (FileStatus.DUPLICATE, document_id, None)
    stored = index.document_for_path("inbox/copy of receipt.jpg")
    assert stored is not None
    assert stored.id == document_id
    assert stored.paths == ["inbox/receipt.jpg", "inbox/copy of receipt.jpg"]
    assert stored.output_stem == "receipt"
    assert stored.content.source == Path("inbox/receipt.jpg")
    assert [hit.path for hit in index.search("yann")] == ["inbox/receipt.jpg"]
    assert index.counts()[FileStatus.DUPLICATE] == 1


def test_new_content_at_a_path_already_read_is_a_new_arrival_and_keeps_the_old(
    index: Index, index_url: str, receipt: DocumentText
):
    old_id = record(index, "inbox/receipt.jpg", receipt)
    new = document(page("INVOICE 2024-001", "AMOUNT DUE 120.00"))
    new_id = record(index, "inbox/receipt.jpg", new)

    assert new_id != old_id
    first, second = index.arrivals("inbox/receipt.jpg")
    assert (first.document_id, first.output_stem) == (old_id, "receipt")
    assert (second.document_id, second.output_stem) == (new_id, "receipt~2")
    assert [hit.document_id for hit in index.search("yann")] == [old_id]
    assert [hit.document_id for hit in index.search("invoice")] == [new_id]
    old = index.document(old_id)
    assert old is not None and old.output_stem == "receipt"
    assert index.document_for_path("inbox/receipt.jpg").id == new_id  # type: ignore[union-attr]
    assert row_count(index_url, "pages") == 3
    assert_fulltext_in_sync(index_url)


def test_a_moved_original_is_found_where_it_went(index: Index, receipt: DocumentText):
    claimed = arrive(index, "inbox/receipt.jpg")
    notice = Notice("on_done", ("webhook",), after_action=True)
    document_id = index.record_done(claimed, 1234, 1.0, receipt, notice)
    pending = index.file("inbox/receipt.jpg")
    assert pending is not None and pending.after_due is not None
    index.record_after_action(pending, "done/receipt.jpg")

    moved = index.file("inbox/receipt.jpg")
    assert moved is not None and (moved.moved_to, moved.after_due) == ("done/receipt.jpg", None)
    assert moved.original == "done/receipt.jpg"
    stored = index.document(document_id)
    assert stored is not None and stored.originals == ["done/receipt.jpg"]
    assert index.document_for_path("done/receipt.jpg").id == document_id  # type: ignore[union-attr]


def test_an_outcome_is_recorded_only_under_its_claim(index: Index, receipt: DocumentText):
    node = Node("here", {"in": "/in"}, 60)
    index.queue.enqueue("in", "/in", [FileStat("/in/a.jpg", 1, 1.0)], delay=0)
    claimed = index.queue.claim(node)
    assert claimed is not None
    assert index.leases.holds(claimed.id, claimed.claim_token)
    index.leases.release("here")  # a shutdown put it back
    assert not index.leases.holds(claimed.id, claimed.claim_token)
    with pytest.raises(ClaimLost):
        index.record_done(claimed, 1, 1.0, receipt, SILENT)
    again = index.queue.claim(node)
    assert again is not None and again.id == claimed.id and again.claim_token != claimed.claim_token
    assert again.output_stem == claimed.output_stem == "a.jpg"  # the reservation stays with the arrival
    index.record_done(again, 1, 1.0, receipt, SILENT)
    assert [row.status for row in index.arrivals(Place("in", "a.jpg"))] == [FileStatus.DONE]


def test_an_outcome_waits_for_a_claim_being_taken_and_is_then_refused(index_url: str, receipt: DocumentText):
    """Another transaction takes the claim while the result is being recorded: the outcome waits for
    it to commit and then sees the claim gone, rather than writing over it."""
    with Index(index_url) as index:
        claimed = arrive(index, "inbox/receipt.jpg")
        outcome: list[BaseException | int] = []

        def record_it() -> None:
            try:
                outcome.append(index.record_done(claimed, 1234, 1.0, receipt, SILENT))
            except BaseException as error:  # reported by the assertion below
                outcome.append(error)

        other = plain_engine(index_url)
        with other.begin() as connection:
            if other.dialect.name == "sqlite":
                connection.exec_driver_sql("PRAGMA busy_timeout = 5000")
            taken = update(files).where(files.c.id == claimed.id).values(claim_token="another daemon's")
            connection.execute(taken)
            writer = threading.Thread(target=record_it)
            writer.start()
            writer.join(0.5)
            assert writer.is_alive()  # it waits for the row (PostgreSQL) or the write lock (SQLite)
        writer.join()
        other.dispose()
        [error] = outcome
        assert isinstance(error, ClaimLost)
        assert index.document_id_for_sha(receipt.sha256) is None
        assert index.file("inbox/receipt.jpg").claim_token == "another daemon's"  # type: ignore[union-attr]


def test_failures_keep_their_reason_and_count_attempts(index: Index, receipt: DocumentText):
    broken = arrive(index, "inbox/broken.jpg")
    index.record_failed(broken, 10, 1.0, "ab" * 32, "the image is truncated", SILENT)
    index.queue.retry_failed(["inbox/broken.jpg"])
    again = index.queue.claim_path("inbox/broken.jpg", 10, 1.0, "broken")
    assert again.id == broken.id
    index.record_failed(again, 10, 1.0, "ab" * 32, "the image is truncated", SILENT)
    index.record_failed(arrive(index, "inbox/gone.jpg"), None, None, None, "permission denied", SILENT)
    record(index, "inbox/receipt.jpg", receipt)

    failed = index.file("inbox/broken.jpg")
    assert failed is not None
    assert (failed.status, failed.error, failed.attempts) == (FileStatus.FAILED, "the image is truncated", 1)
    assert failed.output_stem is None  # released: a failed file writes no outputs
    assert failed.updated_at.tzinfo is not None
    assert [f.path for f in index.recent_failures()] == ["inbox/gone.jpg", "inbox/broken.jpg"]
    assert [f.path for f in index.recent_failures(limit=1)] == ["inbox/gone.jpg"]
    assert index.counts() == {
        FileStatus.QUEUED: 0,
        FileStatus.PROCESSING: 0,
        FileStatus.DONE: 1,
        FileStatus.FAILED: 2,
        FileStatus.DUPLICATE: 0,
    }
    assert index.file("inbox/never-seen.jpg") is None


def test_output_names_are_reserved_at_the_claim_and_never_shared(index: Index):
    roots = {"/a": ["/a/receipt.jpg", "/a/x/receipt.jpg"], "/b": ["/b/receipt.jpg", "/b/x/receipt.jpg"]}
    for root, paths in roots.items():
        index.queue.enqueue(root[1:], root, [FileStat(path, 1, 1.0) for path in paths], delay=0)
    node = Node("here", {"a": "/a", "b": "/b"}, 60)
    stems = [claimed.output_stem for claimed in iter(lambda: index.queue.claim(node), None)]
    assert stems == ["receipt.jpg", "x/receipt.jpg", "receipt.jpg~2", "x/receipt.jpg~2"]


def test_two_indexes_on_one_database_write_concurrently(index_url: str):
    """Two workers, each with its own Index and threads (on SQLite BEGIN IMMEDIATE and busy_timeout
    serialise them; PostgreSQL writes them side by side)."""
    first, second = Index(index_url), Index(index_url)
    errors: list[BaseException] = []

    def work(index: Index, worker: int) -> None:
        try:
            for number in range(10):
                content = document(page(f"WORKER{worker} ITEM{number}", "TOTAL 1.00"))
                record(index, f"inbox/{worker}-{number}.jpg", content)
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(index, n)) for n, index in enumerate([first, second] * 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert first.counts()[FileStatus.DONE] == 40
    assert len(second.search("total", limit=100)) == 40
    first.close()
    second.close()
    assert_fulltext_in_sync(index_url)


def test_the_same_content_recorded_at_once_is_one_document(index_url: str):
    """Four workers finish copies of one file at the same moment: one document, its pages once."""
    indexes = [Index(index_url) for _ in range(4)]
    content = document(page("THE SAME CONTENT", "TOTAL 1.00"))
    claims = [arrive(index, f"inbox/copy-{number}.jpg") for number, index in enumerate(indexes)]
    start = threading.Barrier(len(indexes))
    ids: list[int] = []
    errors: list[BaseException] = []

    def work(index: Index, claimed: FileRecord) -> None:
        start.wait()
        try:
            ids.append(index.record_done(claimed, 1234, 1.0, content, SILENT))
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=work, args=pair) for pair in zip(indexes, claims, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index in indexes:
        index.close()
    assert errors == []
    assert len(ids) == 4 and len(set(ids)) == 1
    assert [row_count(index_url, table) for table in ("documents", "pages", "words")] == [1, 1, 5]


OPEN_WHEN_TOLD = """
import sys, time
from pathlib import Path
from ocrwatch.index import Index
print("ready", flush=True)
while not Path(sys.argv[2]).exists():
    time.sleep(0.01)
with Index(sys.argv[1]) as index:
    print(index.schema_version())
"""


def test_an_index_created_while_another_process_locks_the_file_waits_for_the_lock(tmp_path: Path):
    """SQLite's switch to WAL ignores the busy timeout; opening the index waits for the lock anyway."""
    path = tmp_path / "index.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("CREATE TABLE held (x)")  # a new file in rollback mode, its write lock held
    threading.Timer(0.5, holder.execute, ["COMMIT"]).start()
    with Index(f"sqlite:///{path}") as index:
        assert index.schema_version() == "0010"
    holder.close()
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_daemons_starting_together_migrate_once(index_url: str, tmp_path: Path):
    """Four processes open a new index at once: one migrates, the others wait for it and find it done
    (on SQLite, the switch to WAL of a file another process has locked is retried, not failed)."""
    go = tmp_path / "go"
    command = [sys.executable, "-c", OPEN_WHEN_TOLD, index_url, str(go)]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)]
    for process in processes:  # each has imported ocrwatch and waits for `go`
        assert process.stdout is not None and process.stdout.readline() == b"ready\n"
    go.touch()
    outcomes = [process.communicate(timeout=60) for process in processes]
    assert [process.returncode for process in processes] == [0] * 4, outcomes
    assert [out.decode().split() for out, _ in outcomes] == [["0010"]] * 4
    assert row_count(index_url, "alembic_version") == 1
