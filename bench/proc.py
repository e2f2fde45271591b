"""A server's CPU time from its own accounting (Linux /proc), without psutil: the benchmark charges each wrk run
the CPU its server processes used, divided by the requests they completed."""

from __future__ import annotations

import os
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat from the third (state) on; None once the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()  # the command name may hold spaces and parentheses


def descendants(pid: int) -> list[int]:
    """Live processes below `pid` (uvicorn's worker processes), found by their parent ids."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def cpu_seconds(pid: int) -> float:
    """utime + stime of `pid` and its live descendants, plus what their reaped children used (cutime + cstime),
    in seconds; 0.0 if `pid` is gone."""
    total = 0.0
    for each in [pid, *descendants(pid)]:
        fields = _stat(each)
        if fields:
            total += sum(int(f) for f in fields[11:15]) / CLOCK_TICKS  # utime, stime, cutime, cstime
    return total
