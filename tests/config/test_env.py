"""Issue 12.15: a bad environment value stops start-up with one line naming the variable and what it
accepts, instead of a traceback at start (DB_CONN_MAX_AGE=1m, LOG_LEVEL=verbose) or a 500 on every API
request (STOCKROOM_THROTTLE_RATE=lots, which DRF parses only when a request is throttled)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.env import ConfigError, Env

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in env}
    environ.update(env)
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=environ, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize(("name", "value", "accepts"), [
    ("DB_CONN_MAX_AGE", "1m", "whole number of seconds"),
    ("LOG_LEVEL", "verbose", "debug, info, warning, error, critical"),
    ("STOCKROOM_THROTTLE_RATE", "lots", "N/s, N/min, N/hour or N/day"),
])
def test_the_reported_values_stop_manage_py_with_one_line(name, value, accepts):
    result = run("manage.py", "check", **{name: value})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [f"configuration error: {name}={value!r} is not valid: " + lines[0].split(": ", 2)[2]]
    assert accepts in lines[0]
    assert "Traceback" not in result.stderr


def test_every_bad_variable_is_named_at_once():
    result = run("manage.py", "check", DB_CONN_MAX_AGE="1m", LOG_LEVEL="verbose", DEBUG="maybe",
                 DATABASE_URL="foo://x", DB_PREPARE_THRESHOLD="often", STOCKROOM_VALUATION="lifo")
    assert result.returncode == 2
    named = [line.split(":", 1)[1].split("=", 1)[0].strip() for line in result.stderr.strip().splitlines()]
    assert sorted(named) == ["DATABASE_URL", "DB_CONN_MAX_AGE", "DB_PREPARE_THRESHOLD", "DEBUG", "LOG_LEVEL",
                             "STOCKROOM_VALUATION"]


def test_a_server_process_refuses_to_boot_with_the_line():
    # config.wsgi is what the app server's workers load: they exit 3 at once, every time, which granian takes
    # as a crash loop and stops on.
    result = run("-c", "import config.wsgi", STOCKROOM_THROTTLE_RATE="lots", SECRET_KEY="x")
    assert result.returncode == 3
    assert result.stderr.strip() == ("configuration error: STOCKROOM_THROTTLE_RATE='lots' is not valid: expected "
                                     "requests per period as N/s, N/min, N/hour or N/day (e.g. 1200/min).")


def test_good_values_start():
    result = run("manage.py", "check", DB_CONN_MAX_AGE="0", LOG_LEVEL="info", STOCKROOM_THROTTLE_RATE="30/minute",
                 DEBUG="off", DB_PREPARE_THRESHOLD="none", STOCKROOM_VALUATION="Average")
    assert result.returncode == 0, result.stderr


def parse(**environ: str) -> tuple[Env, dict]:
    env = Env(environ)
    values = {
        "age": env.int("DB_CONN_MAX_AGE", 60, unit="seconds"),
        "rate": env.rate("STOCKROOM_THROTTLE_RATE", "1200/min"),
        "level": env.log_level("LOG_LEVEL"),
        "prepare": env.optional_int("DB_PREPARE_THRESHOLD", 5),
        "https": env.bool("STOCKROOM_HTTPS"),
    }
    return env, values


def test_values_are_read_as_documented():
    env, values = parse(DB_CONN_MAX_AGE=" 0 ", STOCKROOM_THROTTLE_RATE="10 / Hour", LOG_LEVEL="debug",
                        DB_PREPARE_THRESHOLD="OFF", STOCKROOM_HTTPS="yes")
    env.check()
    assert values == {"age": 0, "rate": "10/hour", "level": "DEBUG", "prepare": None, "https": True}
    env, values = parse()
    env.check()
    assert values == {"age": 60, "rate": "1200/min", "level": "WARNING", "prepare": 5, "https": False}


@pytest.mark.parametrize(("name", "value"), [
    ("DB_CONN_MAX_AGE", "-1"), ("DB_CONN_MAX_AGE", "60s"), ("DB_CONN_MAX_AGE", "６０"),
    ("STOCKROOM_THROTTLE_RATE", "0/min"), ("STOCKROOM_THROTTLE_RATE", "10/fortnight"),
    ("STOCKROOM_THROTTLE_RATE", "10"), ("LOG_LEVEL", "TRACE"), ("DB_PREPARE_THRESHOLD", "-5"),
    ("STOCKROOM_HTTPS", "maybe"),
])
def test_refused_values(name, value):
    env, _ = parse(**{name: value})
    with pytest.raises(ConfigError) as raised:
        env.check()
    assert len(raised.value.lines) == 1
    assert raised.value.lines[0].startswith(f"{name}={value!r} is not valid: expected ")


def test_a_replica_needs_postgresql_on_both_sides():
    result = run("manage.py", "check", DATABASE_REPLICA_URL="sqlite:///replica.sqlite3")
    assert result.returncode == 2
    assert result.stderr.startswith("configuration error: DATABASE_REPLICA_URL is set but is not valid: ")
