"""Search by filters alone: the pages that pass the filters, newest read first.

A search with no words but a filter (`folder:receipts after:2026-11-01`) lists what the filters let
through, so that "everything from receipts since Monday" needs no word to look for. With no words
there is nothing to rank by relevance, so the order is always `Sort.DATE`'s (newest read first, a
document's pages in order) and `sort` does not apply; nor does `exact`, with no words to widen.

There is no full-text query either: the statement is portable SQLAlchemy over `pages` and
`documents` (the filters' conditions need both), the same on every database, so it is here and not
in a dialect.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from ocrwatch.index.records import Ranked
from ocrwatch.index.search.filters import Filters, conditions
from ocrwatch.index.search.query import Query
from ocrwatch.index.tables import documents, pages

NO_WORDS = Query("", ())
"""The query the hits are loaded with: nothing to match, so each snippet is its page's beginning."""


def search(connection: Connection, filters: Filters, limit: int, offset: int) -> list[tuple[Ranked, Query]]:
    """The pages passing `filters`, newest read first, each ranked 0 and with `NO_WORDS` (the shape
    `fuzzy.search` returns, for `hits.load`)."""
    statement = (
        select(pages.c.id)
        .select_from(pages.join(documents, documents.c.id == pages.c.document_id))
        .where(*conditions(filters))
        .order_by(documents.c.created_at.desc(), documents.c.id.desc(), pages.c.number)
        .limit(limit)
        .offset(offset)
    )
    return [(Ranked(page_id, 0.0), NO_WORDS) for page_id in connection.scalars(statement)]
