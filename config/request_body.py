"""WSGI wrapper: a request body that ends before its Content-Length is an error, never a shorter body.

The app server (granian, as gunicorn did) and Django hand an application whatever arrived before the client
hung up, so a form body `quantity=100&action=received` cut short becomes `quantity=10` and would be acted on. Wrapped
here, reading past the end of what arrived raises OSError, which Django turns into UnreadablePostError:
the API families answer 400 in their envelope (inventory.api.common.classify), Django's CSRF check
refuses the form POST, and nothing is written.
"""

from __future__ import annotations


class _ExactLengthInput:
    """`wsgi.input` that must deliver exactly `length` bytes."""

    def __init__(self, stream, length: int) -> None:
        self._stream = stream
        self._length = length
        self._remaining = length

    def _short(self) -> OSError:
        received = self._length - self._remaining
        return OSError(f"The request body ended after {received} of the {self._length} bytes announced.")

    def read(self, size: int | None = -1, /) -> bytes:
        want = self._remaining if size is None or size < 0 else min(size, self._remaining)
        chunks: list[bytes] = []
        got = 0
        # A read may return less than asked without being the end; only an empty read is the end.
        while got < want:
            data = self._stream.read(want - got)
            if not data:
                self._remaining -= got
                raise self._short()
            chunks.append(data)
            got += len(data)
        self._remaining -= got
        return b"".join(chunks)

    def readline(self, size: int | None = -1, /) -> bytes:
        want = self._remaining if size is None or size < 0 else min(size, self._remaining)
        if want == 0:
            return b""
        line = self._stream.readline(want)
        self._remaining -= len(line)
        if not line or (not line.endswith(b"\n") and len(line) < want):
            raise self._short()
        return line

    def __iter__(self):
        while line := self.readline():
            yield line


class CompleteBody:
    """Wrap a WSGI application so that it only ever sees whole request bodies."""

    def __init__(self, app) -> None:
        self.app = app

    def __call__(self, environ, start_response):
        length = (environ.get("CONTENT_LENGTH") or "").strip()
        if length.isascii() and length.isdigit() and int(length) > 0 and "wsgi.input" in environ:
            environ["wsgi.input"] = _ExactLengthInput(environ["wsgi.input"], int(length))
        return self.app(environ, start_response)

    def __getattr__(self, name):
        # Tools that look at the Django handler (e.g. its request_class) still find it.
        return getattr(self.app, name)
