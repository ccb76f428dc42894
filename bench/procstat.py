"""CPU time of processes from /proc, for the benchmarks that print CPU per request or per
message (a gunicorn or Celery master and its workers, PostgreSQL's backends)."""

from __future__ import annotations

import os
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int | str) -> list[str]:
    """/proc/<pid>/stat after the command name (which may hold spaces and parentheses):
    state is [0], ppid [1], utime [11], stime [12], cutime [13], cstime [14]."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2 :].split()


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), plus what its children that it reaped
    used; 0 for a process that is gone."""
    try:
        fields = _stat_fields(pid)
    except OSError:
        return 0.0
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / CLOCK_TICKS


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            parent = int(_stat_fields(entry)[1])
        except OSError:
            continue
        tree.setdefault(parent, []).append(int(entry))
    return tree


def tree_cpu_seconds(root_pid: int) -> float:
    """CPU seconds of a process and every live descendant (a reaped one counts in its
    parent, through `process_cpu_seconds`)."""
    tree = _children()
    total, stack = 0.0, [root_pid]
    while stack:
        pid = stack.pop()
        total += process_cpu_seconds(pid)
        stack.extend(tree.get(pid, []))
    return total
