"""The index's vocabulary in memory, searched for the terms a few edits away from a query word.

SQLite has no index that finds strings by edit distance, and reading the `terms` table for every
search would cost more than the search: so each process keeps the terms in memory, grouped by
length, and reads only the rows added since it last looked (ids only grow). rapidfuzz's Levenshtein
distance with a cutoff compares a word with a hundred thousand terms in a few milliseconds.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Mapping

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein
from sqlalchemy import Connection, select

from ocrwatch.index.tables import terms


class Vocabulary:
    """The terms of one database, kept up to date by `refresh`; safe to share between threads."""

    def __init__(self) -> None:
        self._by_length: dict[int, list[str]] = defaultdict(list)
        self._last_id = 0
        self._lock = threading.Lock()

    def refresh(self, connection: Connection) -> None:
        """Add the terms stored since the last refresh."""
        with self._lock:
            query = select(terms.c.id, terms.c.term).where(terms.c.id > self._last_id).order_by(terms.c.id)
            for row in connection.execute(query):
                self._by_length[len(row.term)].append(row.term)
                self._last_id = row.id

    def similar(self, wanted: Mapping[str, int], limit: int) -> dict[str, list[str]]:
        """For each word, up to `limit` other terms within its edit distance, nearest first."""
        with self._lock:  # held throughout: refresh appends to the lists being searched
            return {word: self._near(word, distance, limit) for word, distance in wanted.items()}

    def _near(self, word: str, distance: int, limit: int) -> list[str]:
        found: list[tuple[int, str]] = []
        for length in range(len(word) - distance, len(word) + distance + 1):
            bucket = self._by_length.get(length, [])
            matches = process.extract(
                word, bucket, scorer=Levenshtein.distance, score_cutoff=distance, limit=None
            )
            found += ((int(score), term) for term, score, _ in matches if term != word)
        return [term for _, term in sorted(found)[:limit]]
