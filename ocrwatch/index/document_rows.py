"""How a `DocumentText` is kept in the pages, lines and words tables, and rebuilt from them."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    LargeBinary,
    Row,
    ScalarSelect,
    cast,
    delete,
    func,
    insert,
    or_,
    select,
)

from ocrwatch.engines.base import Line, PageText, Word
from ocrwatch.geometry import Quad
from ocrwatch.index import dialects
from ocrwatch.index.records import FileStatus, StoredDocument
from ocrwatch.index.search import terms
from ocrwatch.index.search.query import Marker
from ocrwatch.index.tables import documents, files, lines, pages, words
from ocrwatch.result import DocumentText


def store(connection: Connection, content: DocumentText, now: datetime) -> int:
    """Insert the document, or replace the pages of the one with the same sha256; return its id.

    One upsert, so that two workers recording the same content at once (PostgreSQL runs them side by
    side) make one document: the later waits for the earlier's row and replaces its pages.
    """
    details = {
        "engine": content.engine,
        "engine_version": content.engine_version,
        "page_count": len(content.pages),
        "ocr_seconds": content.ocr_seconds,
        "timings": json.dumps(content.timings),
    }
    upsert = (
        dialects.of(connection)
        .insert(documents)
        .values(sha256=content.sha256, created_at=now, **details)
        .on_conflict_do_update(index_elements=[documents.c.sha256], set_=details)
        .returning(documents.c.id)
    )
    document_id: int = connection.execute(upsert).scalar_one()
    connection.execute(delete(pages).where(pages.c.document_id == document_id))
    _insert_pages(connection, document_id, content.pages)
    terms.record(connection, (page.text for page in content.pages))
    return document_id


def _insert_pages(connection: Connection, document_id: int, content: list[PageText]) -> None:
    """Insert pages one statement per table: a 20-page PDF has thousands of words."""
    if not content:
        return
    page_rows = [
        {
            "document_id": document_id,
            "number": number,
            "width": page.width,
            "height": page.height,
            "text": page.text,
            "rotation": page.rotation,
            "engine": page.engine,
            "source": page.source,
            "reason": page.reason,
            "seconds": page.seconds,
        }
        for number, page in enumerate(content, start=1)
    ]
    page_ids = connection.scalars(
        insert(pages).returning(pages.c.id, sort_by_parameter_order=True), page_rows
    ).all()
    line_rows: list[dict[str, Any]] = []
    word_rows: list[dict[str, Any]] = []
    for page_id, page in zip(page_ids, content, strict=True):
        line_of = {word: number for number, line in enumerate(page.lines) for word in line.words}
        line_rows += (
            {
                "page_id": page_id,
                "number": number,
                "text": line.text,
                "score": line.score,
                "box": json.dumps(line.box),
            }
            for number, line in enumerate(page.lines)
        )
        word_rows += (
            {
                "page_id": page_id,
                "number": number,
                "line_number": line_of.get(number),
                "text": word.text,
                "score": word.score,
                "box": json.dumps(word.box),
            }
            for number, word in enumerate(page.words)
        )
    for table, rows in ((lines, line_rows), (words, word_rows)):
        if rows:
            connection.execute(insert(table), rows)


def source_path(document_id: ColumnElement[int]) -> ScalarSelect[str]:
    """The path of the document's first-recorded file, the one `load` lists first and `Index.document`
    calls its source; a subquery correlated on `document_id`."""
    return (
        select(files.c.path)
        .where(files.c.document_id == document_id)
        .order_by(files.c.id)
        .limit(1)
        .scalar_subquery()
    )


def load(connection: Connection, document_id: int) -> StoredDocument | None:
    document = connection.execute(select(documents).where(documents.c.id == document_id)).first()
    if document is None:
        return None
    holders = connection.execute(
        select(files.c.path, files.c.moved_to, files.c.status, files.c.output_stem)
        .where(files.c.document_id == document_id)
        .order_by(files.c.id)
    ).all()
    of_document = pages.c.document_id == document_id
    page_rows = connection.execute(select(pages).where(of_document).order_by(pages.c.number)).all()
    page_lines = _group(
        connection.execute(
            select(lines).join(pages).where(of_document).order_by(lines.c.page_id, lines.c.number)
        )
    )
    page_words = _group(
        connection.execute(
            select(words).join(pages).where(of_document).order_by(words.c.page_id, words.c.number)
        )
    )
    paths = [holder.path for holder in holders]
    content = DocumentText(
        source=Path(paths[0]),
        sha256=document.sha256,
        engine=document.engine,
        engine_version=document.engine_version,
        pages=[_page(row, page_lines[row.id], page_words[row.id]) for row in page_rows],
        ocr_seconds=document.ocr_seconds,
        timings=json.loads(document.timings),
    )
    return StoredDocument(
        id=document.id,
        paths=paths,
        originals=[holder.moved_to or holder.path for holder in holders],
        output_stem=next((h.output_stem for h in holders if h.status == FileStatus.DONE), None),
        created_at=document.created_at,
        content=content,
    )


def _page(row: Row[Any], line_rows: list[Row[Any]], word_rows: list[Row[Any]]) -> PageText:
    members: dict[int, list[int]] = defaultdict(list)
    for word in word_rows:
        if word.line_number is not None:
            members[word.line_number].append(word.number)
    return PageText(
        width=row.width,
        height=row.height,
        rotation=row.rotation,
        engine=row.engine,
        source=row.source,
        reason=row.reason,
        seconds=row.seconds,
        words=[Word(text=w.text, score=w.score, box=_load(w.box)) for w in word_rows],
        lines=[
            Line(text=line.text, score=line.score, box=_load(line.box), words=tuple(members[line.number]))
            for line in line_rows
        ],
    )


def matching_words(
    connection: Connection, markers: Mapping[int, Marker]
) -> dict[int, list[tuple[int, Word]]]:
    """For each page id, the words its query's marker marks, with their indices, for highlighting a hit.

    The database returns only the words that may match: those holding a piece of the query in
    their lowercase (any case for ASCII, as LIKE compares), and every word with other letters, whose
    accents only `fold` removes; the marker decides, run by run of words side by side (a phrase is
    marked where its words stand together; one split by a word without letters or digits, which the
    database leaves out, is marked in the snippet but not in the boxes). Pages whose query marks
    nothing (a search by filters alone) have none, and cost no look-up."""
    found: dict[int, list[tuple[int, Word]]] = {page_id: [] for page_id in markers}
    marking = {page_id: marker for page_id, marker in markers.items() if marker.marks_any}
    if not marking:
        return found
    pieces = sorted({piece for marker in marking.values() for piece in marker.pieces})
    may_match = or_(
        func.length(words.c.text) != func.length(cast(words.c.text, LargeBinary)),  # not ASCII
        *(func.lower(words.c.text).contains(piece, autoescape=True) for piece in pieces),
    )
    rows = connection.execute(
        select(words.c.page_id, words.c.number, words.c.text, words.c.score, words.c.box)
        .where(words.c.page_id.in_(list(marking)), may_match)
        .order_by(words.c.page_id, words.c.number)
    )
    for page_id, candidates in _group(rows).items():
        for run in _consecutive(candidates):
            for at in marking[page_id].matching([row.text for row in run]):
                row = run[at]
                found[page_id].append((row.number, Word(row.text, row.score, _load(row.box))))
    return found


def _consecutive(rows: list[Row[Any]]) -> list[list[Row[Any]]]:
    """Runs of words that stand side by side (numbers one apart): a phrase can only be found inside one."""
    runs: list[list[Row[Any]]] = []
    for row in rows:
        if runs and runs[-1][-1].number + 1 == row.number:
            runs[-1].append(row)
        else:
            runs.append([row])
    return runs


def _group(rows: Iterable[Row[Any]]) -> dict[int, list[Row[Any]]]:
    grouped: dict[int, list[Row[Any]]] = defaultdict(list)
    for row in rows:
        grouped[row.page_id].append(row)
    return grouped


def _load(box: str) -> Quad:
    a, b, c, d = ((x, y) for x, y in json.loads(box))
    return (a, b, c, d)
