"""The HTTP side of the write benchmark: the application server (config/app_server.py, as `make serve` runs it)
on 127.0.0.1 and wrk driving it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def ensure_wrk() -> str:
    """The wrk binary, installed from the distribution's packages if missing (the bench runs as root)."""
    found = shutil.which("wrk")
    if found:
        return found
    print("== wrk not found: installing it with apt-get", flush=True)
    apt = ["apt-get", "-qq"] if os.geteuid() == 0 else ["sudo", "-n", "apt-get", "-qq"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*apt, "update"], check=True, env=env)
    subprocess.run([*apt, "install", "-y", "wrk"], check=True, env=env)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is still not on PATH after apt-get install")
    return found


class Server:
    """The application server (`config.app_server.command`) serving config.wsgi on 127.0.0.1:PORT with the bench's
    environment; a context manager."""

    def __init__(self, port: int, workers: int, env: dict[str, str], log_path: Path) -> None:
        self.port, self.workers, self.env, self.log_path = port, workers, env, log_path
        self.process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        from config import app_server

        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in __exit__
        self.process = subprocess.Popen(
            app_server.command(bind=app_server.tcp("127.0.0.1", self.port), workers=self.workers),
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the app server exited with {self.process.returncode}; see {self.log_path}")
            try:
                urllib.request.urlopen(f"{self.base}/api/schema/", timeout=5).read()
                return self
            except urllib.error.HTTPError:
                return self  # it answers, whatever the status
            except OSError:
                time.sleep(0.3)
        self.__exit__(None, None, None)
        raise SystemExit(f"the app server did not answer on {self.base} within 60s; see {self.log_path}")

    def worker_pids(self) -> list[int]:
        from bench.cpu import children

        return children(self.process.pid)

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # its own session: the master and its workers
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


@dataclass
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    statuses: dict[str, int] = field(default_factory=dict)
    socket_errors: int = 0
    first_error: str = ""

    @property
    def ok(self) -> int:
        return sum(n for code, n in self.statuses.items() if code.startswith("2"))

    @property
    def failed(self) -> int:
        return self.requests - self.ok


def run_wrk(base: str, script: str, args: list[str], *, connections: int = 16, threads: int = 16,
            seconds: int = 10) -> WrkResult:
    """Run wrk for a fixed duration (bounded) and parse the JSON line the Lua `done` hook prints."""
    command = [ensure_wrk(), "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "30s",
               "-s", str(ROOT / "bench" / "wrk" / script), base, "--", *args]
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=seconds + 120)
    line = next((ln for ln in completed.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if completed.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    return WrkResult(
        requests=data["requests"], seconds=data["duration_us"] / 1e6, p50_ms=data["p50_ms"],
        p95_ms=data["p95_ms"], p99_ms=data["p99_ms"], statuses=data["statuses"],
        socket_errors=data["connect_errors"] + data["read_errors"] + data["write_errors"] + data["timeouts"],
        first_error=data["first_error"],
    )
