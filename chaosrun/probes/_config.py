"""Where probes find the target: chaosrun's configuration key first, then the environment."""

from __future__ import annotations

import os
from typing import Any

from chaosrun.names import SERVICE_URL_ENV, SERVICE_URL_KEY

__all__ = ["SERVICE_URL_ENV", "service_url"]


def service_url(configuration: dict[str, Any] | None) -> str:
    url = (configuration or {}).get(SERVICE_URL_KEY) or os.environ.get(SERVICE_URL_ENV)
    if not url:
        raise ValueError(
            f"no service URL: set configuration.{SERVICE_URL_KEY} or ${SERVICE_URL_ENV}"
        )
    return str(url).rstrip("/")
