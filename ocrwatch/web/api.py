"""The HTTP API: thin calls into the engine, the pipeline and the index, answered in the JSON shapes
of the core's output (`outputs/jsonfile.page_to_dict`).

Endpoints that read images are plain functions: the framework runs them in its thread pool.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Request, Response, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import FileResponse

from ocrwatch import __version__
from ocrwatch.engines import PageText
from ocrwatch.index import FileStatus, Filters, Sort, StoredDocument
from ocrwatch.outputs.jsonfile import page_to_dict
from ocrwatch.pipeline import Status
from ocrwatch.web import dashboard, images
from ocrwatch.web.problems import Refused
from ocrwatch.web.schemas import (
    DashboardOut,
    DocumentOut,
    HealthOut,
    HitOut,
    HitWord,
    ImageIn,
    OcrOut,
    Problem,
    RetryOut,
    SearchOut,
    SnippetSegment,
    StatsOut,
    StoredPageOut,
)
from ocrwatch.web.services import Services
from ocrwatch.web.uploads import Staged, decode_data_url, safe_name

MAX_ID = 2**63 - 1
"""SQLite's largest integer: a larger id could not name a row, and SQLite would refuse it."""

PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": description}
    for status, description in {
        400: "Bad request: bad base64, an empty upload, a query that cannot be searched",
        401: "A token is required or the one sent is wrong",
        403: "Refused: a client beyond loopback without a configured token, another site's page",
        404: "No such document, page, image or file",
        413: "The upload is over web.max_upload_mb, or an image over documents.max_pixels",
        415: "Not an image or PDF",
        422: "The request does not fit the schema, or the image is damaged",
        503: "The index cannot be reached",
    }.items()
}
IMAGE = {200: {"content": {"image/jpeg": {}}, "description": "A JPEG image"}}

router = APIRouter(prefix="/api", responses=PROBLEMS)


def services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(services)]
DocumentId = Annotated[int, PathParam(ge=1, le=MAX_ID, description="a document id")]
FileId = Annotated[int, PathParam(ge=1, le=MAX_ID, description="an arrival's id (a failure's `id`)")]
PageNumber = Annotated[int, PathParam(ge=1, le=100_000, description="1-based page number")]


@router.post("/", summary="Read a data-URL image (the seed's call)")
def read_data_url(body: ImageIn, app: ServicesDep) -> OcrOut:
    """Read one image sent as `{"image": "data:image/...;base64,..."}`; answer its words with boxes."""
    max_bytes = app.settings.web.max_upload_bytes
    data = decode_data_url(body.image, max_bytes)
    with tempfile.TemporaryDirectory(prefix="ocrwatch-upload-") as folder, Staged(Path(folder)) as staged:
        staged.write(data, max_bytes)
        staged.finish()
        pages, seconds = app.read(staged.path)
    return _ocr_out(app, pages, seconds)


@router.post("/ocr", summary="Read an uploaded image or PDF; ?index=true also stores it")
def read_upload(
    app: ServicesDep,
    file: Annotated[UploadFile, File(description="an image (JPEG, PNG, TIFF, BMP, WebP) or a PDF")],
    index: Annotated[bool, Query(description="also keep the file and store it in the index")] = False,
) -> OcrOut:
    max_bytes = app.settings.web.max_upload_bytes
    if not index:
        with tempfile.TemporaryDirectory(prefix="ocrwatch-upload-") as folder, Staged(Path(folder)) as staged:
            staged.copy_from(file.file, max_bytes)
            staged.finish()
            pages, seconds = app.read(staged.path)
        return _ocr_out(app, pages, seconds)
    with Staged(app.uploads) as staged:
        staged.copy_from(file.file, max_bytes)
        staged.finish()
        app.check_opens(staged.path)  # refuse a bad file before it is kept and recorded
        kept = staged.keep_as(app.uploads / f"{staged.sha256[:8]}-{safe_name(file.filename)}")
    outcome = app.index_file(kept)
    if outcome.status is Status.FAILED or outcome.document_id is None:
        raise Refused(422, f"the file could not be read: {outcome.error}")
    document = _document(app, outcome.document_id)
    pages = document.content.pages
    return _ocr_out(app, pages, outcome.seconds, document_id=document.id, status=outcome.status.value)


@router.get("/search", summary="Search everything indexed")
def search(
    app: ServicesDep,
    q: Annotated[
        str,
        Query(
            max_length=500,
            description='words, "a phrase", a prefix*; also after:DATE before:DATE folder:NAME type:KIND. '
            "Empty with a filter: the pages that pass, newest read first",
        ),
    ] = "",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    exact: Annotated[bool, Query(description="only the words as typed, not their misreadings")] = False,
    after: Annotated[
        datetime | None, Query(description="read at or after this ISO date or time (UTC)")
    ] = None,
    before: Annotated[datetime | None, Query(description="read before this ISO date or time (UTC)")] = None,
    folder: Annotated[
        str | None, Query(max_length=4096, description="a watched folder: its path or its name")
    ] = None,
    type: Annotated[
        str | None, Query(max_length=100, description="image, pdf, an extension (png) or a media type")
    ] = None,
    sort: Annotated[
        Sort, Query(description="relevance (best first) or date (newest first)")
    ] = Sort.RELEVANCE,
) -> SearchOut:
    """Pages that match, best first, with the snippet's matches marked and the matching words' boxes.
    Pages that match only through misreadings of the query's words come after the rest (`fuzzy`).
    With filters and no words, the pages that pass them, newest read first, nothing marked; with
    neither, a 400."""
    filters = Filters(after=_utc(after), before=_utc(before), folder=folder or None, type=type or None)
    hits = app.index.search(q, limit=limit, offset=offset, filters=filters, sort=sort, exact=exact)
    out = [
        HitOut(
            document_id=hit.document_id,
            page=hit.page,
            path=hit.path,
            rank=hit.rank,
            fuzzy=hit.fuzzy,
            snippet=[SnippetSegment(text=text, match=marked) for text, marked in hit.snippet],
            words=[
                HitWord(index=index, text=word.text, score=word.score, box=[[x, y] for x, y in word.box])
                for index, word in zip(hit.words, hit.matched, strict=True)
            ],
            width=hit.width,
            height=hit.height,
            document_url=f"/api/documents/{hit.document_id}",
            **_page_urls(hit.document_id, hit.page),
        )
        for hit in hits
    ]
    return SearchOut(query=q, limit=limit, offset=offset, hits=out)


def _utc(moment: datetime | None) -> datetime | None:
    """A time without a zone is taken as UTC, as in the query's own after: and before:."""
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)


@router.get("/documents/{document_id}", summary="A document: text, metadata, pages, words")
def document(document_id: DocumentId, app: ServicesDep) -> DocumentOut:
    stored = _document(app, document_id)
    content = stored.content
    return DocumentOut(
        id=stored.id,
        paths=stored.paths,
        sha256=content.sha256,
        engine=content.engine,
        engine_version=content.engine_version,
        ocr_seconds=content.ocr_seconds,
        created_at=stored.created_at,
        outputs=stored.output_stem,
        text=content.text,
        pages=[
            StoredPageOut(**page_to_dict(page, number), text=page.text, **_page_urls(stored.id, number))
            for number, page in enumerate(content.pages, start=1)
        ],
    )


@router.get(
    "/documents/{document_id}/pages/{page}/image",
    summary="The page as the engine read it, from the original file",
    response_class=Response,
    responses=IMAGE,
)
def page_image(document_id: DocumentId, page: PageNumber, app: ServicesDep, request: Request) -> Response:
    stored = _document(app, document_id)
    images.check_page(stored, page)
    etag = f'"{stored.content.sha256[:32]}-{page}"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    return Response(
        images.original(app.settings, stored, page),
        media_type="image/jpeg",
        headers={"ETag": etag, "Cache-Control": "private, max-age=3600"},
    )


@router.get(
    "/documents/{document_id}/pages/{page}/annotated",
    summary="The page's annotated copy from the output folder",
    response_class=FileResponse,
    responses=IMAGE,
)
def page_annotated(document_id: DocumentId, page: PageNumber, app: ServicesDep) -> FileResponse:
    path = images.annotated_path(app.settings, _document(app, document_id), page)
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=60"})


@router.get(
    "/documents/{document_id}/pages/{page}/thumbnail",
    summary="A small copy of the annotated page, for lists",
    response_class=Response,
    responses=IMAGE,
)
def page_thumbnail(document_id: DocumentId, page: PageNumber, app: ServicesDep) -> Response:
    data = images.thumbnail(app.settings, _document(app, document_id), page)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=60"})


@router.get("/health", summary="Is the server up and its index reachable")
def health(app: ServicesDep) -> HealthOut:
    try:
        version = app.index.schema_version()
    except Exception as error:
        raise Refused(503, f"the index cannot be reached: {error}") from None
    return HealthOut(
        status="ok",
        version=__version__,
        engine=app.engine.name,
        engine_version=app.engine.version,
        schema_version=version,
    )


@router.get("/stats", summary="Files by state, the queue's length, recent failures")
def stats(app: ServicesDep) -> StatsOut:
    counts = app.index.counts()
    return StatsOut(
        counts={status.value: count for status, count in counts.items()},
        queue=counts[FileStatus.QUEUED] + counts[FileStatus.PROCESSING],
        recent_failures=[dashboard.failure(record) for record in app.index.recent_failures(10)],
    )


@router.get(
    "/dashboard",
    summary="The hot folder at a glance: folders, daemons, failures, the latest documents",
    response_model=DashboardOut,
    responses={304: {"description": "Nothing changed since the ETag sent in If-None-Match"}},
)
def dashboard_bundle(app: ServicesDep, request: Request, response: Response) -> DashboardOut | Response:
    """Per watched folder its files by state and the daemons that watch it (running, paused and why,
    stopped), the latest failures with their reasons, and the documents read last.

    Answers carry an ETag; a request whose If-None-Match holds it gets 304 while nothing changed,
    at the cost of a few index look-ups: poll it so.
    """
    etag = app.dashboard.etag()
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    response.headers.update(headers)
    return app.dashboard.bundle(etag)


@router.post(
    "/files/{file_id}/retry",
    summary="Read a failed file again once its cause is fixed (as `ocrwatch retry`)",
    responses={409: {"model": Problem, "description": "Not failed, or its original is no longer there"}},
)
def retry(file_id: FileId, app: ServicesDep) -> RetryOut:
    """Put the failed file back in the queue, attempts reset; the daemon watching its folder reads it
    again. Refused for a file that is not failed, or whose original was moved away."""
    return dashboard.retry(app.index, file_id)


def _document(app: Services, document_id: int) -> StoredDocument:
    stored = app.index.document(document_id)
    if stored is None:
        raise Refused(404, f"no document with id {document_id}")
    return stored


def _ocr_out(
    app: Services,
    pages: list[PageText],
    seconds: float,
    document_id: int | None = None,
    status: str | None = None,
) -> OcrOut:
    return OcrOut(
        engine=app.engine.name,
        engine_version=app.engine.version,
        seconds=round(seconds, 3),
        pages=[page_to_dict(page, number) for number, page in enumerate(pages, start=1)],
        text="\n\f".join(page.text for page in pages),
        document_id=document_id,
        document_url=None if document_id is None else f"/api/documents/{document_id}",
        status=status,
    )


def _page_urls(document_id: int, page: int) -> dict[str, str]:
    base = f"/api/documents/{document_id}/pages/{page}"
    return {
        "image_url": f"{base}/image",
        "annotated_url": f"{base}/annotated",
        "thumbnail_url": f"{base}/thumbnail",
    }
