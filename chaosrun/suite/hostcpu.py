"""How busy the host's CPUs were between two moments (/proc/stat: every process, every core)."""

from __future__ import annotations

__all__ = ["CpuTicks", "busy_share", "cpu_ticks"]

CpuTicks = tuple[int, int]  # (busy, total) jiffies since boot, all cores


def cpu_ticks() -> CpuTicks | None:
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # guest time is already counted in user
    return total - idle, total


def busy_share(before: CpuTicks | None, after: CpuTicks | None) -> float | None:
    if before is None or after is None or after[1] <= before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])
