"""Running `manage.py` commands for the bench: wall time, exit code and peak RSS of the child process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


def manage(env: dict, *args: str, timeout: int = 3600) -> tuple[float, int, int, str]:
    """Run `manage.py ARGS`: (wall seconds, exit code, peak RSS in KiB of that process, output)."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    deadline = started + timeout
    output = []
    for line in process.stdout:  # the commands print little; read it as it comes
        output.append(line)
        if time.perf_counter() > deadline:
            process.kill()
            break
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - started, process.returncode, usage.ru_maxrss, "".join(output)


def checked(env: dict, *args: str, timeout: int = 3600) -> float:
    seconds, code, _, output = manage(env, *args, timeout=timeout)
    if code != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed ({code}):\n{output}")
    return seconds
