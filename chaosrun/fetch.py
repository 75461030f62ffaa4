"""One bounded JSON request to a service on the host (lab state, far-side counters)."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

__all__ = ["fetch_json"]


def fetch_json(url: str, method: str = "GET", timeout_s: float = 3.0) -> Any:
    """GET (or POST with an empty body) `url` and decode its JSON; raises OSError / ValueError."""
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        return json.loads(response.read())
