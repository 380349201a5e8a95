"""What the benchmarks read of processes from /proc: CPU spent, PostgreSQL's included, and peak memory."""

from __future__ import annotations

import os
from pathlib import Path

CLOCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """CPU seconds of a process so far (user and system)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK


def postgres_cpu_seconds(pgdata: Path) -> float:
    """CPU seconds of the PostgreSQL server so far: the postmaster, its live processes and those that ended (a
    backend ends with its connection: /proc's cutime and cstime). This run's server only, not another on the
    machine."""
    postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
    fields = Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()
    ended = (int(fields[13]) + int(fields[14])) / CLOCK
    live = 0.0
    for child in Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split():
        try:
            live += cpu_seconds(int(child))
        except OSError:
            pass  # ended meanwhile (then counted among the ended at the next reading)
    return cpu_seconds(postmaster) + ended + live


def peak_memory_kib(pid: int | str = "self") -> int:
    """The process's RSS high-water mark (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0
