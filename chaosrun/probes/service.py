"""Service state probes: read the lab service's JSON state view (`/state`)."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from chaosrun.probes._config import service_url

__all__ = ["breaker_state", "service_state"]


def service_state(*, timeout_s: float = 2.0, configuration: dict[str, Any] | None = None) -> Any:
    with urllib.request.urlopen(service_url(configuration) + "/state", timeout=timeout_s) as r:
        return json.loads(r.read())


def breaker_state(
    *, dependency: str, timeout_s: float = 2.0, configuration: dict[str, Any] | None = None
) -> str:
    """`closed`, `open` or `half-open` (`disabled` when the service has no breaker)."""
    deps = service_state(timeout_s=timeout_s, configuration=configuration)["dependencies"]
    if dependency not in deps:
        raise ValueError(f"unknown dependency {dependency!r}; known: {', '.join(sorted(deps))}")
    breaker = deps[dependency]["breaker"]
    return str(breaker["state"]) if breaker.get("enabled", True) else "disabled"
