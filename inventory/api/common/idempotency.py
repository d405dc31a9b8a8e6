"""Idempotent writes: `Idempotency-Key` (contract section 1, invariant 5).

A viewset action decorated with `@idempotent(scope)` runs once per (user, key): a repeat with
the same body gets the stored answer (header `Idempotent-Replayed: true`) and writes nothing; the same key
with another body or route is refused (422). A refused request is not remembered, so it may be retried with
the same key. Records expire after `STOCKROOM_IDEMPOTENCY_TTL_HOURS` (`services.idempotency`).

The key is claimed before the action runs: its record is INSERTed first in the action's transaction and
filled in with the answer at the end, so the action and the record commit together (or not at all). A
concurrent request with the same key blocks on that INSERT (the unique index) until the first one ends:
if it committed, the waiting one fails with IntegrityError and replays the stored answer; if it rolled
back (refused), the waiting one runs itself. So a retry storm never sees the effects of the first request
without its answer (say a 422 "out of stock" for the sale that took the stock). A retry that waits longer
than the lock timeout gets 409 with Retry-After, as Stripe answers a key still in use.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable

from django.db import IntegrityError, OperationalError, transaction
from rest_framework.response import Response

from inventory.models import IdempotencyRecord
from inventory.services.errors import Conflict, StockError
from inventory.services.idempotency import expiry_cutoff
from inventory.services.locking import is_lock_not_available

IDEMPOTENCY_HEADER = "Idempotency-Key"
# Stored on a claimed key until its answer is written in the same transaction: no one else ever reads it.
PENDING_STATUS = 0


class IdempotencyConflict(StockError):
    field = "idempotency_key"
    code = "idempotency_conflict"


class IdempotencyKeyInUse(Conflict):
    field = "idempotency_key"
    code = "idempotency_key_in_use"


class IdempotencyKey:
    """One request's claim on its (user, key) for `route`."""

    def __init__(self, request, key: str, route: str) -> None:
        key = key.strip()
        if not key or len(key) > 255:
            raise IdempotencyConflict("Idempotency-Key must be 1 to 255 characters.")
        self.user, self.key, self.route = request.user, key, route
        body = json.dumps(request.data, sort_keys=True, default=str, separators=(",", ":"))
        self.fingerprint = hashlib.sha256(f"{route}\n{body}".encode()).hexdigest()
        self.record: IdempotencyRecord | None = None

    def records(self):
        return IdempotencyRecord.objects.filter(user=self.user, key=self.key)

    def stored_answer(self) -> Response | None:
        """The first answer to this key (None if there is none yet), after dropping an expired one."""
        self.records().filter(created_at__lt=expiry_cutoff()).delete()
        record = self.records().first()
        if record is None:
            return None
        if record.request_hash != self.fingerprint:
            raise IdempotencyConflict("This Idempotency-Key was already used with a different request.")
        response = Response(record.response_body, status=record.response_status)
        response["Idempotent-Replayed"] = "true"
        return response

    def claim(self) -> None:
        """Take the key inside the caller's transaction; waits while another request holds it."""
        try:
            with transaction.atomic():
                self.record = IdempotencyRecord.objects.create(
                    user=self.user, key=self.key, route=self.route, request_hash=self.fingerprint,
                    response_status=PENDING_STATUS, response_body=None)
        except OperationalError as exc:
            if is_lock_not_available(exc):
                raise IdempotencyKeyInUse("A request with this Idempotency-Key is still being processed; "
                                          "retry after it has finished.") from None
            raise

    def remember(self, response: Response) -> None:
        """Store a success as the key's answer; forget the key otherwise (the caller may retry with it)."""
        if 200 <= response.status_code < 300:
            self.record.response_status = response.status_code
            self.record.response_body = json.loads(json.dumps(response.data, default=str))
            self.record.save(update_fields=["response_status", "response_body"])
        else:
            self.record.delete()


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
            key = IdempotencyKey(request, header, route)
            if (stored := key.stored_answer()) is not None:
                return stored
            try:
                with transaction.atomic():
                    key.claim()
                    response = action(view, request, *args, **kwargs)
                    key.remember(response)
                return response
            except IntegrityError:
                # Another request with this key committed first (we waited for it): its answer is ours too.
                if (stored := key.stored_answer()) is None:
                    raise
                return stored

        return run_once

    return decorate
