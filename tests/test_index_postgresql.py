"""What the index on PostgreSQL must do as SQLite does it (the same hits in the same order), and what
only a server can do: stop, cut a connection, come back. On the tests' own real server."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from ocrwatch.errors import ConfigError, IndexUnavailable
from ocrwatch.index import FileStat, Index, dialects
from ocrwatch.index.tables import utc_now
from tests.postgres import PostgresServer
from tests.test_index import document, page, record

CORPUS = {
    "inbox/invoice.jpg": ["INVOICE 1001", "TAX INVOICE", "PAPER 2.00", "TOTAL 9.00"],
    "inbox/cafe.jpg": ["RECEIPT", "Café Müller", "COFFEE 3.50", "TOTAL 9.00", "PAID"],
    "inbox/paper.jpg": ["PAPER PAPER PAPER", "PAPER 8.00", "INVOICE PAID"],
    "inbox/quittung.jpg": ["Quittung Ärger GmbH", "Invoicing department", "中文 收据"],
    "inbox/nothing.jpg": ["NOTHING TO SEE HERE"],
    "inbox/tax.jpg": ["tax-invoice no. 77: paper, pens; total 12.00"],
    "inbox/tea.jpg": ["RECEIPT RECEIPT", "CAFE MULLER", "TEA 2.00"],
}
QUERIES = [
    "paper",
    '"tax invoice"',
    '"invoice tax"',
    "inv*",
    "invoice NOT paid",
    "receipt NOT coffee",
    "cafe",
    "CAFÉ müller",
    "muller",
    "arger",
    "9.00",
    "total 9",
    "中文",
    "tax-invoice",
    "zebra",
]
BY_RARITY = ["PAPER invoice", "invoice OR receipt", "receipt paid"]
"""Queries whose terms are on many pages and few: bm25 ranks a rare term's pages higher, which
ts_rank_cd (no inverse document frequency) cannot; the same pages, not the same order."""


def hits(url: str) -> dict[str, list[tuple[str, int]]]:
    """Each query's hits, (path, page) best first, on a new index at `url` holding the corpus."""
    with Index(url) as index:
        for path, rows in CORPUS.items():
            record(index, path, document(page(*rows), source=path))
        return {query: [(hit.path, hit.page) for hit in index.search(query)] for query in QUERIES + BY_RARITY}


def test_a_corpus_gives_the_same_hits_in_the_same_order_on_both(tmp_path: Path, postgres_url: str):
    on_sqlite = hits(f"sqlite:///{tmp_path / 'index.db'}")
    on_postgresql = hits(postgres_url)
    assert {query: on_postgresql[query] for query in QUERIES} == {
        query: on_sqlite[query] for query in QUERIES
    }
    for query in BY_RARITY:
        assert on_sqlite[query] and sorted(on_postgresql[query]) == sorted(on_sqlite[query]), query
    assert on_sqlite["paper"] == [("inbox/paper.jpg", 1), ("inbox/tax.jpg", 1), ("inbox/invoice.jpg", 1)]
    assert [path for path, _ in on_sqlite['"tax invoice"']] == ["inbox/tax.jpg", "inbox/invoice.jpg"]
    assert {path for path, _ in on_sqlite["CAFÉ müller"]} == {"inbox/cafe.jpg", "inbox/tea.jpg"}
    assert on_sqlite['"invoice tax"'] == on_sqlite["zebra"] == []
    assert all(on_sqlite[query] for query in QUERIES if query not in ('"invoice tax"', "zebra"))


def test_snippets_mark_the_matching_words_in_the_pages_own_text(postgres_url: str):
    with Index(postgres_url) as index:
        record(index, "inbox/tax.jpg", document(page(*CORPUS["inbox/tax.jpg"])))
        [hit] = index.search("tax-invoice paper")
    assert [text for text, matched in hit.snippet if matched] == ["tax", "invoice", "paper"]
    assert "".join(text for text, _ in hit.snippet) == "tax-invoice no. 77: paper, pens; total 12.00"


def test_a_stopped_server_makes_the_index_unavailable_until_it_is_back(
    postgres: PostgresServer, postgres_url: str
):
    with Index(postgres_url) as index:
        record(index, "inbox/a.jpg", document(page("TAN WOON YANN")))
        postgres.pause()
        try:
            with pytest.raises(IndexUnavailable, match="the index is unavailable"):
                index.search("yann")
            with pytest.raises(IndexUnavailable):
                index.queue.enqueue("in", "/in", [FileStat("/in/b.jpg", 1, 1.0)], delay=0)
            with pytest.raises(IndexUnavailable):
                Index(postgres_url)
        finally:
            postgres.resume()
        assert [hit.path for hit in index.search("yann")] == ["inbox/a.jpg"]
        assert index.queue.enqueue("in", "/in", [FileStat("/in/b.jpg", 1, 1.0)], delay=0) == ["/in/b.jpg"]


def test_a_connection_cut_by_the_server_is_unavailable_then_replaced(
    postgres: PostgresServer, postgres_url: str
):
    database = make_url(postgres_url).database
    with Index(postgres_url) as index:
        record(index, "inbox/a.jpg", document(page("TAN WOON YANN")))
        with index._engine.connect() as connection:  # one connection, held, as a long read would
            postgres.admin(
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'"
            )
            with pytest.raises(IndexUnavailable, match=r"terminating connection|server closed"):
                connection.exec_driver_sql("SELECT count(*) FROM files")
        assert index.counts()["done"] == 1


def test_plain_postgresql_urls_mean_psycopg_and_other_drivers_are_refused(postgres_url: str):
    with Index(postgres_url.replace("postgresql+psycopg://", "postgresql://")) as index:
        assert index.schema_version() == "0010"
    with pytest.raises(ConfigError, match=r"through psycopg 3: write postgresql\+psycopg://"):
        Index(postgres_url.replace("postgresql+psycopg://", "postgresql+psycopg2://"))


def test_a_database_whose_locale_has_only_ascii_letters_is_refused(postgres: PostgresServer):
    name = postgres.create_database(locale="C")
    try:
        with pytest.raises(ConfigError, match="needs a database with UTF8 encoding and a UTF-8 locale"):
            Index(postgres.url(name))
    finally:
        postgres.drop_database(name)


def test_times_come_back_in_utc_whatever_the_servers_time_zone(postgres: PostgresServer, postgres_url: str):
    postgres.admin(f"ALTER DATABASE {make_url(postgres_url).database} SET timezone = 'Asia/Tokyo'")
    with Index(postgres_url) as index:
        record(index, "inbox/a.jpg", document(page("TAN WOON YANN")))
        stamped = index.file("inbox/a.jpg").updated_at  # type: ignore[union-attr]
    assert stamped.utcoffset() == timedelta(0)
    assert abs(stamped - utc_now()) < timedelta(seconds=60)


def test_the_clock_is_the_servers(postgres_url: str):
    with Index(postgres_url) as index, index._engine.connect() as connection:
        first, second = (dialects.of(connection).now(connection) for _ in range(2))
    assert first.tzinfo is not None
    assert timedelta(0) < second - first < timedelta(seconds=5)  # clock_timestamp(), not the transaction's
    assert abs(first - utc_now()) < timedelta(seconds=60)
