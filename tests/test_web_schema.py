"""A property-based run over the API's OpenAPI schema (schemathesis): no request gets a 5xx, and every
answer fits the schema. The real app, engine and a real SQLite index, behind a real server."""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance, status_code_conformance

from ocrwatch.config import Settings, WebSettings
from ocrwatch.index import Index
from ocrwatch.web import create_app
from tests.conftest import render_text
from tests.webserver import ServerThread


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory, engine):
    root = tmp_path_factory.mktemp("schema")
    inbox = root / "inbox"
    inbox.mkdir()
    render_text(["Invoice 4711 total 129.50"]).save(inbox / "invoice.png")
    config = Settings(output=root / "out", web=WebSettings(max_upload_mb=1))
    with Index(config.database_url) as index:
        app = create_app(config, index, engine)
        # One document, so that generated ids and searches also reach the paths that find something.
        assert app.state.services.pipeline.process(inbox / "invoice.png", inbox).document_id == 1
        with ServerThread(app) as server:
            assert httpx.get(f"{server.url}/api/health", timeout=60).status_code == 200
            yield schemathesis.openapi.from_url(f"{server.url}/api/openapi.json")


EXAMPLES = 50
"""Per operation and generation mode: enough to reach every refusal, quick on a loaded machine."""


def test_no_request_gets_a_server_error(api_schema) -> None:
    """Valid and invalid requests for every operation. (Schemathesis's own pytest plugin does not run
    under pytest 9, so the operations are walked here, each with Hypothesis.)"""
    checks = [not_a_server_error, status_code_conformance, response_schema_conformance]
    base_url = api_schema.get_base_url()
    failures: list[str] = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,  # OCR of a generated image takes a while on a loaded machine
                suppress_health_check=list(HealthCheck),
                derandomize=True,  # the same examples every run: a failure here is a bug, not bad luck
                database=None,
            )
            def run(case) -> None:
                case.call_and_validate(base_url=base_url, checks=checks, timeout=120)

            try:
                run()
            except Unsatisfiable:
                if mode is GenerationMode.POSITIVE:
                    raise
                # Nothing to get wrong in a request without parameters or body: no invalid cases exist.
            except Exception as error:
                failures.append(f"{operation.label} ({mode.value}): {error}")
    assert not failures, "\n\n".join(failures)


def test_the_schema_describes_every_endpoint(api_schema) -> None:
    paths = set(api_schema.raw_schema["paths"])
    assert {
        "/api/",
        "/api/ocr",
        "/api/search",
        "/api/documents/{document_id}",
        "/api/documents/{document_id}/pages/{page}/image",
        "/api/documents/{document_id}/pages/{page}/annotated",
        "/api/documents/{document_id}/pages/{page}/thumbnail",
        "/api/health",
        "/api/stats",
        "/api/dashboard",
        "/api/files/{file_id}/retry",
    } <= paths
