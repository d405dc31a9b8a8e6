"""Django's PostgreSQL backend, whose prepared statements survive a schema change made elsewhere.

The settings make psycopg prepare the statements a connection repeats (DB_PREPARE_THRESHOLD). PostgreSQL
refuses to run a prepared statement whose result columns changed type since it was prepared ("cached plan
must not change result type"): after a migration that alters a column, every app-server connection that
had prepared a statement reading it would fail that statement until the connection is recycled. A
transaction that fails rolls back, and psycopg forgets its prepared statements on rollback; a statement
run outside a transaction (autocommit, as most reads are) has no rollback, so here the cursor deallocates
the connection's prepared statements and runs it again, once. Nothing ran the first time: PostgreSQL
checks the plan before executing anything.
"""

from __future__ import annotations

from django.db.backends.postgresql import base
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


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self):
        params = super().get_connection_params()
        if params["cursor_factory"] is base.ServerBindingCursor:
            params["cursor_factory"] = ServerBindingCursor
        return params
