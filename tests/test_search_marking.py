"""Which words a query marks (`Query.marker`): the marker looks at the words that may hold a query
token only, found in one pass over them; it must mark exactly what folding every word would."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ocrwatch.index.search.query import Marker, fold, parse


def marked_by_folding_every_word(marker: Marker, words: list[str]) -> list[int]:
    """The marking rule read straight: every word folded, every position of the token stream tried."""
    marked = {
        index
        for index, word in enumerate(words)
        if any(token in marker.exact or token.startswith(marker.starts) for token in fold(word))
    }
    stream = [(token, index) for index, word in enumerate(words) for token in fold(word)]
    for tokens, prefix in marker.phrases:
        for start in range(len(stream) - len(tokens) + 1):
            window = stream[start : start + len(tokens)]
            last = window[-1][0]
            if [token for token, _ in window[:-1]] == list(tokens[:-1]) and (
                last.startswith(tokens[-1]) if prefix else last == tokens[-1]
            ):
                marked.update(index for _, index in window)
    return sorted(marked)


QUERIES = ["tax", '"tax invoice"', "inv*", '"rm 65.20"', '"total rm"* cafe', "TAX NOT invoice", "crème"]
SOME_WORDS = [
    "TAX",
    "tax",
    "Invoice",
    "INVOICES",
    "-",
    ":",
    "RM",
    "65.20",
    "65",
    "20",
    "TOTAL:RM",
    "Café",
    "CAFE",
    "crème",
    "x",
    "TAXI",
    "rm65",
]
WORDS = st.lists(st.sampled_from(SOME_WORDS), max_size=12)


@given(st.sampled_from(QUERIES), WORDS)
def test_the_marker_marks_what_folding_every_word_marks(query: str, words: list[str]):
    marker = parse(query).marker()
    assert marker.matching(words) == marked_by_folding_every_word(marker, words)


def test_a_phrase_is_marked_across_a_word_without_letters_but_not_across_another_word():
    marker = parse('"tax invoice"').marker()
    assert marker.matching(["TAX", "-", "INVOICE", "1"]) == [0, 2]
    assert marker.matching(["TAX", "X", "INVOICE"]) == []
    assert marker.matching(["GST", "TAX", "INVOICE", "TAX"]) == [1, 2]


def test_words_with_accents_are_folded_before_they_are_matched():
    assert parse("creme").marker().matching(["Crème", "brûlée", "CREME", "cream"]) == [0, 2]
