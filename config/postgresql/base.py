"""Django's PostgreSQL backend, whose prepared statements survive a schema change made elsewhere, whose
COMMIT can travel with a transaction's last writes, and whose per-request costs are cut: timestamps loaded
in C, and a health check that does not ask the server while it has said nothing.

The settings make psycopg prepare the statements a connection repeats (DB_PREPARE_THRESHOLD). PostgreSQL
refuses to run a prepared statement whose result columns changed type since it was prepared ("cached plan
must not change result type"): after a migration that alters a column, every app-server connection that
had prepared a statement reading it would fail that statement until the connection is recycled. A
transaction that fails rolls back, and psycopg forgets its prepared statements on rollback; a statement
run outside a transaction (autocommit, as most reads are) has no rollback, so here the cursor deallocates
the connection's prepared statements and runs it again, once. Nothing ran the first time: PostgreSQL
checks the plan before executing anything.

A transaction may run in psycopg's pipeline mode to its end (`keep_pipeline_until_commit`, called through
`inventory.services.ledger_io`): its BEGIN is then sent with its first statement and its COMMIT queued behind
its last writes, one sync sending both; a single movement POST costs two round trips. An error of those
writes surfaces at the commit, which Django's `atomic` turns into a rollback, as for any failed commit.
"""

from __future__ import annotations

import contextlib
import datetime
import select

import psycopg
from django.db.backends.postgresql import base
from django.db.backends.utils import debug_transaction
from psycopg import errors, pq

# PostgreSQL's error for a stale plan: feature_not_supported, raised by the plan cache's revalidation
# (the routine name is not translated, unlike the message).
STALE_PLAN_STATE = "0A000"
STALE_PLAN_SOURCE = "RevalidateCachedQuery"


def is_stale_plan(exc: BaseException | None) -> bool:
    return (isinstance(exc, errors.FeatureNotSupported) and exc.sqlstate == STALE_PLAN_STATE
            and exc.diag.source_function == STALE_PLAN_SOURCE)


class ServerBindingCursor(base.ServerBindingCursor):
    def execute(self, query, params=None, **kwargs):
        try:
            return super().execute(query, params, **kwargs)
        except errors.FeatureNotSupported as exc:
            # Inside a transaction the transaction is lost anyway; its rollback clears the statements.
            if not is_stale_plan(exc) or self.connection.info.transaction_status != pq.TransactionStatus.IDLE:
                raise
        self.connection.execute("DEALLOCATE ALL")  # psycopg forgets its own record of them too
        return super().execute(query, params, **kwargs)


# psycopg's own timestamptz text loader: its C version where psycopg-binary is installed.
PSYCOPG_TIMESTAMPTZ_LOADER = psycopg.adapters.get_loader(psycopg.postgres.types["timestamptz"].oid, pq.Format.TEXT)


class UtcTimestamptzLoader:
    """Timestamps loaded by psycopg's loader, for a session whose time zone is UTC.

    Django registers a Python subclass of psycopg's pure-Python loader on every connection, to pin the time zone
    of what it loads; a movement POST loads a few dozen timestamps through it (7 % of its Python time). In a UTC
    session psycopg's loader gives the same datetimes (tzinfo `datetime.timezone.utc`), in C. `timezone` is what
    Django's `create_cursor` compares with the connection's time zone before registering its loader again."""

    format = pq.Format.TEXT
    timezone = datetime.UTC

    def __new__(cls, oid: int, context=None):
        return PSYCOPG_TIMESTAMPTZ_LOADER(oid, context)


def _has_input(fd: int) -> bool:
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


class DatabaseWrapper(base.DatabaseWrapper):
    # The pipeline a transaction left open for its commit (an ExitStack holding psycopg's pipeline context).
    _pipeline_until_commit: contextlib.ExitStack | None = None

    def keep_pipeline_until_commit(self) -> bool:
        """Enter psycopg's pipeline mode until this transaction ends, if it can be: in the outermost atomic
        block, not in a pipeline of another's. True if it is kept (already, or now); False: the caller syncs
        its own pipeline as usual.

        Before the transaction's first statement, its BEGIN is queued here as a statement of the pipeline, so
        that it travels with the first query: psycopg would send its own and wait for the answer, a round trip
        of its own, even in pipeline mode. psycopg is told autocommit meanwhile (the transaction is ours, BEGIN
        to COMMIT); Django's atomic turns it back when the block ends, as it does for every outermost block."""
        if len(self.atomic_blocks) != 1 or self.savepoint_ids or self.connection is None:
            return False
        if self._pipeline_until_commit is not None:
            return True
        if self.connection._pipeline is not None:
            return False
        begin = self.connection.info.transaction_status == pq.TransactionStatus.IDLE
        if begin:
            self.connection.autocommit = True  # outside the pipeline: there, psycopg would sync to check
        stack = contextlib.ExitStack()
        stack.enter_context(self.connection.pipeline())
        if begin:
            self.connection.execute("BEGIN", prepare=False)
        self._pipeline_until_commit = stack
        return True

    def _commit(self):
        if (stack := self._pipeline_until_commit) is not None:
            self._pipeline_until_commit = None
            with debug_transaction(self, "COMMIT"), self.wrap_database_errors:
                try:
                    self.connection.execute("COMMIT", prepare=False)  # queued behind the writes
                finally:
                    stack.close()  # the sync: writes and COMMIT in one round trip; their first error raises
            return None  # psycopg sees the transaction ended: nothing is left for its commit()
        return super()._commit()

    def _rollback(self):
        if (stack := self._pipeline_until_commit) is not None:
            self._pipeline_until_commit = None
            with contextlib.suppress(errors.Error):  # what the queued writes did is being rolled back anyway
                stack.close()
        return super()._rollback()

    def is_usable(self):
        """Django's health check (CONN_HEALTH_CHECKS) asks `SELECT 1`, a round trip at the start of every request.
        A server that ends a session (a restart, a failover's shutdown, pg_terminate_backend, an idle timeout)
        sends its reason and closes the socket, which makes an idle connection's socket readable: only then is
        the question asked. A server that vanished without a word fails the request's first query instead,
        where `SELECT 1` would have waited as long."""
        connection = self.connection
        if connection is None or connection.closed:
            return False
        if connection.info.transaction_status == pq.TransactionStatus.IDLE and not _has_input(connection.fileno()):
            return True
        return super().is_usable()

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        # Django sets a UTC session (`_configure_timezone`) whenever its own time zone for the database is UTC.
        if self.timezone is datetime.UTC and not self.pool:
            connection.adapters.register_loader("timestamptz", UtcTimestamptzLoader)
        return connection

    def _close(self):
        self._pipeline_until_commit = None
        return super()._close()

    def get_connection_params(self):
        params = super().get_connection_params()
        if params["cursor_factory"] is base.ServerBindingCursor:
            params["cursor_factory"] = ServerBindingCursor
        return params
