"""The request body parsers of every family: DRF's, refusing what no field of ours can hold before a
view sees it.

- JSON nested deeper than MAX_JSON_DEPTH is a 400, found by a scan of the raw bytes before anything is
  parsed: Python's json module recurses once per level, so a body of 100,000 `[` was a RecursionError (500).
  No body of ours is deeper than 3 levels.
- A NUL character in any string or key, of JSON or of a form, is a 422 naming the field (PostgreSQL cannot
  store or compare one).
"""

from __future__ import annotations

import io
import re

from rest_framework import parsers

from inventory.api.common.errors import BadQuery, RefusedBody
from inventory.api.common.text import NUL_MESSAGE, nul_paths

MAX_JSON_DEPTH = 32

# A JSON string (escapes included), in the unrolled form that scans long strings without backtracking.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


def json_depth_exceeds(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON text `raw` opens more than `limit` arrays or objects inside one another; brackets
    inside strings do not count. Invalid JSON is left to the parser to refuse."""
    if raw.count(b"[") + raw.count(b"{") <= limit:  # every body of ours: no need to find the strings
        return False
    depth = 0
    for match in _BRACKET.finditer(_STRING.sub(b'""', raw)):
        if match.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def refuse_nul(data) -> None:
    errors = {path: [NUL_MESSAGE] for path in nul_paths(data)}
    if errors:
        raise BadQuery(errors)


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read()
        if json_depth_exceeds(raw):
            raise RefusedBody(f"The request body is nested deeper than {MAX_JSON_DEPTH} levels.")
        data = super().parse(io.BytesIO(raw), media_type, parser_context)
        refuse_nul(data)
        return data


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        refuse_nul(dict(data.lists()))
        return data


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        result = super().parse(stream, media_type, parser_context)
        refuse_nul(dict(result.data.lists()))
        return result
