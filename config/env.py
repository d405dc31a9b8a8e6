"""Configuration from the environment, checked whole at start-up.

Every variable is read through one `Env` whose parsers never raise: a bad value is recorded as one line
naming the variable, the value and what it accepts, and the parser returns the default so reading goes
on. `Env.check()` then raises `ConfigError` listing every bad variable at once, so an operator fixes them
in one go instead of one crash at a time. A value that would only fail later (a throttle rate DRF parses
on the first request, a log level `logging.config` refuses during `django.setup()`) is judged here too.

Hand-written rather than environs or django-environ: both would still need our own validators and
messages for most variables here (rates, log levels, "0 = off" thresholds), environs brings marshmallow
for it, and django-environ's casts fail with Python's own messages ("invalid literal for int()") one
variable at a time; what they would replace is the dozen lines of `_number` and `_choice` below.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# What DRF's SimpleRateThrottle.parse_rate understands: it keys on the period's first letter.
RATE = re.compile(r"^\s*([1-9][0-9]{0,8})\s*/\s*(s|sec|second|m|min|minute|h|hour|d|day)\s*$", re.IGNORECASE)


class ConfigError(ImproperlyConfigured):
    """One or more environment variables hold values stockroom cannot use; `lines` has one per variable."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        super().__init__("\n".join(lines))


class Env:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = os.environ if environ is None else environ
        self.errors: list[str] = []

    def _raw(self, name: str) -> str | None:
        value = self.environ.get(name)
        return None if value is None else value.strip()

    def _bad(self, name: str, value: str, accepts: str) -> None:
        self.errors.append(f"{name}={value!r} is not valid: {accepts}.")

    def str(self, name: str, default: str = "") -> str:
        value = self._raw(name)
        return default if value is None else value

    def bool(self, name: str, default: bool = False) -> bool:
        value = self._raw(name)
        if value is None:
            return default
        if value.lower() in TRUE:
            return True
        if value.lower() in FALSE:
            return False
        self._bad(name, value, "expected 1, true, yes or on (or 0, false, no, off)")
        return default

    def int(self, name: str, default: int, *, minimum: int = 0, maximum: int | None = None,
            unit: str = "") -> int:
        """A whole number written in ASCII digits (no unit suffix: `1m` is refused, not read as 1)."""
        value = self._raw(name)
        if value is None or value == "":
            return default
        if value.isascii() and value.lstrip("-").isdigit():
            number = int(value)
            if number >= minimum and (maximum is None or number <= maximum):
                return number
        bounds = f"{minimum} or more" if maximum is None else f"from {minimum} to {maximum}"
        self._bad(name, value, f"expected a whole number{' of ' + unit if unit else ''}, {bounds} "
                               f"(e.g. {default})")
        return default

    def positive_number(self, name: str, default: float, *, maximum: float, unit: str = "") -> float:
        """A number above 0 and at most `maximum`, in ASCII digits with an optional fraction (`0.5`)."""
        value = self._raw(name)
        if value is None or value == "":
            return default
        if value.isascii() and re.fullmatch(r"[0-9]+(\.[0-9]+)?", value) and 0 < float(value) <= maximum:
            return float(value)
        self._bad(name, value, f"expected a number{' of ' + unit if unit else ''} above 0, at most {maximum:g} "
                               f"(e.g. {default:g})")
        return default

    def optional_int(self, name: str, default: int | None, *, off: tuple[str, ...] = ("none", "off"),
                     unit: str = "") -> int | None:
        """A whole number, or one of the `off` words for None."""
        value = self._raw(name)
        if value is not None and value.lower() in off:
            return None
        if value is None or value == "":
            return default
        before = len(self.errors)
        number = self.int(name, 0, unit=unit)
        if len(self.errors) > before:
            self.errors[-1] = self.errors[-1].rstrip(".") + f", or {' / '.join(off)}."
            return default
        return number

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self._raw(name)
        if value is None or value == "":
            return default
        if value.lower() in choices:
            return value.lower()
        self._bad(name, value, f"expected one of {', '.join(choices)}")
        return default

    def currency(self, name: str, default: str) -> str:
        """An ISO 4217 code: three ASCII letters, any case."""
        value = self._raw(name)
        if value is None or value == "":
            return default
        if len(value) == 3 and value.isascii() and value.isalpha():
            return value.upper()
        self._bad(name, value, f"expected a three-letter ISO 4217 currency code such as USD or EUR (e.g. {default})")
        return default

    def log_level(self, name: str, default: str = "WARNING") -> str:
        return self.choice(name, default.lower(), tuple(level.lower() for level in LOG_LEVELS)).upper()

    def rate(self, name: str, default: str) -> str:
        """A DRF throttle rate, `N/period`."""
        value = self._raw(name)
        if value is None or value == "":
            return default
        match = RATE.match(value)
        if match:
            return f"{int(match.group(1))}/{match.group(2).lower()}"
        self._bad(name, value, f"expected requests per period as N/s, N/min, N/hour or N/day (e.g. {default})")
        return default

    def list(self, name: str, default: str) -> list[str]:
        value = self._raw(name)
        return [item.strip() for item in (default if value is None else value).split(",") if item.strip()]

    def database(self, name: str, *, default: str | None, **options) -> dict | None:
        """A dj-database-url URL as Django's DATABASES entry (None when unset and no default)."""
        import dj_database_url

        value = self._raw(name)
        url = default if value is None or value == "" else value
        if url is None:
            return None
        try:
            config = dj_database_url.parse(url, **options)
        except Exception as exc:  # unknown scheme, bad port: dj-database-url raises several kinds
            reason = str(exc).split(". ")[0]
            self._bad(name, url, f"expected a database URL such as postgres://USER@HOST:5432/NAME or "
                                 f"sqlite:///PATH ({reason})")
            return None
        if not config.get("ENGINE"):
            self._bad(name, url, "expected a database URL such as postgres://USER@HOST:5432/NAME or sqlite:///PATH")
            return None
        return config

    def check(self) -> None:
        if self.errors:
            raise ConfigError(self.errors)
