"""The project's WSGI application (config.wsgi: its lanes and body check included) called in-process with a
hand-made environ, as a server calls it."""

from __future__ import annotations

import io
from wsgiref.util import setup_testing_defaults

from config.wsgi import application


def call_wsgi(path: str, body: bytes = b"", *, method: str = "POST", declared: int | None = None,
              content_type: str = "application/json", headers: dict | None = None) -> tuple[int, dict, bytes]:
    """One request; (status code, headers, body). `declared`: the Content-Length sent (default: the body's)."""
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body) if declared is None else declared),
        "wsgi.input": io.BytesIO(body),
        **(headers or {}),
    }
    setup_testing_defaults(environ)
    seen = {}

    def start_response(status, response_headers, exc_info=None):
        seen["status"] = int(status.split()[0])
        seen["headers"] = dict(response_headers)

    chunks = application(environ, start_response)
    try:
        payload = b"".join(chunks)
    finally:
        getattr(chunks, "close", lambda: None)()
    return seen["status"], seen["headers"], payload
