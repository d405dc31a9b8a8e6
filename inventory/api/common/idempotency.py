"""Idempotent writes: `Idempotency-Key` (contract section 1, invariant 5).

A viewset action decorated with `@idempotent(scope)` runs once per (user, key): a repeat with
the same body gets the stored answer (header `Idempotent-Replayed: true`) and writes nothing; the same key
with another body or route is refused (422). The action and the record commit together, so a crash never
leaves one without the other; two concurrent requests with one key resolve on the unique constraint and
both get the first answer. A refused request is not remembered, so it may be retried with the same key.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.response import Response

from inventory.models import IdempotencyRecord
from inventory.services.errors import StockError

IDEMPOTENCY_TTL = timedelta(hours=24)
IDEMPOTENCY_HEADER = "Idempotency-Key"


class IdempotencyConflict(StockError):
    field = "idempotency_key"
    code = "idempotency_conflict"


class IdempotencyKey:
    """One request's claim on its (user, key) for `route`."""

    def __init__(self, request, key: str, route: str) -> None:
        key = key.strip()
        if not key or len(key) > 255:
            raise IdempotencyConflict("Idempotency-Key must be 1 to 255 characters.")
        self.user, self.key, self.route = request.user, key, route
        body = json.dumps(request.data, sort_keys=True, default=str, separators=(",", ":"))
        self.fingerprint = hashlib.sha256(f"{route}\n{body}".encode()).hexdigest()

    def records(self):
        return IdempotencyRecord.objects.filter(user=self.user, key=self.key)

    def stored_answer(self) -> Response | None:
        """The first answer to this key (None if there is none yet), after dropping an expired one."""
        self.records().filter(created_at__lt=timezone.now() - IDEMPOTENCY_TTL).delete()
        record = self.records().first()
        if record is None:
            return None
        if record.request_hash != self.fingerprint:
            raise IdempotencyConflict("This Idempotency-Key was already used with a different request.")
        response = Response(record.response_body, status=record.response_status)
        response["Idempotent-Replayed"] = "true"
        return response

    def remember(self, response: Response) -> None:
        if 200 <= response.status_code < 300:
            IdempotencyRecord.objects.create(
                user=self.user, key=self.key, route=self.route, request_hash=self.fingerprint,
                response_status=response.status_code,
                response_body=json.loads(json.dumps(response.data, default=str)))


def idempotent(scope: str | Callable) -> Callable:
    """Make a viewset action idempotent under `scope`: a text formatted with the URL's kwargs, or a function
    of the view (which may look up, and so 404 on, what the route names before any key is read)."""

    def decorate(action: Callable) -> Callable:
        @functools.wraps(action)
        def run_once(view, request, *args, **kwargs) -> Response:
            header = request.headers.get(IDEMPOTENCY_HEADER)
            if header is None:
                return action(view, request, *args, **kwargs)
            route = scope(view) if callable(scope) else scope.format(**kwargs)
            claim = IdempotencyKey(request, header, route)
            if (stored := claim.stored_answer()) is not None:
                return stored
            try:
                with transaction.atomic():
                    response = action(view, request, *args, **kwargs)
                    claim.remember(response)
                return response
            except IntegrityError:
                # Another request with this key committed first: its answer is ours too.
                if (stored := claim.stored_answer()) is None:
                    raise
                return stored

        return run_once

    return decorate
