"""fail_for: the lab dependency behind `proxy` answers 500 for exactly `duration_ms` (lab only).

Decided inside the dependency process (no proxy, no network fault): the ground truth against
which chaosrun's recovery measurements are checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chaosrun import undolog
from chaosrun.faults._toxic import client_for, mark_reverted
from chaosrun.lab.failure import end_failure, start_failure
from chaosrun.lab.toxiproxy import ToxiproxyClient

__all__ = ["describe", "inject", "revert", "undo"]

LIMITS = {"duration_ms": (0, 3_600_000)}
UNDO_OP = "end_failure"  # how the journal names its revert
IN_TOXIPROXY = False  # inside the dependency: Toxiproxy's /reset does not end it


def inject(
    *, proxy: str, duration_ms: int, configuration: dict[str, Any] | None = None
) -> dict[str, Any]:
    client = client_for(configuration, proxy)
    log = undolog.log_from_env()
    entry = undolog.record(log, "fail_for", toxiproxy_url=client.url, proxy=proxy) if log else None
    window = start_failure(client, proxy, duration_ms)
    if log and entry:
        undolog.mark_applied(log, entry.id, float(window["start"]), float(window["end"]))
    return {
        "proxy": proxy,
        "start": window.get("start"),
        "end": window.get("end"),
        "duration_ms": duration_ms,
    }


def revert(*, proxy: str, configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    client = client_for(configuration, proxy)
    end_failure(client, proxy)
    mark_reverted("fail_for", proxy=proxy)
    return {"proxy": proxy, "ended": True}


def undo(params: Mapping[str, Any], timeout_s: float) -> bool:
    """End the failure window of the dependency behind the proxy."""
    client = ToxiproxyClient(str(params["toxiproxy_url"]), timeout_s=timeout_s)
    return end_failure(client, str(params["proxy"]), timeout_s)


def describe(
    func: str, proxy: str, args: Mapping[str, Any], base: str, upstream: str | None
) -> tuple[str, str]:
    dep = f"http://{upstream or '<upstream of ' + proxy + '>'}/_fail"
    if func == "revert":
        return (
            f"end the failure window of the dependency behind {proxy}",
            f"GET {base}, then POST {dep}?duration_ms=0",
        )
    duration = args.get("duration_ms")
    effect = f"the dependency behind proxy {proxy} answers 500 for {duration} ms"
    return effect, f"GET {base}, then POST {dep}?duration_ms={duration}&mode=error"
