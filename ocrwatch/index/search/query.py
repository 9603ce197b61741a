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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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

    def matching_words(self, words: Sequence[str]) -> list[int]:
        """Indices of `words` to mark (`Marker.matching`); to mark many runs of words, take the
        `marker()` once."""
        return self.marker().matching(words)

    def marker(self) -> Marker:
        """What marks this query's words, worked out once."""
        return Marker(self.matcher(), tuple(self.phrases()))

    def matcher(self) -> Callable[[str], bool]:
        """Whether a word contains a token of a (not negated) one-token term or of its variants, or
        starts a token with a prefix term's token. Phrases need the words around: `matching_words`."""
        exact, starts = self._one_token_terms()
        if not exact and not starts:
            return _no_word
        # An ASCII word folds to pieces of its lowercase: one that holds none of the tokens is skipped
        # without folding it, which makes highlighting a page's words cheap.
        held = re.compile("|".join(map(re.escape, sorted({*exact, *starts}))), re.IGNORECASE)

        def matches(word: str) -> bool:
            if word.isascii() and not held.search(word):
                return False
            return any(token in exact or token.startswith(starts) for token in fold(word))

        return matches

    def highlights(self) -> bool:
        """Whether any word can match: false for a search by filters alone, which has no terms."""
        exact, starts = self.highlighted()
        return bool(exact or starts)

    def highlighted(self) -> tuple[frozenset[str], tuple[str, ...]]:
        """Every folded token a marked word may hold, and the prefixes (a word without any of them
        is never marked: the database leaves it out before `matching_words` looks)."""
        exact: set[str] = set()
        prefixes: set[str] = set()
        for part in self._marked_terms():
            tokens = fold(part.text)
            exact.update(tokens[:-1] if part.prefix else tokens)
            if part.prefix:
                prefixes.add(tokens[-1])
            exact.update(part.variants)
        return frozenset(exact), tuple(sorted(prefixes))

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
    """A query's rule for marking words, derived once from its terms: `document_rows.matching_words`
    applies it to many runs of words, and re-deriving it for each (folding the terms, building the
    pattern) cost 250 times the match itself."""

    word: Callable[[str], bool]
    """Whether a word holds a one-token term (`Query.matcher`)."""
    phrases: tuple[tuple[list[str], bool], ...]
    """The phrases' tokens, and whether the last is a prefix (`Query.phrases`)."""

    def matching(self, words: Sequence[str]) -> list[int]:
        """Indices of `words`, consecutive words in reading order, to mark: those holding a token of
        a (not negated) one-token term or of its variants (a prefix term's by prefix), and the words
        that make up each instance of a phrase, its tokens side by side and in order, as the
        full-text index matched it; a lone word of a phrase is not marked."""
        marked = {index for index, word in enumerate(words) if self.word(word)}
        if self.phrases:
            marked.update(_instances(words, self.phrases))
        return sorted(marked)


def _instances(words: Sequence[str], phrases: Sequence[tuple[list[str], bool]]) -> set[int]:
    """Indices of the words that hold the tokens of an instance of one of `phrases` (an instance may
    start or end inside a word: `rm 65` in `RM 65.20`)."""
    stream = [(token, index) for index, word in enumerate(words) for token in fold(word)]
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


def _no_word(word: str) -> bool:
    return False


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
