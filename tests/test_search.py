"""Search through OCR errors, filters and sort: `Index.search` and `ocrwatch search` on a real SQLite
file with its real FTS5 index. Pages are made with known words (no OCR), so every variant is known."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import insert, update
from typer.testing import CliRunner

from ocrwatch.cli import app
from ocrwatch.errors import QueryError
from ocrwatch.index import FileStat, Filters, Index, Node, Sort, dialects
from ocrwatch.index import database as index_database
from ocrwatch.index.dialects.postgresql_fuzzy import threshold
from ocrwatch.index.search.fuzzy import distance
from ocrwatch.index.search.query import Query
from ocrwatch.index.search.snippets import snippet
from ocrwatch.index.tables import documents, files, pages
from tests.databases import plain_engine
from tests.test_index import SILENT, document, page, record

EXACT = "MAIN STREET RESTAURANT 4711"
ONE_OFF = "HARBOUR RESTAURAMT RESTAURAMT RESTAURAMT 4712"
"""`restaurant` with one letter misread, three times: bm25 alone would rank it first."""
TWO_OFF = "RE5TAURAMT ON THE CORNER"
THREE_OFF = "R35TAURAMT IS TOO FAR"


@pytest.fixture
def index(index_url: str):
    with Index(index_url) as opened:
        yield opened


@pytest.fixture
def restaurants(index: Index) -> dict[str, int]:
    """Four one-page documents: `restaurant` as written, one, two and three letters off."""
    return {
        text: record(index, f"inbox/{number}.jpg", document(page(text)))
        for number, text in enumerate([EXACT, ONE_OFF, TWO_OFF, THREE_OFF])
    }


def found(index: Index, query: str, **options) -> list[str]:
    """The first line of each hit's page, in order, with ~ before the ones found through variants."""
    return [
        ("~" if hit.fuzzy else "") + _first_line(index, hit.document_id)
        for hit in index.search(query, **options)
    ]


def _first_line(index: Index, document_id: int) -> str:
    stored = index.document(document_id)
    assert stored is not None
    return stored.content.pages[0].text.splitlines()[0]


# Fuzzy matching


def test_one_and_two_letters_off_are_found_after_the_exact_word(index: Index, restaurants: dict[str, int]):
    assert found(index, "restaurant") == [EXACT, f"~{ONE_OFF}", f"~{TWO_OFF}"]
    assert found(index, "RESTAURANT")[0] == EXACT  # case and accents folded as for exact words


def test_exact_only_finds_the_word_as_typed(index: Index, restaurants: dict[str, int]):
    assert found(index, "restaurant", exact=True) == [EXACT]
    assert found(index, "restauramt", exact=True) == [ONE_OFF]


def test_variants_are_marked_in_the_snippet_and_their_boxes_returned(
    index: Index, restaurants: dict[str, int]
):
    exact, one_off, two_off = index.search("restaurant")
    assert [text for text, marked in exact.snippet if marked] == ["RESTAURANT"]
    assert [text for text, marked in one_off.snippet if marked] == ["RESTAURAMT RESTAURAMT RESTAURAMT"]
    assert one_off.words == [1, 2, 3] and {word.text for word in one_off.matched} == {"RESTAURAMT"}
    assert two_off.words == [0] and two_off.matched[0].text == "RE5TAURAMT"
    assert [text for text, marked in two_off.snippet if marked] == ["RE5TAURAMT"]


def test_a_misread_query_finds_the_right_word(index: Index, restaurants: dict[str, int]):
    first, *rest = found(index, "restauramt")
    assert first == ONE_OFF
    assert sorted(rest) == sorted([f"~{EXACT}", f"~{TWO_OFF}", f"~{THREE_OFF}"])  # 2 off this way round


def test_short_words_and_numbers_are_matched_only_as_typed(index: Index):
    record(index, "inbox/a.jpg", document(page("TAN WOON YANN 4711")))
    record(index, "inbox/b.jpg", document(page("TIN WOON YANN 4712")))
    assert found(index, "tan") == ["TAN WOON YANN 4711"]
    assert found(index, "4711") == ["TAN WOON YANN 4711"]
    assert found(index, "woon") == ["TAN WOON YANN 4711", "TIN WOON YANN 4712"]  # both exact


def test_phrases_prefixes_and_excluded_words_are_matched_as_typed(index: Index, restaurants: dict[str, int]):
    assert found(index, '"main street restaurant"') == [EXACT]
    assert found(index, "restauran*") == [EXACT]
    assert found(index, "corner NOT restaurant") == [TWO_OFF]


def test_every_word_of_a_query_may_be_misread(index: Index):
    record(index, "inbox/a.jpg", document(page("GRAND TOTAL 9.00")))
    record(index, "inbox/b.jpg", document(page("GRAMD TOTAI 9.00")))
    record(index, "inbox/c.jpg", document(page("GRAND SUMMARY")))
    assert found(index, "grand total") == ["GRAND TOTAL 9.00", "~GRAMD TOTAI 9.00"]


def test_pages_of_results_run_on_from_exact_hits_into_variants(index: Index, restaurants: dict[str, int]):
    everything = found(index, "restaurant")
    assert [found(index, "restaurant", limit=1, offset=offset) for offset in range(4)] == [
        [everything[0]],
        [everything[1]],
        [everything[2]],
        [],
    ]
    assert found(index, "restaurant", limit=2, offset=1) == everything[1:]


def test_words_stored_later_are_variants_at_once(index: Index, restaurants: dict[str, int]):
    assert found(index, "warehouse") == []
    record(index, "inbox/late.jpg", document(page("WAREH0USE CLEARANCE")))
    assert found(index, "warehouse") == ["~WAREH0USE CLEARANCE"]


# Filters and sort


@pytest.fixture
def folders(index: Index, index_url: str) -> dict[str, int]:
    """`invoice` in three documents: a PDF and a PNG from watched folders, a JPEG from `scan`,
    each read on a day of its own."""
    made = {
        "pdf": watched(index, "/srv/scans/invoices", "/srv/scans/invoices/march.pdf", "INVOICE MARCH"),
        "png": watched(
            index, "/srv/scans/receipts", "/srv/scans/receipts/april.png", "INVOICE APRIL RECEIPT"
        ),
        "jpg": record(index, "/home/me/may.JPG", document(page("INVOICE MAY"))),
    }
    days = {"pdf": "2026-03-10", "png": "2026-04-10", "jpg": "2026-05-10"}
    for name, day in days.items():  # when each was read: a day of its own
        read_on(index_url, made[name], day)
    return made


def read_on(index_url: str, document_id: int, day: str) -> None:
    """Say the document was read at noon (UTC) on `day`."""
    engine = plain_engine(index_url)
    with engine.begin() as connection:
        moment = datetime.fromisoformat(f"{day} 12:00:00+00:00")
        connection.execute(update(documents).where(documents.c.id == document_id).values(created_at=moment))
    engine.dispose()


def watched(index: Index, root: str, path: str, text: str) -> int:
    """A file the daemon found in the watched folder `root` and read."""
    folder = root.rsplit("/", 1)[-1]
    index.queue.enqueue(folder, root, [FileStat(path, 100, 1700000000.0)], delay=0)
    claimed = index.queue.claim(Node("here", {folder: root}, 60))
    assert claimed is not None and claimed.path == path
    return index.record_done(claimed, 100, 1700000000.0, document(page(text), source=path), SILENT)


def ids(index: Index, query: str, **options) -> list[int]:
    return [hit.document_id for hit in index.search(query, **options)]


def test_filters_by_when_a_document_was_read(index: Index, folders: dict[str, int]):
    assert ids(index, "invoice after:2026-04-10", sort=Sort.DATE) == [folders["jpg"], folders["png"]]
    assert ids(index, "invoice before:2026-04-10") == [folders["pdf"]]
    assert ids(index, "after:2026-04-01 invoice before:2026-05-01") == [folders["png"]]
    april = Filters(after=datetime(2026, 4, 1, tzinfo=UTC), before=datetime(2026, 5, 1, tzinfo=UTC))
    assert ids(index, "invoice", filters=april) == [folders["png"]]
    assert ids(index, "invoice after:2026-01-01", filters=april) == [folders["png"]]  # options win


def test_filters_by_watched_folder_path_or_name(index: Index, folders: dict[str, int]):
    assert ids(index, "invoice folder:receipts") == [folders["png"]]
    assert ids(index, "invoice", filters=Filters(folder="/srv/scans/invoices/")) == [folders["pdf"]]
    assert ids(index, "invoice folder:scans") == []


def test_filters_by_file_type(index: Index, folders: dict[str, int]):
    assert ids(index, "invoice type:pdf") == [folders["pdf"]]
    assert sorted(ids(index, "invoice type:image")) == sorted([folders["png"], folders["jpg"]])
    assert ids(index, "invoice type:jpeg") == [folders["jpg"]]  # .JPG: either spelling, any case
    assert ids(index, "invoice", filters=Filters(type="image/png")) == [folders["png"]]


def test_sort_by_date_puts_the_newest_first(index: Index, folders: dict[str, int]):
    assert ids(index, "invoice", sort=Sort.DATE) == [folders["jpg"], folders["png"], folders["pdf"]]
    assert ids(index, "invoice", sort=Sort.DATE, limit=1, offset=1) == [folders["png"]]


def test_filters_apply_before_the_limit_and_to_variants(index: Index, folders: dict[str, int]):
    for number in range(5):
        record(index, f"/home/me/other-{number}.jpg", document(page(f"INVOICE OTHER {number}")))
    assert ids(index, "invoice type:pdf", limit=1) == [folders["pdf"]]
    watched(index, "/srv/scans/receipts", "/srv/scans/receipts/june.png", "INV0ICE JUNE")
    assert [hit.fuzzy for hit in index.search("invoice folder:receipts")] == [False, True]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("invoice after:yesterday", "after: wants a date such as 2026-01-31"),
        ("invoice before:2026-13-01", "before: wants a date"),
        ("invoice type:image/", "type: wants image, pdf, an extension or a media type"),
        ("invoice after:2026-01-01 after:2026-02-01", "after: is given twice"),
        ("", "the search is empty: type a word to search for, or a filter such as after:2026-01-31"),
        (' folder:"" ', "the search is empty"),  # a filter without a value is no filter
    ],
)
def test_filters_that_cannot_be_applied_say_why(index: Index, query: str, message: str):
    with pytest.raises(QueryError, match=message):
        index.search(query)


def test_a_colon_in_other_words_is_text(index: Index):
    record(index, "inbox/a.jpg", document(page("TOTAL: 9.00 NOTE:PAID")))
    assert found(index, "note:paid") == ["TOTAL: 9.00 NOTE:PAID"]


# Filters alone


def test_a_query_without_terms_marks_no_word():
    nothing = Query("", ())
    marker = nothing.marker()
    assert not marker.marks_any
    assert marker.matching(["TOTAL", "9.00"]) == []
    assert snippet("TOTAL 9.00 PAID", marker) == [("TOTAL 9.00 PAID", False)]


def test_filters_alone_list_the_pages_that_pass_newest_first(index: Index, folders: dict[str, int]):
    pdf, png, jpg = folders["pdf"], folders["png"], folders["jpg"]
    assert ids(index, "folder:receipts") == [png]
    assert ids(index, "", filters=Filters(folder="/srv/scans/invoices")) == [pdf]
    assert ids(index, "type:image") == [jpg, png]
    assert ids(index, "  type:jpeg  ") == [jpg]
    assert ids(index, "after:2026-04-01") == [jpg, png]
    assert ids(index, "before:2026-04-10") == [pdf]
    assert ids(index, "after:2026-03-01 before:2026-05-01") == [png, pdf]
    assert ids(index, "", filters=Filters(after=datetime(2026, 1, 1, tzinfo=UTC))) == [jpg, png, pdf]
    assert ids(index, "type:pdf", filters=Filters(type="png")) == [png]  # options win, as with words
    assert ids(index, "folder:receipts type:pdf") == []
    # Always newest first: with no words there is no relevance to sort by, nor words to widen.
    assert ids(index, "type:image", sort=Sort.RELEVANCE) == ids(index, "type:image", sort=Sort.DATE)
    assert ids(index, "type:image", exact=True) == [jpg, png]


def test_filters_alone_show_each_page_from_its_beginning_with_nothing_marked(
    index: Index, folders: dict[str, int]
):
    [hit] = index.search("folder:receipts")
    assert hit.document_id == folders["png"] and hit.path == "/srv/scans/receipts/april.png"
    assert hit.snippet == [("INVOICE APRIL RECEIPT", False)]
    assert (hit.words, hit.matched, hit.rank, hit.fuzzy) == ([], [], 0.0, False)


def test_filters_alone_page_through_a_documents_pages_in_order(
    index: Index, index_url: str, folders: dict[str, int]
):
    report = record(index, "/home/me/report.pdf", document(page("REPORT ONE"), page("REPORT TWO")))
    read_on(index_url, report, "2026-06-01")
    pages_of = [(report, 1), (report, 2), (folders["pdf"], 1)]

    def listed(**options) -> list[tuple[int, int]]:
        return [(hit.document_id, hit.page) for hit in index.search("type:pdf", **options)]

    assert listed() == pages_of
    assert [listed(limit=1, offset=offset) for offset in range(4)] == [
        [pages_of[0]],
        [pages_of[1]],
        [pages_of[2]],
        [],
    ]
    assert listed(limit=2, offset=1) == pages_of[1:]
    assert [hit.snippet for hit in index.search("type:pdf", limit=2)] == [
        [("REPORT ONE", False)],
        [("REPORT TWO", False)],
    ]


# The command line


def test_the_cli_searches_with_fuzzy_matching_filters_and_sort(index_url: str, folders: dict[str, int]):
    runner = CliRunner()
    db = ["--db", index_url]

    def search(*args: str) -> list[str]:
        result = runner.invoke(app, ["search", *args, *db])
        assert result.exit_code == 0, result.output
        return [line for line in result.stdout.splitlines() if not line.startswith(" ")]

    newest = search("invoice", "--sort", "date")
    assert [line.split()[0] for line in newest] == [
        "/home/me/may.JPG",
        "/srv/scans/receipts/april.png",
        "/srv/scans/invoices/march.pdf",
    ]
    assert [line.split()[0] for line in search("invoice", "--folder", "receipts")] == [
        "/srv/scans/receipts/april.png"
    ]
    assert [line.split()[0] for line in search("invoice", "--type", "pdf")] == [
        "/srv/scans/invoices/march.pdf"
    ]
    dated = search("invoice", "--after", "2026-04-01", "--before", "2026-05-01")
    assert [line.split()[0] for line in dated] == ["/srv/scans/receipts/april.png"]
    [close] = search("receit")
    assert close.startswith("/srv/scans/receipts/april.png") and "close match" in close
    assert runner.invoke(app, ["search", "receit", "--exact", *db]).exit_code == 1
    refused = runner.invoke(app, ["search", "invoice", "--after", "soon", *db])
    assert refused.exit_code == 2 and "--after: wants a date" in refused.output


def test_the_cli_lists_what_passes_filters_given_without_words(index_url: str, folders: dict[str, int]):
    runner = CliRunner()
    db = ["--db", index_url]

    def search(*args: str) -> list[str]:
        result = runner.invoke(app, ["search", *args, *db])
        assert result.exit_code == 0, result.output
        return [line.split()[0] for line in result.stdout.splitlines() if not line.startswith(" ")]

    assert search("--folder", "receipts") == ["/srv/scans/receipts/april.png"]
    assert search("--type", "image") == ["/home/me/may.JPG", "/srv/scans/receipts/april.png"]
    assert search("before:2026-04-01") == ["/srv/scans/invoices/march.pdf"]
    shown = runner.invoke(app, ["search", "--folder", "invoices", *db]).stdout.splitlines()
    assert shown[1].strip() == "INVOICE MARCH"  # the page's beginning
    nothing = runner.invoke(app, ["search", "--folder", "receipts", "--type", "pdf", *db])
    assert nothing.exit_code == 1 and "no document passes the filters" in nothing.output
    empty = runner.invoke(app, ["search", *db])
    assert empty.exit_code == 2 and "type a word to search for, or a filter" in empty.output


# PostgreSQL's trigram threshold (no server needed: pg_trgm's similarity is a set formula)


def _trigrams(word: str) -> set[str]:
    """pg_trgm's trigrams of one lowercase word: padded with two spaces before and one after."""
    padded = f"  {word} "
    return {padded[at : at + 3] for at in range(len(padded) - 2)}


@given(
    word=st.text(alphabet="abcdeilnorst", min_size=4, max_size=14),
    edits=st.lists(
        st.tuples(st.sampled_from("sid"), st.integers(0, 20), st.sampled_from("aeo01")), max_size=2
    ),
)
def test_the_trigram_threshold_misses_no_term_within_the_distance(word: str, edits: list) -> None:
    allowed = distance(word)
    term = word
    for kind, at, letter in edits[:allowed]:
        at %= len(term) + 1
        term = {
            "s": term[:at] + letter + term[at + 1 :],
            "i": term[:at] + letter + term[at:],
            "d": term[:at] + term[at + 1 :],
        }[kind]
    shared, union = _trigrams(word) & _trigrams(term), _trigrams(word) | _trigrams(term)
    assert len(shared) / len(union) >= threshold(word, allowed)


def test_the_migration_fills_the_vocabulary_from_pages_already_stored(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'before.db'}"
    engine = dialects.create_engine(url)
    with index_database.writer(engine).begin() as connection:  # an index of the release before the terms
        config = Config()
        config.set_main_option("script_location", index_database.MIGRATIONS)
        config.attributes["connection"] = connection
        command.upgrade(config, "0006")
        now = datetime.now(UTC)
        document_id = connection.scalar(
            insert(documents)
            .values(sha256="0" * 64, engine="rapidocr", engine_version="3", page_count=1)
            .values(ocr_seconds=1.0, timings="{}", created_at=now)
            .returning(documents.c.id)
        )
        connection.execute(
            insert(pages).values(document_id=document_id, number=1, width=9, height=9, text="WAREH0USE SALE")
        )
        connection.execute(
            insert(files).values(
                path="/old/a.jpg", status="done", document_id=document_id, created_at=now, updated_at=now
            )
        )
    engine.dispose()
    with Index(url) as index:
        [hit] = index.search("warehouse")
    assert hit.fuzzy and hit.document_id == document_id and ("WAREH0USE", True) in hit.snippet
