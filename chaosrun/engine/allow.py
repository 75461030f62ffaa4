"""Which hosts an experiment would contact, and which of them are not allowed.

Targets default to loopback: "localhost" (any case), 127.0.0.0/8 and ::1. Any other host must be
allowed explicitly (`chaosrun run --allow-target HOST`). Names are never resolved: a name other
than localhost is not loopback, whatever it resolves to.

Checked: the explicit target's `service_url` and `toxiproxy_url`, and the `url` of every HTTP
provider (hypothesis probes, method, rollbacks, probes inside tolerances, controls, probes of
the chaosrun block such as safeguards). Templates are
filled as the worker will see them: `${service_url}` and `${toxiproxy_url}` with the target's
URLs (chaosrun injects both; a lab is always on 127.0.0.1, an explicit target is checked once,
under its own key), other `${name}`s from the experiment's configuration (env-typed entries from
`environ`, as Chaos Toolkit will). A host still unknown after that is refused: nobody can say
before the run where it points.

`find_violations` is pure; `refusals` turns violations into `InputError`s with line numbers.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from chaosrun.errors import InputError, UsageError
from chaosrun.model import Experiment, UrlTarget

__all__ = [
    "TARGET_TEMPLATES",
    "Violation",
    "configuration_values",
    "find_violations",
    "is_loopback",
    "parse_allowed",
    "refusals",
    "require_allowed",
    "substitute",
]

# Configuration keys chaosrun sets from the resolved target before the worker starts.
TARGET_TEMPLATES = ("service_url", "toxiproxy_url")
_LAB_URL = "http://127.0.0.1"  # every lab listens on 127.0.0.1 only
_SECTIONS = ("controls", "steady-state-hypothesis", "method", "rollbacks")


@dataclass(frozen=True, slots=True)
class Violation:
    """A host the experiment would contact that is neither loopback nor allowed."""

    key_path: str
    host: str
    url: str
    known: bool = True  # False: a template chaosrun cannot resolve before the run

    @property
    def problem(self) -> str:
        if not self.known:
            return (
                f"cannot tell which host {self.url!r} points to before the run; "
                "write the host in the file or in its configuration"
            )
        return f"host '{self.host}' is not loopback; pass --allow-target {self.host} to allow it"


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
) -> list[Violation]:
    """Every non-loopback host the experiment would contact that `allowed` does not name."""
    names = frozenset(_canonical(host) for host in allowed)
    target = experiment.chaosrun.target
    mapping = configuration_values(experiment.document, environ or {})
    if isinstance(target, UrlTarget):
        mapping.update(service_url=target.service_url, toxiproxy_url=target.toxiproxy_url)
        target_hosts = {_host(target.service_url), _host(target.toxiproxy_url)}
    else:  # the lab: always on 127.0.0.1
        mapping.update(service_url=_LAB_URL, toxiproxy_url=_LAB_URL)
        target_hosts = set()
    found: list[Violation] = []
    for path, url, is_target in _urls(experiment):
        resolved = substitute(url, mapping)
        text = resolved if isinstance(resolved, str) else url
        host = _host(text)
        if host is None or "$" in host or "{" in host:
            if "$" in text:
                found.append(Violation(path, "", url, known=False))
            continue  # no host at all: nothing can be contacted
        if not is_target and host in target_hosts:
            continue  # the target itself, checked (once) under its own key
        if not is_loopback(host) and _canonical(host) not in names:
            found.append(Violation(path, host, url))
    return found


def refusals(experiment: Experiment, violations: list[Violation]) -> list[InputError]:
    """One InputError per violation (file, line, key path, what to do), in document order."""
    if not violations:
        return []
    lines = _key_lines(experiment)
    errors = [
        InputError(str(experiment.path), v.key_path, lines(v.key_path), v.problem)
        for v in violations
    ]
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


def configuration_values(
    document: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The configuration as Chaos Toolkit will load it; env entries only when `environ` is given.

    Other dynamic entries (any other `type`) are unknown before the run and left out.
    """
    values: dict[str, Any] = {}
    configuration = document.get("configuration")
    if not isinstance(configuration, Mapping):
        return values
    for key, value in configuration.items():
        if isinstance(value, Mapping) and "type" in value:
            name = value.get("key")
            if environ is None or value.get("type") != "env" or not isinstance(name, str):
                continue
            if name in environ:
                values[key] = environ[name]
            elif "default" in value:
                values[key] = value["default"]
            continue
        values[key] = value
    return values


def substitute(value: Any, mapping: Mapping[str, Any]) -> Any:
    """`${name}` templates filled as Chaos Toolkit does: a lone template keeps the value's type."""
    from string import Template

    if isinstance(value, str):
        template = Template(value)
        match = template.pattern.fullmatch(value)
        if match is not None and match.group("braced") in mapping:
            return mapping[match.group("braced")]
        return template.safe_substitute({k: str(v) for k, v in mapping.items()})
    if isinstance(value, list):
        return [substitute(item, mapping) for item in value]
    if isinstance(value, dict):
        return {key: substitute(item, mapping) for key, item in value.items()}
    return value


def _urls(experiment: Experiment) -> Iterator[tuple[str, str, bool]]:
    """(key path, URL, is the target) of the explicit target and of every HTTP provider."""
    target, doc = experiment.chaosrun.target, experiment.document
    index = _chaosrun_index(doc)
    if isinstance(target, UrlTarget):
        yield f"extensions[{index}].target.service_url", target.service_url, True
        yield f"extensions[{index}].target.toxiproxy_url", target.toxiproxy_url, True
    sections = [(key, doc[key]) for key in _SECTIONS if key in doc]
    if index is not None:  # probes of the chaosrun block (safeguards)
        sections.insert(1, (f"extensions[{index}]", doc["extensions"][index]))
    for key, section in sections:
        for path, url in _providers(key, section):
            yield path, url, False


def _providers(path: str, value: object) -> Iterator[tuple[str, str]]:
    if isinstance(value, Mapping):
        provider = value.get("provider")
        if isinstance(provider, Mapping) and provider.get("type") == "http":
            url = provider.get("url")
            if isinstance(url, str):
                yield f"{path}.provider.url", url
        for key, item in value.items():
            if key != "provider":
                yield from _providers(f"{path}.{key}", item)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _providers(f"{path}[{i}]", item)


def _chaosrun_index(document: Mapping[str, Any]) -> int | None:
    extensions = document.get("extensions")
    if isinstance(extensions, list):
        for i, extension in enumerate(extensions):
            if isinstance(extension, Mapping) and extension.get("name") == "chaosrun":
                return i
    return None


def _host(url: str) -> str | None:
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    return host or None


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _canonical(host: str) -> str:
    address = _address(host)
    return str(address) if address is not None else host.lower().rstrip(".")


def _key_lines(experiment: Experiment) -> Callable[[str], int | None]:
    """key path -> line (the nearest enclosing key's line), read again from the file.

    The model keeps no line map (only `FaultUse.line`); re-reading is cheap and only happens
    when something is refused. A file that changed meanwhile just loses its line numbers.
    """
    from chaosrun.schema.common import Ctx
    from chaosrun.schema.source import read_text
    from chaosrun.schema.yamlmap import parse

    path = experiment.path
    ctx = Ctx(str(path))
    try:
        parse(read_text(path, str(path)), path.suffix.lower() == ".json", ctx)
    except Exception:
        ctx.lines.clear()
    return ctx.line
