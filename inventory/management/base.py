"""What every stockroom management command shares (docs/operations.md, "Exit codes"):

- exit codes: 0 done; 1 refused (drift found, rows refused); 2 usage (a bad option or argument, an unknown
  location, a missing file); 3 the database is unreachable or not migrated;
- every error is one line on stderr, `COMMAND: message`, without a traceback or an internal class name
  (`--traceback` still shows one);
- `-v0`: nothing on stdout (errors still go to stderr);
- progress off a terminal: a plain line every PROGRESS_SECONDS (a live bar would be noise in a log);
- location codes match ignoring case (an exact match wins).
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import time
from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, handle_default_options
from django.db import DEFAULT_DB_ALIAS, DatabaseError, InterfaceError, OperationalError, connections
from django.db.migrations.executor import MigrationExecutor

from inventory.models import StockLocation

OK, REFUSED, USAGE, DATABASE = 0, 1, 2, 3
PROGRESS_SECONDS = 5.0


class Refused(CommandError):
    def __init__(self, message: str) -> None:
        super().__init__(message, returncode=REFUSED)


class UsageError(CommandError):
    def __init__(self, message: str) -> None:
        super().__init__(message, returncode=USAGE)


class DatabaseUnavailable(CommandError):
    def __init__(self, message: str) -> None:
        super().__init__(message, returncode=DATABASE)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "no details"


def database_ready(alias: str = DEFAULT_DB_ALIAS) -> None:
    """Raise DatabaseUnavailable unless the database answers and has every migration applied."""
    connection = connections[alias]
    try:
        connection.ensure_connection()
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except (OperationalError, InterfaceError) as exc:
        raise DatabaseUnavailable(f"the database is unavailable: {first_line(exc)}") from None
    if pending:
        raise DatabaseUnavailable(f"the database is not migrated ({len(pending)} migration(s) to apply): "
                                  "run `manage.py migrate` first.")


def location_by_code(code: str) -> StockLocation:
    """The location with this code, ignoring case when no code matches exactly; UsageError otherwise."""
    location = StockLocation.objects.filter(code=code).first()
    if location is not None:
        return location
    matches = list(StockLocation.objects.filter(code__iexact=code).order_by("code")[:5])
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise UsageError(f"there is no stock location with code '{code}'.")
    codes = ", ".join(m.code for m in matches)
    raise UsageError(f"'{code}' matches several location codes when case is ignored ({codes}); give one exactly.")


class ProgressLines:
    """`tick(done)`: a line `label: done/total` at the first call, then at most every PROGRESS_SECONDS, and
    at the end."""

    def __init__(self, write: Callable[[str], None], label: str, total: int) -> None:
        self.write, self.label, self.total = write, label, total
        self.last: float | None = None

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        if self.last is None or done >= self.total or now - self.last >= PROGRESS_SECONDS:
            self.write(f"{self.label}: {done}/{self.total}")
            self.last = now


class StockroomCommand(BaseCommand):
    # Checked before `handle`: reachable and migrated (exit 3 otherwise).
    needs_database = True
    # -v0 silences stdout; a command whose stdout is its product (a key) keeps it.
    quiet_stdout = True

    def execute(self, *args, **options):
        named = [f"--{k.replace('_', '-')}" for k, v in options.items() if isinstance(v, str) and "\x00" in v]
        if named or any(isinstance(a, str) and "\x00" in a for a in args):
            # PostgreSQL cannot store or compare text with a NUL.
            raise UsageError(f"NUL characters are not allowed in arguments ({', '.join(named) or 'a value'}).")
        if options.get("verbosity", 1) == 0 and self.quiet_stdout:
            options["stdout"] = io.StringIO()
        try:
            if self.needs_database:
                database_ready(options.get("database") or DEFAULT_DB_ALIAS)
            return super().execute(*args, **options)
        except (OperationalError, InterfaceError) as exc:
            raise DatabaseUnavailable(f"the database is unavailable: {first_line(exc)}") from None
        except DatabaseError as exc:
            if "does not exist" in str(exc) or "no such table" in str(exc):
                raise DatabaseUnavailable("the database is not migrated: run `manage.py migrate` first.") from None
            raise

    def run_from_argv(self, argv) -> None:
        """Django's, but an error is `COMMAND: message` (Django prints `CommandError: message`)."""
        self._called_from_command_line = True
        parser = self.create_parser(argv[0], argv[1])
        options = parser.parse_args(argv[2:])  # a usage error exits 2 here, with the usage
        cmd_options = vars(options)
        args = cmd_options.pop("args", ())
        handle_default_options(options)
        try:
            self.execute(*args, **cmd_options)
        except CommandError as exc:
            if options.traceback:
                raise
            sys.stderr.write(f"{argv[1]}: {str(exc).removeprefix('Error: ')}\n")
            sys.exit(exc.returncode)
        finally:
            with contextlib.suppress(ImproperlyConfigured):
                connections.close_all()

    def is_terminal(self) -> bool:
        return bool(getattr(self.stdout, "isatty", lambda: False)()) and os.environ.get("TERM") != "dumb"
