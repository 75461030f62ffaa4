"""A small typed Toxiproxy HTTP API client.

Why not toxiproxy-python: it keeps host/port in class attributes (one server per process), has no
request timeouts, no PATCH, and depends on the Python-2 `future` package. Every call here is bounded
in time, maps HTTP errors to chaosrun errors, and many clients can talk to different servers.
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from chaosrun.errors import ToxiproxyError, ToxiproxyUnreachable

__all__ = ["DEFAULT_TIMEOUT_S", "Proxy", "Toxic", "ToxiproxyClient"]

DEFAULT_TIMEOUT_S = 2.0
# Toxiproxy answers 403 to browser user agents; be explicit about who we are.
_USER_AGENT = "chaosrun-toxiproxy-client"


@dataclass(frozen=True, slots=True)
class Toxic:
    name: str
    type: str
    stream: str = "downstream"
    toxicity: float = 1.0
    attributes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Toxic:
        return cls(
            name=str(data["name"]),
            type=str(data["type"]),
            stream=str(data.get("stream", "downstream")),
            toxicity=float(data.get("toxicity", 1.0)),
            attributes=dict(data.get("attributes") or {}),
        )

    def to_api(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "stream": self.stream,
            "toxicity": self.toxicity,
            "attributes": self.attributes,
        }


@dataclass(frozen=True, slots=True)
class Proxy:
    name: str
    listen: str
    upstream: str
    enabled: bool
    toxics: tuple[Toxic, ...] = ()

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Proxy:
        return cls(
            name=str(data["name"]),
            listen=str(data["listen"]),
            upstream=str(data["upstream"]),
            enabled=bool(data.get("enabled", True)),
            toxics=tuple(Toxic.from_api(t) for t in data.get("toxics") or ()),
        )


class ToxiproxyClient:
    """Client for one Toxiproxy server. Every request is bounded by `timeout_s`."""

    def __init__(self, url: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ToxiproxyError(f"Toxiproxy API URL must be http://host:port, got {url!r}")
        self.url = url.rstrip("/")
        self._host = parts.hostname
        self._port = parts.port or 8474
        self.timeout_s = timeout_s

    # -- transport -------------------------------------------------------------------------
    def _request(
        self, method: str, path: str, body: Any = None, timeout_s: float | None = None
    ) -> Any:
        timeout = self.timeout_s if timeout_s is None else timeout_s
        conn = http.client.HTTPConnection(self._host, self._port, timeout=timeout)
        payload = None if body is None else json.dumps(body).encode()
        headers = {"User-Agent": _USER_AGENT, "Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            raw = response.read()
        except TimeoutError as exc:
            raise ToxiproxyUnreachable(
                f"Toxiproxy at {self.url} did not answer {method} {path} within {timeout:g} s"
            ) from exc
        except OSError as exc:
            raise ToxiproxyUnreachable(
                f"Toxiproxy at {self.url} is unreachable ({exc.strerror or exc})"
            ) from exc
        finally:
            conn.close()
        if response.status >= 400:
            raise ToxiproxyError(
                f"Toxiproxy refused: {response.status} {_error_text(raw)} "
                f"({method} {self.url}{path})",
                status=response.status,
            )
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise ToxiproxyError(f"Toxiproxy {method} {path} returned invalid JSON") from exc

    # -- server ----------------------------------------------------------------------------
    def version(self) -> str:
        conn_result = self._request("GET", "/version")
        if isinstance(conn_result, dict):
            return str(conn_result.get("version", ""))
        return str(conn_result)

    def is_up(self, timeout_s: float = 0.25) -> bool:
        try:
            self._request("GET", "/version", timeout_s=timeout_s)
        except ToxiproxyError:
            return False
        return True

    def reset(self) -> None:
        """Enable every proxy and remove every toxic."""
        self._request("POST", "/reset")

    # -- proxies ---------------------------------------------------------------------------
    def proxies(self) -> dict[str, Proxy]:
        data = self._request("GET", "/proxies") or {}
        return {name: Proxy.from_api(p) for name, p in data.items()}

    def proxy(self, name: str) -> Proxy:
        return Proxy.from_api(self._request("GET", f"/proxies/{_q(name)}"))

    def find_proxy(self, name: str) -> Proxy | None:
        """The proxy, or None when Toxiproxy has none of that name (404)."""
        try:
            return self.proxy(name)
        except ToxiproxyError as exc:
            if exc.status == 404:
                return None
            raise

    def create_proxy(self, name: str, listen: str, upstream: str, enabled: bool = True) -> Proxy:
        body = {"name": name, "listen": listen, "upstream": upstream, "enabled": enabled}
        return Proxy.from_api(self._request("POST", "/proxies", body))

    def delete_proxy(self, name: str) -> None:
        self._request("DELETE", f"/proxies/{_q(name)}")

    def set_enabled(self, name: str, enabled: bool) -> Proxy:
        return Proxy.from_api(self._request("PATCH", f"/proxies/{_q(name)}", {"enabled": enabled}))

    def set_upstream(self, name: str, upstream: str) -> Proxy:
        """Point the proxy at another upstream (Toxiproxy restarts its listener: open
        connections through it are closed; its toxics stay)."""
        body = {"upstream": upstream}
        return Proxy.from_api(self._request("PATCH", f"/proxies/{_q(name)}", body))

    # -- toxics ----------------------------------------------------------------------------
    def toxics(self, proxy: str) -> list[Toxic]:
        data = self._request("GET", f"/proxies/{_q(proxy)}/toxics") or []
        return [Toxic.from_api(t) for t in data]

    def add_toxic(self, proxy: str, toxic: Toxic) -> Toxic:
        return Toxic.from_api(self._request("POST", f"/proxies/{_q(proxy)}/toxics", toxic.to_api()))

    def update_toxic(self, proxy: str, name: str, **changes: Any) -> Toxic:
        path = f"/proxies/{_q(proxy)}/toxics/{_q(name)}"
        return Toxic.from_api(self._request("PATCH", path, changes))

    def remove_toxic(self, proxy: str, name: str, missing_ok: bool = True) -> bool:
        """Delete a toxic; returns False when it was already gone (and `missing_ok`)."""
        try:
            self._request("DELETE", f"/proxies/{_q(proxy)}/toxics/{_q(name)}")
        except ToxiproxyError as exc:
            if missing_ok and exc.status == 404:
                return False
            raise
        return True


def _q(segment: str) -> str:
    return quote(segment, safe="")


def _error_text(raw: bytes) -> str:
    try:
        data = json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace").strip()[:200] or "no body"
    if isinstance(data, dict) and "error" in data:
        return str(data["error"])
    return str(data)[:200]
