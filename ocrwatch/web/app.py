"""The web application: the API, the page, and the rules every request passes first."""

from __future__ import annotations

import logging
import threading
from importlib.resources import files
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException

from ocrwatch import __version__
from ocrwatch.config import Settings
from ocrwatch.engines import Engine
from ocrwatch.errors import OcrwatchError
from ocrwatch.index import Index
from ocrwatch.monitoring import metrics
from ocrwatch.web import api
from ocrwatch.web.problems import Refused, status_for
from ocrwatch.web.security import Guard
from ocrwatch.web.services import Services
from ocrwatch.web.uploads import BodyLimit, body_limit

log = logging.getLogger(__name__)
STATIC = Path(str(files("ocrwatch.web") / "static"))

DESCRIPTION = """\
Read images and PDFs with the OCR engine, and search everything ocrwatch has indexed.

Words, lines and boxes have the shapes of ocrwatch's JSON output: a box is four `[x, y]` corners in
page pixels, clockwise from the top-left. Every refusal is JSON: `{"detail": "why"}`.

Clients beyond loopback need the server's token (`web.token`): `Authorization: Bearer <token>`, or
`?token=<token>`.
"""


def create_app(
    settings: Settings, index: Index, engine: Engine, *, engine_lock: threading.Lock | None = None
) -> FastAPI:
    """The ASGI app over `index` and `engine`; pass `engine_lock` when something else shares the engine."""
    app = FastAPI(
        title="ocrwatch",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/api/openapi.json",
        docs_url=None,  # the interactive docs would load their scripts from a CDN; the page must work offline
        redoc_url=None,
    )
    app.state.services = Services(settings, index, engine, engine_lock or threading.Lock())
    app.include_router(api.router)
    _add_page(app)
    _add_metrics(app, index)
    _add_error_handlers(app)
    app.add_middleware(
        BodyLimit,
        limit=body_limit(settings.web.max_upload_bytes),
        max_bytes=settings.web.max_upload_bytes,
    )
    app.add_middleware(Guard, token=settings.web.token, host=settings.web.host)  # last added runs first
    return app


def _add_page(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")


def _add_metrics(app: FastAPI, index: Index) -> None:
    """Prometheus's scrape target, behind the same access rule as the API (`security.py`). A plain
    function: the framework runs it in its thread pool, so the index queries never block the loop."""
    registry = metrics.registry(index)

    @app.get("/metrics", include_in_schema=False)
    def scrape() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Refused)
    async def refused(request: Request, error: Refused) -> JSONResponse:
        return JSONResponse({"detail": error.detail}, error.status, headers=error.headers)

    @app.exception_handler(OcrwatchError)
    async def typed(request: Request, error: OcrwatchError) -> JSONResponse:
        status = status_for(error)
        if status >= 500:
            log.error("%s %s: %s", request.method, request.url.path, error)
        return JSONResponse({"detail": str(error)}, status)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _describe(error)}, 422)

    @app.exception_handler(HTTPException)
    async def http(request: Request, error: HTTPException) -> JSONResponse:
        return JSONResponse({"detail": str(error.detail)}, error.status_code, headers=error.headers)


def _describe(error: RequestValidationError) -> str:
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item.get("loc", ()))
        problems.append(f"{where}: {item.get('msg', 'invalid')}" if where else item.get("msg", "invalid"))
    return "invalid request: " + "; ".join(problems)


def make_server(
    settings: Settings, index: Index, engine: Engine, *, engine_lock: threading.Lock | None = None
) -> uvicorn.Server:
    """A server for the page and the API on `settings.web.host:port`, not yet started.

    `ocrwatch serve` runs it in the foreground (`serve`). A process that does other work too (the
    daemon) can run `server.run()` in a thread and stop it with `server.should_exit = True`; pass the
    lock that guards the engine if that process reads with the same engine.
    """
    app = create_app(settings, index, engine, engine_lock=engine_lock)
    config = uvicorn.Config(
        app,
        host=settings.web.host,
        port=settings.web.port,
        log_level="warning",
        log_config=None,  # uvicorn's records go to the process's own log lines (`--log-format`)
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=5,
    )
    return uvicorn.Server(config)


def serve(
    settings: Settings, index: Index, engine: Engine, *, engine_lock: threading.Lock | None = None
) -> None:
    """Serve the page and the API until interrupted (blocks)."""
    make_server(settings, index, engine, engine_lock=engine_lock).run()
