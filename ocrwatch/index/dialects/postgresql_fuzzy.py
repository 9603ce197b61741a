"""PostgreSQL's part of fuzzy search: the terms near a misread word, found by the database itself.

`dialects.Dialect.similar_terms` for PostgreSQL (`postgresql.py` hands it on). Where SQLite holds
the vocabulary in memory (`vocabulary.py`), PostgreSQL searches the same `terms` table with a
trigram index: `pg_trgm`'s `%` operator, which uses a GIN index on `terms.term` (gin_trgm_ops),
narrows the vocabulary to the terms that share enough trigrams with the word, and `fuzzystrmatch`'s
`levenshtein` keeps those within the word's edit distance, nearest first. The length bound lets the
index skip the rest cheaply too.

Needs the extensions and the trigram index that migration 0007 creates (`postgresql.create_vocabulary`;
both extensions are trusted, so the database's owner may create them).

Trigram similarity alone misses words one or two letters off when they are short (a 5-letter word
with one letter changed shares only half its trigrams), so for each word the threshold
(`pg_trgm.similarity_threshold`, 0.3 by default) is lowered, for this transaction only, to the least
that a term `distance` edits off can keep (`threshold`): nothing within the distance is missed.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection, text

SIMILAR = text(
    """
    SELECT term, levenshtein(term, :word) AS distance
    FROM terms
    WHERE term % :word
      AND length(term) BETWEEN :shortest AND :longest
      AND term <> :word
      AND levenshtein(term, :word) <= :distance
    ORDER BY distance, term
    LIMIT :limit
    """
)


def similar_terms(connection: Connection, wanted: Mapping[str, int], limit: int) -> dict[str, list[str]]:
    """For each folded word, up to `limit` other terms within its edit distance, nearest first."""
    found: dict[str, list[str]] = {}
    for word, distance in wanted.items():
        connection.execute(
            text("SELECT set_config('pg_trgm.similarity_threshold', :threshold, true)"),
            {"threshold": str(threshold(word, distance))},
        )
        rows = connection.execute(
            SIMILAR,
            {
                "word": word,
                "distance": distance,
                "shortest": len(word) - distance,
                "longest": len(word) + distance,
                "limit": limit,
            },
        )
        found[word] = [row.term for row in rows]
    return found


def threshold(word: str, distance: int) -> float:
    """The lowest trigram similarity between `word` and a term `distance` edits off it.

    pg_trgm pads a word with two spaces before and one after, which gives it `len(word) + 1`
    trigrams, fewer distinct ones when some repeat; each edit spoils at most three of the word's
    and adds at most one trigram, so a term shares at least `distinct - 3 * distance` of them and has
    at most `len(word) + 1 + distance` of its own. Similarity is the shared over the union.
    """
    padded = f"  {word} "
    distinct = len({padded[at : at + 3] for at in range(len(padded) - 2)})
    shared = max(distinct - 3 * distance, 0)
    return round(shared / (distinct + len(word) + 1 + distance - shared) - 0.0005, 3)
