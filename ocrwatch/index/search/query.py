"""What a user typed into a search box, parsed into terms and operators.

The language is small on purpose: words (all must match, in any order), "quoted phrases", a
trailing * for a prefix, and uppercase OR, AND and NOT between terms. Everything else that a
full-text engine would read as syntax (punctuation, parentheses, column filters, NEAR) stays text,
so no query can reach the engine as anything but terms. Rendering a query in one engine's syntax
is that engine's module's job (`dialects/`).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Literal

from ocrwatch.errors import QueryError

Operator = Literal["AND", "OR", "NOT"]
OPERATORS: tuple[Operator, ...] = ("AND", "OR", "NOT")

# A quoted phrase (its closing quote and prefix star optional, so that a missing quote is noticed)
# or a bare word: anything up to whitespace or a quote.
_PIECE = re.compile(r'"(?P<phrase>[^"]*)(?P<close>"\**)?|(?P<word>[^\s"]+)')
_TOKEN = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class Term:
    """A word or phrase to look for; `prefix` lets its last token match the start of a word."""

    text: str
    prefix: bool = False
    negated: bool = False
    """It follows NOT: pages with it are excluded, and its words are never highlighted."""
    variants: tuple[str, ...] = ()
    """Other terms of the index that match in its place: its misreadings (`fuzzy.widen`), folded."""


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: terms, with operators between some of them (none between means AND)."""

    text: str
    parts: tuple[Term | Operator, ...]

    def marker(self) -> Marker:
        """What marks this query's words, worked out once: hits take one per query, not per page."""
        exact, starts = self._one_token_terms()
        pieces = tuple(sorted(self._pieces(), key=len, reverse=True))
        pattern = re.compile("|".join(map(re.escape, pieces))) if pieces else None
        return Marker(exact, starts, tuple(self.phrases()), pieces, pattern)

    def _pieces(self) -> set[str]:
        """Every folded token a marked word may hold, and the prefixes: a word without any is never
        marked."""
        pieces: set[str] = set()
        for part in self._marked_terms():
            pieces.update(fold(part.text))
            pieces.update(part.variants)
        return pieces

    def phrases(self) -> list[tuple[list[str], bool]]:
        """The (not negated) terms of two or more tokens, as their tokens and whether the last is a
        prefix."""
        return [(tokens, part.prefix) for part in self._marked_terms() if len(tokens := fold(part.text)) > 1]

    def _one_token_terms(self) -> tuple[frozenset[str], tuple[str, ...]]:
        exact: set[str] = set()
        prefixes: set[str] = set()
        for part in self._marked_terms():
            if len(tokens := fold(part.text)) == 1:
                (prefixes if part.prefix else exact).add(tokens[0])
                exact.update(part.variants)
        return frozenset(exact), tuple(sorted(prefixes))

    def _marked_terms(self) -> list[Term]:
        return [
            part for part in self.parts if isinstance(part, Term) and not part.negated and fold(part.text)
        ]


@dataclass(frozen=True, slots=True)
class Marker:
    """A query's rule for marking words, derived once from its terms: a search applies it to the
    text and the candidate words of every page it returns, and re-deriving it for each run of words
    (folding the terms, building the pattern) cost 250 times the match itself."""

    exact: frozenset[str]
    """The one-token terms' tokens and their variants: a word holding one is marked."""
    starts: tuple[str, ...]
    """The one-token prefix terms' tokens: a word with a token starting with one is marked."""
    phrases: tuple[tuple[list[str], bool], ...]
    """The phrases' tokens, and whether the last is a prefix (`Query.phrases`)."""
    pieces: tuple[str, ...]
    """Every token (or prefix) a marked word may hold: the database leaves out the words with none
    (`document_rows.matching_words`)."""
    pattern: re.Pattern[str] | None
    """Finds the pieces in lowercase ASCII (five times faster than searching in any case): an ASCII
    word without one is never folded."""

    @property
    def marks_any(self) -> bool:
        """Whether any word can be marked: not for a search by filters alone, which has no terms."""
        return bool(self.pieces)

    def matching(self, words: Sequence[str]) -> list[int]:
        """Indices of `words`, consecutive words in reading order, to mark: those holding a token of
        a (not negated) one-token term or of its variants (a prefix term's by prefix), and the words
        that make up each instance of a phrase, its tokens side by side and in order, as the
        full-text index matched it; a lone word of a phrase is not marked."""
        held = self._holding_pieces(words)
        marked = {index for index in held if self._holds_term(words[index])}
        if self.phrases:
            marked.update(_instances(words, held, self.phrases))
        return sorted(marked)

    def _holding_pieces(self, words: Sequence[str]) -> list[int]:
        """Indices of the words that may hold a marked token: found in one pass over the words
        joined when they are ASCII (a page of OCR text mostly is), which cost a quarter of matching
        them one by one; a word with other letters may fold to one, so it always may."""
        if self.pattern is None:
            return []
        joined = "\n".join(words)
        if not joined.isascii():
            return [
                index
                for index, word in enumerate(words)
                if not word.isascii() or self.pattern.search(word.lower())
            ]
        starts = list(accumulate((len(word) + 1 for word in words[:-1]), initial=0))
        return sorted(
            {bisect_right(starts, match.start()) - 1 for match in self.pattern.finditer(joined.lower())}
        )

    def _holds_term(self, word: str) -> bool:
        return any(token in self.exact or token.startswith(self.starts) for token in fold(word))


def _instances(words: Sequence[str], held: list[int], phrases: Sequence[tuple[list[str], bool]]) -> set[int]:
    """Indices of the words that hold the tokens of an instance of one of `phrases` (an instance may
    start or end inside a word: `rm 65` in `RM 65.20`). Every word of an instance holds a phrase
    token, so only the `held` words are read, and a word between two of them that has letters or
    digits of its own stands in the stream as an empty token, which no phrase spans."""
    stream: list[tuple[str, int]] = []
    for at, index in enumerate(held):
        if at and any(_TOKEN.search(word) for word in words[held[at - 1] + 1 : index]):
            stream.append(("", -1))
        stream.extend((token, index) for token in fold(words[index]))
    found: set[int] = set()
    for tokens, prefix in phrases:
        *leading, last = tokens
        for start in range(len(stream) - len(tokens) + 1):
            window = stream[start : start + len(tokens)]
            if [token for token, _ in window[:-1]] == leading and (
                window[-1][0].startswith(last) if prefix else window[-1][0] == last
            ):
                found.update(index for _, index in window)
    return found


def parse(text: str) -> Query:
    """Parse what a user typed, or explain in a `QueryError` why it cannot be searched for."""
    if not text.strip():
        raise QueryError(
            "the search is empty: type a word to search for, or a filter such as after:2026-01-31"
        )
    if "\0" in text:  # FTS5 ends a string at NUL, and then reports the string as unterminated
        raise QueryError("cannot search for a NUL character")
    parts: list[Term | Operator] = []
    for match in _PIECE.finditer(text):
        word, phrase, close = match["word"], match["phrase"], match["close"]
        if word in OPERATORS:
            parts.append(word)
        elif word is not None:
            stem = word.rstrip("*")
            parts.append(Term(stem, prefix=stem != word, negated=_after_not(parts)))
        elif close is None:
            raise QueryError(f"cannot search for {text!r}: a quote is not closed")
        else:
            parts.append(Term(phrase, prefix=close != '"', negated=_after_not(parts)))
    _check_operators(text, parts)
    if not any(isinstance(part, Term) and fold(part.text) for part in parts):
        raise QueryError(f"cannot search for {text!r}: it has no letters or digits to look for")
    return Query(text, tuple(parts))


def fold(text: str) -> list[str]:
    """Split text into tokens as the index's tokenizer does: runs of letters and digits, lowercased,
    accents removed. Highlighting uses this, so the words it marks are the words that matched."""
    if text.isascii():  # nothing to decompose: most OCR text, and much faster
        return _TOKEN.findall(text.lower())
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _TOKEN.findall(stripped.lower())


def _after_not(parts: list[Term | Operator]) -> bool:
    return bool(parts) and parts[-1] == "NOT"


def _check_operators(text: str, parts: list[Term | Operator]) -> None:
    """Every operator must stand between two terms."""
    for index, part in enumerate(parts):
        if isinstance(part, Term):
            continue
        before = parts[index - 1] if index > 0 else None
        after = parts[index + 1] if index + 1 < len(parts) else None
        if not isinstance(before, Term) or not isinstance(after, Term):
            raise QueryError(
                f"cannot search for {text!r}: {part} must stand between two terms, as in "
                f"'receipt {part} invoice' (to search for the word itself, write it in lowercase)"
            )
