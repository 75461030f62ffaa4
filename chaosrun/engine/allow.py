"""Which hosts an experiment would contact, and which of them are not allowed.

Targets default to loopback: "localhost" (any case), 127.0.0.0/8 and ::1. Any other host must be
allowed explicitly (`chaosrun run --allow-target HOST`). Names are never resolved: a name other
than localhost is not loopback, whatever it resolves to.

Checked: every system a run touches (`chaosrun.engine.reach`): the explicit target's
`service_url` and `toxiproxy_url`, the `url` of every HTTP provider (hypothesis probes, method,
rollbacks, probes inside tolerances, controls, safeguards, dynamic configuration) and the API
server of Chaos Toolkit extensions chaosrun knows (chaosk8s). Templates are filled as the worker
will see them (`${chaosrun_service_url}` and `${chaosrun_toxiproxy_url}` with the target's URLs,
other `${name}`s from the experiment's configuration, env-typed entries from `environ`). A host
still unknown after that is refused: nobody can say before the run where it points.

`find_violations` is pure given the environment; `refusals` turns violations into `InputError`s.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from chaosrun.engine.reach import FileReader, touched, url_host
from chaosrun.errors import InputError, UsageError
from chaosrun.model import ClusterTarget, Experiment, UrlTarget

__all__ = [
    "Violation",
    "find_violations",
    "is_loopback",
    "parse_allowed",
    "refusals",
    "require_allowed",
]


@dataclass(frozen=True, slots=True)
class Violation:
    """A host the experiment would contact that is neither loopback nor allowed."""

    key_path: str
    host: str
    url: str
    known: bool = True  # False: a template chaosrun cannot resolve before the run
    line: int | None = None
    kind: str = "http"

    @property
    def problem(self) -> str:
        if not self.known:
            return (
                f"cannot tell which host {self.url!r} points to before the run; "
                "write the host in the file or in its configuration"
            )
        what = "the Kubernetes API server" if self.kind == "kubernetes" else "host"
        return f"{what} '{self.host}' is not loopback; pass --allow-target {self.host} to allow it"


def is_loopback(host: str) -> bool:
    """localhost (any case), 127.0.0.0/8, ::1 (brackets allowed); names are never resolved."""
    name = host.strip()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name.lower() == "localhost":
        return True
    address = _address(name)
    if address is None:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def parse_allowed(values: Collection[str]) -> frozenset[str]:
    """Normalise `--allow-target` values (host names lowercased, addresses canonical)."""
    allowed: set[str] = set()
    for value in values:
        host = value.strip()
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        bad = (
            not host
            or any(c in host for c in "/@?# \t")
            or (":" in host and _address(host) is None)
        )
        if bad:
            raise UsageError(
                f"--allow-target: expected a host name or IP address (no scheme, port or "
                f"path), got {value!r}"
            )
        allowed.add(_canonical(host))
    return frozenset(allowed)


def find_violations(
    experiment: Experiment,
    allowed: Collection[str] = (),
    environ: Mapping[str, str] | None = None,
    read_file: FileReader | None = None,
) -> list[Violation]:
    """Every non-loopback host the experiment would contact that `allowed` does not name."""
    names = frozenset(_canonical(host) for host in allowed)
    target = experiment.chaosrun.target
    target_hosts = set()
    if isinstance(target, UrlTarget):
        target_hosts = {url_host(target.service_url), url_host(target.toxiproxy_url)}
    elif isinstance(target, ClusterTarget):
        target_hosts = {url_host(target.service_url)}
    found: list[Violation] = []
    for system in touched(experiment, environ or {}, read_file):
        if system.kind == "process" or (system.kind == "extension" and system.host is None):
            continue  # local: nothing to check against the policy
        host = system.host
        if not system.known or host is None or "$" in host or "{" in host:
            if system.kind in ("http", "kubernetes") and (
                not system.known or "$" in system.address
            ):
                url = system.address.split(" ", 1)[-1]
                found.append(Violation(system.key_path, "", url, False, system.line, system.kind))
            continue  # no host at all: nothing can be contacted
        if system.kind != "target" and host in target_hosts:
            continue  # the target itself, checked (once) under its own key
        if not is_loopback(host) and _canonical(host) not in names:
            url = system.address.split(" ", 1)[-1]
            found.append(Violation(system.key_path, host, url, True, system.line, system.kind))
    return found


def refusals(experiment: Experiment, violations: list[Violation]) -> list[InputError]:
    """One InputError per violation (file, line, key path, what to do), in document order."""
    errors = [InputError(str(experiment.path), v.key_path, v.line, v.problem) for v in violations]
    return sorted(errors, key=lambda error: error.line or 0)


def require_allowed(
    experiment: Experiment,
    allowed: Collection[str] = (),
    environ: Mapping[str, str] | None = None,
) -> None:
    """Raise the first refusal as an InputError (exit 2), if any."""
    errors = refusals(experiment, find_violations(experiment, allowed, environ))
    if errors:
        raise errors[0]


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _canonical(host: str) -> str:
    address = _address(host)
    return str(address) if address is not None else host.lower().rstrip(".")
