"""What a search hands back for each page it found: where it is, the passage, the matching words.

The full-text query (the dialect's) only ranks page ids; everything shown is loaded here for the
returned pages alone, so its cost does not grow with the number of matches.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from ocrwatch.index import document_rows
from ocrwatch.index.records import Hit, Ranked
from ocrwatch.index.search.query import Query
from ocrwatch.index.search.snippets import snippet
from ocrwatch.index.tables import pages


def load(connection: Connection, found: list[tuple[Ranked, Query]], query: Query) -> list[Hit]:
    """The hits for `found` (each page with the query it matched), in its order; a page matched by
    a query other than `query` matched only through variants."""
    if not found:
        return []
    markers = {matched_by: matched_by.marker() for matched_by in {matched_by for _, matched_by in found}}
    marking = {ranked.page_id: markers[matched_by] for ranked, matched_by in found}
    path = document_rows.source_path(pages.c.document_id)
    rows = {
        row.id: row
        for row in connection.execute(
            select(
                pages.c.id, pages.c.document_id, pages.c.number, pages.c.width, pages.c.height, pages.c.text
            )
            .add_columns(path.label("path"))
            .where(pages.c.id.in_(list(marking)))
        )
    }
    page_words = document_rows.matching_words(connection, marking)
    return [
        Hit(
            document_id=(row := rows[ranked.page_id]).document_id,
            page=row.number,
            path=row.path,
            snippet=snippet(row.text, markers[matched_by]),
            rank=ranked.rank,
            words=[index for index, _ in page_words[ranked.page_id]],
            matched=[word for _, word in page_words[ranked.page_id]],
            width=row.width,
            height=row.height,
            fuzzy=matched_by is not query,
        )
        for ranked, matched_by in found
    ]
