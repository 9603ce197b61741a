"""Word pairs: each two adjacent tokens of a page joined into one token, so that a phrase is found
by looking up its pairs instead of checking the positions of its words.

A phrase of common words (`"tax invoice"`, `"rm 0.10"`) makes a full-text engine read the positions
of every page holding both words to keep those where they stand side by side; its pairs (`tax_invoice`,
`rm_0 0_10`) are as rare as the phrase itself. Two pair tokens follow each other exactly where three
words do, so a phrase of pairs matches the same pages, and counts the same occurrences for ranking,
as the phrase of words. A dialect whose phrase search is slow indexes `of_text` of each page
(SQLite: `dialects/sqlite_pairs.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from ocrwatch.index.search.query import Query, Term, fold

JOIN = "_"
"""Joins a pair's two tokens: a character that `fold` never leaves inside a token."""


@dataclass(frozen=True, slots=True)
class PairPhrase:
    """A phrase as a phrase of pair tokens; with `prefix`, the last pair's second token is a prefix."""

    pairs: tuple[str, ...]
    prefix: bool


def of_text(text: str) -> str:
    """The pair tokens of `text`, separated by spaces, after a first token that marks where the text
    starts (`_tax`): so a page has as many pairs as words, and bm25, which weighs a match by the
    page's length against the average, ranks a phrase of pairs exactly as the phrase of words. No
    query's pair starts with `JOIN`, so the first token never matches."""
    tokens = fold(text)
    return " ".join([JOIN + tokens[0], *of_tokens(tokens)]) if tokens else ""


def of_tokens(tokens: list[str]) -> list[str]:
    """Each token joined to the next."""
    return [f"{first}{JOIN}{second}" for first, second in pairwise(tokens)]


def phrase(query: Query) -> PairPhrase | None:
    """The query as pairs when it is one phrase of two or more tokens and nothing else (no other
    term, operator or variant), the search that pairs make fast; else None."""
    match query.parts:
        case [Term(text=text, prefix=prefix, negated=False, variants=())] if len(tokens := fold(text)) >= 2:
            return PairPhrase(tuple(of_tokens(tokens)), prefix)
    return None
