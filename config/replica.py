"""Reads of the read-only API families from a streaming replica, when DATABASE_REPLICA_URL is set.

Django routes by model, not by request, so the choice is the request's: `ReplicaReadsMixin` marks the
handler of a read-only view (the ledger feed, the product history, the warehouse levels list and its
analytics) and `ReplicaRouter` sends that handler's reads to the "replica" alias. Everything else reads
the primary: writes, the reads that decide a write (they run in the write's transaction, and every write
path locks on the primary), authentication, permissions and throttles (which run before the handler, so
a key revoked on the primary is refused at once, whatever the replica's lag), and every Spree read. Inside
a marked handler a write, or an open transaction on the primary, sends the rest of the request's reads to
the primary too, so a request always reads its own writes.

A client of a routed family sees the replica's lag: a movement answered 201 by a Spree POST appears in the
feed, the history and the levels a moment later (docs/operations.md "Read replica").
"""

from __future__ import annotations

from contextvars import ContextVar

from django.db import connections

REPLICA = "replica"

_reads: ContextVar[bool] = ContextVar("replica_reads", default=False)


class ReplicaRouter:
    def db_for_read(self, model, **hints) -> str:
        if _reads.get() and not connections["default"].in_atomic_block:
            return REPLICA
        return "default"

    def db_for_write(self, model, **hints) -> str:
        # A write inside a replica-read handler: its own reads from now on are the primary's.
        _reads.set(False)
        return "default"

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        return True  # one database, two copies of it

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool:
        return db == "default"  # the replica follows by streaming; it is read-only


class ReplicaReadsMixin:
    """DRF view mixin: the handler of a GET (of `replica_actions`, when given) reads from the replica.

    Set after `initial()` (authentication, permissions, throttles: always the primary), cleared in
    `finalize_response()`, which DRF calls whether the handler answered or raised."""

    replica_actions: frozenset[str] | None = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        action = getattr(self, "action", None)
        if request.method in ("GET", "HEAD") and (self.replica_actions is None or action in self.replica_actions) \
                and REPLICA in connections.settings:
            self._replica_token = _reads.set(True)

    def finalize_response(self, request, response, *args, **kwargs):
        token = self.__dict__.pop("_replica_token", None)
        if token is not None:
            _reads.reset(token)
        return super().finalize_response(request, response, *args, **kwargs)
