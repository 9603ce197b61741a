"""The web page and HTTP API, thin over the pipeline and the index (`ocrwatch serve`)."""

from ocrwatch.web.app import create_app, make_server, serve

__all__ = ["create_app", "make_server", "serve"]
