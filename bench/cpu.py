"""CPU time of processes, from /proc: how much work a movement costs, whatever else the machine runs.

Throughput on a busy machine says little; CPU seconds spent per movement by the server side (the app server
workers plus their PostgreSQL backends, or the floor's backends) do not depend on who else is running.
"""

from __future__ import annotations

import os
from pathlib import Path

import psycopg

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a live process (0 if it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # fields 14 and 15 of proc(5)


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def backends(url: str, database: str, exclude: set[int]) -> list[int]:
    """PIDs of the client backends connected to `database`, but for `exclude` and the asking one."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend' "
                            "AND pid <> pg_backend_pid()", [database]).fetchall()
    return [pid for (pid,) in rows if pid not in exclude]


def total(pids: list[int]) -> float:
    return sum(cpu_seconds(pid) for pid in pids)
