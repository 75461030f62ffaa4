"""Where probes find the target: experiment configuration first, then the environment."""

from __future__ import annotations

import os
from typing import Any

__all__ = ["SERVICE_URL_ENV", "service_url"]

SERVICE_URL_ENV = "CHAOSRUN_SERVICE_URL"


def service_url(configuration: dict[str, Any] | None) -> str:
    url = (configuration or {}).get("service_url") or os.environ.get(SERVICE_URL_ENV)
    if not url:
        raise ValueError(f"no service URL: set configuration.service_url or ${SERVICE_URL_ENV}")
    return str(url).rstrip("/")
