"""Search through OCR errors: a query word also finds the index's words a few letters off it.

A receipt read as `TOTAI` or `rece1pt` is found by `total` and `receipt`. Each plain word of the
query is widened with its variants, the terms of the index within an edit distance that grows with
the word's length (`distance`), and the pages that match only through a variant come after every
page that matches exactly: the exact search runs first, and the widened one only fills what is
left of the requested page of results. So a common word costs no more than before, and a word with
enough exact hits never looks for variants at all.

Phrases, prefixes, words after NOT and words with digits are matched as typed: a number one digit
off is another number, not a misreading.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import Connection

from ocrwatch.index import dialects
from ocrwatch.index.records import Ranked
from ocrwatch.index.search.filters import Filters, Sort
from ocrwatch.index.search.query import Query, Term, fold

MAX_VARIANTS = 16
"""Variants per word, nearest first: enough for a word's usual misreadings, few enough to keep the
widened full-text query fast."""


def distance(word: str) -> int:
    """How many letters a word may be off. A word of three letters or fewer has too many neighbours
    (`tan`: `tin`, `ten`, `can`...), so it gets none; one edit up to seven letters, two from eight."""
    if len(word) <= 3:
        return 0
    return 1 if len(word) <= 7 else 2


def search(
    connection: Connection,
    query: Query,
    limit: int,
    offset: int,
    filters: Filters,
    sort: Sort,
    exact: bool = False,
) -> list[tuple[Ranked, Query]]:
    """Pages matching `query`, exact hits first, then (unless `exact`) pages that match only through
    variants; each with the query whose words it matched, for highlighting them."""
    dialect = dialects.of(connection)
    found = dialect.search(connection, query, limit, offset, filters, sort)
    hits = [(match, query) for match in found]
    if exact or len(found) == limit:
        return hits
    widened = widen(query, connection)
    if widened == query:
        return hits
    exact_total = offset + len(found) if found or not offset else dialect.count(connection, query, filters)
    more = dialect.search(
        connection, widened, limit - len(found), max(0, offset - exact_total), filters, sort, without=query
    )
    return hits + [(match, widened) for match in more]


def widen(query: Query, connection: Connection) -> Query:
    """`query` with the variants the index holds of each word that may have them."""
    wanted = {token: distance(token) for term in query.parts if (token := _fuzzy_token(term))}
    if not wanted:
        return query
    similar = dialects.of(connection).similar_terms(connection, wanted, MAX_VARIANTS)
    if not any(similar.values()):
        return query
    parts = tuple(
        replace(part, variants=tuple(similar.get(token, ()))) if (token := _fuzzy_token(part)) else part
        for part in query.parts
    )
    return replace(query, parts=parts)


def _fuzzy_token(part: Term | str) -> str | None:
    """The token a term is widened by: a plain word of letters long enough to have variants."""
    if not isinstance(part, Term) or part.prefix or part.negated:
        return None
    tokens = fold(part.text)
    if len(tokens) != 1 or not tokens[0].isalpha() or not distance(tokens[0]):
        return None
    return tokens[0]
