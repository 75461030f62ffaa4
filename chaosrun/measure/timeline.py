"""The run's timeline: one record per request the load process scheduled.

File format (CSV, header line first, appended and flushed by the load process while it runs so
the supervisor can read it live; a torn last line is ignored by the reader):

    scheduled,sent,latency_ms,status,error,endpoint,degraded,request
    1796017541.627258,1796017541.627301,12.418,200,,/api/play,0,5f3a09c1-42

- `scheduled`: wall-clock epoch seconds at which the request was *scheduled* (open loop);
- `sent`: when it was actually sent (sent - scheduled = scheduler lag);
- `latency_ms`: from the *scheduled* time to the end of the response or the error (so a stalled
  service cannot hide its stall: no coordinated omission);
- `status`: HTTP status, 0 when there was no response;
- `error`: "" when a response arrived, else one of ERROR_KINDS;
- `degraded`: 1 when the service answered with a fallback (header `X-Chaosrun-Degraded`);
- `request`: the ``X-Chaosrun-Request`` header it carried (run token - number): what reached a
  dependency with it came from this request. Timelines written before it had seven columns and
  read back with an empty `request`.

Wall-clock times let the timeline be joined with fault windows and service state transitions
recorded by other processes on the same host.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from chaosrun.tail import read_appended

__all__ = [
    "ERROR_KINDS",
    "HEADER",
    "RequestRecord",
    "TimelineTail",
    "format_record",
    "parse_records",
    "read_timeline",
]

HEADER = "scheduled,sent,latency_ms,status,error,endpoint,degraded,request"
ERROR_KINDS = ("timeout", "connect", "reset", "other")


@dataclass(frozen=True, slots=True)
class RequestRecord:
    scheduled: float
    sent: float
    latency_ms: float
    status: int
    error: str
    endpoint: str
    degraded: bool = False
    request_id: str = ""

    @property
    def ok(self) -> bool:
        """A response arrived and it was not a server error (fallback answers count as ok)."""
        return not self.error and 0 < self.status < 500

    @property
    def lag_ms(self) -> float:
        return (self.sent - self.scheduled) * 1000.0

    @property
    def completed(self) -> float:
        return self.scheduled + self.latency_ms / 1000.0


def format_record(r: RequestRecord) -> str:
    return (
        f"{r.scheduled:.6f},{r.sent:.6f},{r.latency_ms:.3f},{r.status},{r.error},"
        f"{r.endpoint},{int(r.degraded)},{r.request_id}\n"
    )


def parse_records(lines: Iterable[str]) -> Iterator[RequestRecord]:
    for line in lines:
        if not line.endswith("\n") or line.startswith("scheduled,"):
            continue  # torn last line (still being written) or the header
        parts = line.rstrip("\n").split(",")
        if len(parts) not in (7, 8):
            continue
        try:
            yield RequestRecord(
                scheduled=float(parts[0]),
                sent=float(parts[1]),
                latency_ms=float(parts[2]),
                status=int(parts[3]),
                error=parts[4],
                endpoint=parts[5],
                degraded=parts[6] == "1",
                request_id=parts[7] if len(parts) == 8 else "",
            )
        except ValueError:
            continue


def read_timeline(path: Path) -> list[RequestRecord]:
    """Every complete record, sorted by scheduled time."""
    try:
        handle: TextIO
        with open(path, encoding="utf-8", newline="") as handle:
            records = list(parse_records(handle))
    except FileNotFoundError:
        return []
    records.sort(key=lambda r: r.scheduled)
    return records


class TimelineTail:
    """Reads the records appended to a timeline since the last call (for live evaluation)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0

    def read_new(self) -> list[RequestRecord]:
        chunk, self._offset = read_appended(self.path, self._offset)
        text = chunk.decode("utf-8", errors="replace")
        return list(parse_records(text.splitlines(keepends=True)))
