"""Which pages a search may return besides its words: when they were read, from which folder, what
kind of file, and in which order. Given as options, or in the query's text (`after:2026-01-31`).

The conditions are portable SQLAlchemy over `pages`, `documents` and `files`; each dialect's search
applies them inside its full-text query, so that LIMIT counts only the pages that pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import ColumnElement, exists, func, or_, select

from ocrwatch.documents import SUFFIXES
from ocrwatch.errors import QueryError
from ocrwatch.index.tables import documents, files, pages

KINDS: dict[str, tuple[str, ...]] = {
    "image": tuple(sorted(suffix for suffix in SUFFIXES if suffix != ".pdf")),
    "pdf": (".pdf",),
}
"""File types by name; any other type is a file extension (`png`) or a media type (`image/png`)."""
_SAME = ((".jpg", ".jpeg"), (".tif", ".tiff"))

# key:value outside quotes; a value in quotes may hold spaces (folder:"my scans").
_FILTER = re.compile(
    r'(?<![^\s])(?P<key>after|before|folder|type):(?:"(?P<quoted>[^"]*)"|(?P<value>[^\s"]+))'
)


class Sort(StrEnum):
    RELEVANCE = "relevance"
    """Best match first (bm25), the default."""
    DATE = "date"
    """Newest read first."""


@dataclass(frozen=True, slots=True)
class Filters:
    """What a hit must also be; None lets anything pass."""

    after: datetime | None = None
    """Read at this moment or later: `after:2026-01-31` takes the whole of that day."""
    before: datetime | None = None
    """Read before this moment: `before:2026-02-01` ends as that day begins."""
    folder: str | None = None
    """A watched folder: its path, or its last part (`receipts` for /srv/scans/receipts)."""
    type: str | None = None
    """`image`, `pdf`, an extension (`png`, `.tif`) or a media type (`image/png`)."""

    def over(self, other: Filters) -> Filters:
        """These filters, with `other`'s where these have none."""
        return replace(
            other, **{f.name: value for f in fields(self) if (value := getattr(self, f.name)) is not None}
        )


NO_FILTERS = Filters()


def extract(text: str) -> tuple[str, Filters]:
    """The query's text without its filters, and the filters it held."""
    found: dict[str, str] = {}
    for match in _FILTER.finditer(text):
        key = match["key"]
        if key in found:
            raise QueryError(f"cannot search for {text!r}: {key}: is given twice")
        found[key] = match["quoted"] if match["quoted"] is not None else match["value"]
    rest = _FILTER.sub(" ", text)
    return rest, Filters(
        after=moment(found["after"], "after") if "after" in found else None,
        before=moment(found["before"], "before") if "before" in found else None,
        folder=found.get("folder") or None,
        type=found.get("type") or None,
    )


def moment(value: str, name: str) -> datetime:
    """An ISO date (its midnight) or date and time, in UTC unless it names a zone."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise QueryError(
            f"{name}: wants a date such as 2026-01-31 (or 2026-01-31T08:00), not {value!r}"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def conditions(filters: Filters) -> list[ColumnElement[bool]]:
    """WHERE clauses over `pages` (and `documents`, which the search must join) for `filters`."""
    found: list[ColumnElement[bool]] = []
    if filters.after is not None:
        found.append(documents.c.created_at >= filters.after)
    if filters.before is not None:
        found.append(documents.c.created_at < filters.before)
    held: list[ColumnElement[bool]] = []
    if filters.folder is not None:
        held.append(in_folder(filters.folder))
    if filters.type is not None:
        held.append(of_type(filters.type))
    if held:  # one file of the document must pass all, not each a different file
        found.append(exists(select(files.c.id).where(files.c.document_id == pages.c.document_id, *held)))
    return found


def in_folder(folder: str) -> ColumnElement[bool]:
    """A file found in the watched folder `folder`, named by its name (the same on every host) or by
    the path the host that read it watches it at."""
    path = folder.rstrip("/") or "/"
    return or_(files.c.folder == folder, files.c.root == path)


def of_type(kind: str) -> ColumnElement[bool]:
    """A file of `kind`, judged by its name's extension (what the pipeline judged it by too)."""
    path = func.lower(files.c.path)
    return or_(*(path.endswith(suffix, autoescape=True) for suffix in _suffixes(kind)))


def _suffixes(kind: str) -> tuple[str, ...]:
    """`png`, `.png` and `image/png` all name `.png`; `jpg` and `jpeg` name each other too."""
    name = kind.lower().rpartition("/")[2].lstrip(".")
    if name in KINDS:
        return KINDS[name]
    if not name:
        raise QueryError(f"type: wants image, pdf, an extension or a media type, not {kind!r}")
    return next((same for same in _SAME if f".{name}" in same), (f".{name}",))
