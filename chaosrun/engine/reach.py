"""What a run will touch: every external system its steps address, known before anything runs.

- HTTP providers: the URL's host, with `${...}` filled from the configuration;
- process providers: the command (a local process; what it contacts itself is not knowable);
- chaosrun faults and probes: the target's Toxiproxy API and service;
- Chaos Toolkit extensions: for chaostoolkit-kubernetes (`chaosk8s`), the API server of the kube
  config and context in effect, as chaosk8s picks them (KUBECONFIG or ~/.kube/config, context
  from KUBERNETES_CONTEXT in the provider's secrets or the environment, else the config's
  current context; in a pod with CHAOSTOOLKIT_IN_POD=true the in-cluster API; else
  KUBERNETES_HOST or http://localhost); any other extension is listed as not knowable.

`touched` is pure given the environment and a file reader; `chaosrun.engine.allow` turns the
non-loopback hosts into refusals, and the dry run lists them all.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from string import Template
from typing import Any
from urllib.parse import urlsplit

import yaml

from chaosrun.engine.convert import Unconvertible, convert
from chaosrun.model import (
    ClusterTarget,
    Experiment,
    HttpCall,
    LabTarget,
    ProcessCall,
    PythonCall,
    Step,
    UrlTarget,
)
from chaosrun.names import SERVICE_URL_KEY, TOXIPROXY_URL_KEY
from chaosrun.schema.steps import chaosrun_block_index

KUBE_LAB_ENV = "CHAOSRUN_KUBE_LAB"  # set by `touched` for a k8s lab target, never exported
KUBE_LAB_SERVER = "https://127.0.0.1"  # the k8s lab's API server (its port is chosen at start)

__all__ = [
    "KUBE_LAB_SERVER",
    "LAB_URL",
    "System",
    "command_line",
    "configuration_values",
    "kube_api_server",
    "substitute",
    "touched",
    "url_host",
]

LAB_URL = "http://127.0.0.1"  # every lab listens on 127.0.0.1 only

FileReader = Callable[[str], str | None]


@dataclass(frozen=True, slots=True)
class System:
    """One external system a step addresses.

    `host` is what the target policy checks (None: a local process, nothing to check);
    `known` is False when the address cannot be told before the run (an unresolved template,
    an extension chaosrun does not know)."""

    kind: str  # http | process | toxiproxy | service | kubernetes | extension | target
    address: str
    host: str | None
    key_path: str
    line: int | None
    via: str  # the step (or key) that addresses it
    known: bool = True
    note: str = ""


def touched(
    experiment: Experiment,
    environ: Mapping[str, str],
    read_file: FileReader | None = None,
    target_urls: tuple[str, str] | None = None,
) -> tuple[System, ...]:
    """Every system the experiment's steps address, in document order.

    `target_urls`: (service, Toxiproxy API) of the resolved target; by default the explicit
    target's URLs, or the lab's loopback address."""
    reader = read_file or _read_file
    target = experiment.chaosrun.target
    if target_urls is None:
        if isinstance(target, UrlTarget):
            target_urls = (target.service_url, target.toxiproxy_url)
        elif isinstance(target, ClusterTarget):
            target_urls = (target.service_url, LAB_URL)
        else:
            target_urls = (LAB_URL, LAB_URL)
    mapping = configuration_values(experiment.document, environ)
    if experiment.needs_target:
        mapping[SERVICE_URL_KEY], mapping[TOXIPROXY_URL_KEY] = target_urls
    secrets = _secret_values(experiment.document, environ)
    found: list[System] = []
    if isinstance(target, UrlTarget):
        index = chaosrun_block_index(experiment.document)
        for key, url in (
            ("service_url", target.service_url),
            ("toxiproxy_url", target.toxiproxy_url),
        ):
            path = f"extensions[{index}].target.{key}"
            found.append(System("target", url, url_host(url), path, experiment.line(path), key))
    if isinstance(target, ClusterTarget):
        index = chaosrun_block_index(experiment.document)
        if target.context:
            environ = {**environ, "KUBERNETES_CONTEXT": target.context}
        path = f"extensions[{index}].target.kubernetes.service_url"
        url = target.service_url
        found.append(
            System("target", url, url_host(url), path, experiment.line(path), "service_url")
        )
        server, how = kube_api_server(environ, {}, reader)
        path = f"extensions[{index}].target.kubernetes"
        found.append(
            System(
                "target",
                server or "?",
                url_host(server) if server else None,
                path,
                experiment.line(path),
                "the API server (the watchdog follows it)",
                server is not None,
                how,
            )
        )
    if isinstance(target, LabTarget) and target.profile == "k8s":
        environ = {**environ, KUBE_LAB_ENV: "1"}  # its API server: the lab's, on 127.0.0.1
    for step in experiment.steps:
        for system in _systems(step, mapping, secrets, environ, reader, target_urls):
            found.append(replace(system, line=experiment.line(system.key_path) or step.line))
    return tuple(found)


def _systems(
    step: Step,
    mapping: Mapping[str, Any],
    secrets: Mapping[str, Mapping[str, Any]],
    environ: Mapping[str, str],
    reader: FileReader,
    target_urls: tuple[str, str],
) -> Iterator[System]:
    call, via = step.call, step.name or step.key_path
    if step.ref is not None:
        return  # the activity it names is listed where it is written
    if isinstance(call, HttpCall):
        path = f"{step.key_path}.provider.url"
        url = substitute(call.url, mapping)
        text = url if isinstance(url, str) else call.url
        host = url_host(text)
        known = host is not None and "$" not in text
        note = "" if known else "cannot tell before the run which host this template names"
        yield System("http", f"{call.method} {text}", host, path, step.line, via, known, note)
    elif isinstance(call, ProcessCall):
        command = command_line(call.path, substitute(call.arguments, mapping))
        path = f"{step.key_path}.provider.path"
        yield System("process", command, None, path, step.line, via, note="a local process")
    elif isinstance(call, PythonCall):
        yield from _python(step, call, mapping, secrets, environ, reader, target_urls)


def _python(
    step: Step,
    call: PythonCall,
    mapping: Mapping[str, Any],
    secrets: Mapping[str, Mapping[str, Any]],
    environ: Mapping[str, str],
    reader: FileReader,
    target_urls: tuple[str, str],
) -> Iterator[System]:
    top = call.module.split(".")[0]
    path, via = f"{step.key_path}.provider.module", step.name or step.key_path
    service, toxiproxy = target_urls
    if call.module.startswith("chaosrun.faults."):
        yield System("toxiproxy", toxiproxy, url_host(toxiproxy), path, step.line, via)
    elif call.module.startswith("chaosrun.probes."):
        if call.module != "chaosrun.probes.sli":  # the live SLIs read the load's timeline
            yield System("service", service, url_host(service), path, step.line, via)
    elif top == "chaosk8s" or call.module.startswith("chaosrun.k8s."):
        scoped = {k: v for scope in call.secrets for k, v in secrets.get(scope, {}).items()}
        server: str | None
        if environ.get(KUBE_LAB_ENV):
            server, how = KUBE_LAB_SERVER, "the k8s lab's kube config"
        else:
            server, how = kube_api_server(environ, scoped, reader)
        host = url_host(server) if server else None
        yield System(
            "kubernetes", server or "?", host, path, step.line, via, server is not None, how
        )
    elif top != "chaoslib":
        note = f"{call.module}.{call.func}: chaosrun cannot tell what this module contacts"
        yield System("extension", call.module, None, path, step.line, via, False, note)


def command_line(path: str, arguments: Any) -> str:
    """A process provider's command as Chaos Toolkit runs it: a string as written, a mapping
    flattened to key, value, ..., None and "" dropped."""
    if isinstance(arguments, str):
        return f"{path} {arguments}".rstrip()
    if isinstance(arguments, Mapping):
        arguments = [w for pair in arguments.items() for w in pair]
    words = [str(w) for w in arguments or [] if w not in (None, "")]
    return " ".join([path, *words])


def kube_api_server(
    environ: Mapping[str, str],
    secrets: Mapping[str, Any],
    read_file: FileReader | None = None,
) -> tuple[str | None, str]:
    """(API server URL, how it was found) as chaosk8s's `create_k8s_api_client` picks it."""

    def lookup(key: str) -> Any:
        return secrets.get(key, environ.get(key))

    config_path = os.path.expanduser(environ.get("KUBECONFIG", "~/.kube/config"))
    text = (read_file or _read_file)(config_path)
    if text is not None:
        context = lookup("KUBERNETES_CONTEXT")
        try:
            config = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            return None, f"kube config {config_path} cannot be read: {exc}"
        server, how = _server_from_config(config, context)
        return server, f"kube config {config_path}, {how}"
    if environ.get("CHAOSTOOLKIT_IN_POD") == "true":
        host, port = environ.get("KUBERNETES_SERVICE_HOST"), environ.get("KUBERNETES_SERVICE_PORT")
        if host:
            return f"https://{host}:{port or 443}", "in-cluster configuration"
        return None, "in-cluster configuration without KUBERNETES_SERVICE_HOST"
    host = lookup("KUBERNETES_HOST")
    if host:
        return str(host), "KUBERNETES_HOST"
    return "http://localhost", "no kube config and no KUBERNETES_HOST: chaosk8s's default"


def _server_from_config(config: object, context: object) -> tuple[str | None, str]:
    if not isinstance(config, Mapping):
        return None, "not a kube config mapping"
    name = context if isinstance(context, str) and context else config.get("current-context")
    how = f"context {name!r}" if context else f"current context {name!r}"
    entries = {c.get("name"): c.get("context") for c in _list(config.get("contexts"))}
    chosen = entries.get(name)
    if not isinstance(chosen, Mapping):
        return None, f"{how} not found"
    clusters = {c.get("name"): c.get("cluster") for c in _list(config.get("clusters"))}
    cluster = clusters.get(chosen.get("cluster"))
    server = cluster.get("server") if isinstance(cluster, Mapping) else None
    if not isinstance(server, str):
        return None, f"{how}: cluster {chosen.get('cluster')!r} has no server"
    return server, how


def _list(value: object) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _read_file(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return None


def configuration_values(
    document: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The configuration as Chaos Toolkit will load it; env entries only when `environ` is given.

    An env entry takes its variable, else its default, converted by its `env_var_type` as
    chaoslib does (int, float); one unset without a default, or that does not convert, is
    unknown before the run and left out, as are the other dynamic entries (any other `type`).
    """
    values: dict[str, Any] = {}
    configuration = document.get("configuration")
    if not isinstance(configuration, Mapping):
        return values
    for key, value in configuration.items():
        if not isinstance(value, Mapping) or "type" not in value:
            values[key] = value
        elif environ is not None and value.get("type") == "env":
            with contextlib.suppress(LookupError, Unconvertible):
                values[key] = env_value(value, environ)
    return values


def env_value(entry: Mapping[str, Any], environ: Mapping[str, str]) -> object:
    """An env entry's value as Chaos Toolkit loads it; LookupError when it has none."""
    name = entry.get("key")
    if not isinstance(name, str) or (name not in environ and "default" not in entry):
        raise LookupError(name)
    raw = environ.get(name, entry.get("default"))
    kind = {"int": "int", "integer": "int", "float": "float", "number": "float"}
    return convert(raw, kind.get(str(entry.get("env_var_type"))))


def _secret_values(
    document: Mapping[str, Any], environ: Mapping[str, str]
) -> dict[str, dict[str, Any]]:
    secrets = document.get("secrets")
    if not isinstance(secrets, Mapping):
        return {}
    return {
        str(scope): configuration_values({"configuration": entries}, environ)
        for scope, entries in secrets.items()
        if isinstance(entries, Mapping)
    }


def substitute(value: Any, mapping: Mapping[str, Any]) -> Any:
    """`${name}` templates filled as Chaos Toolkit does: a lone template keeps the value's type."""
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


def url_host(url: str) -> str | None:
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    return host or None
