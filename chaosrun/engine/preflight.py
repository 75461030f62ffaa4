"""Before anything is injected, the target is checked against the experiment.

Once the supervisor holds the target (and its lock), and before the load or the worker starts:

- every `proxy` argument of every chaosrun fault (`Experiment.faults`; `${name}` filled from the
  configuration as Chaos Toolkit will) must name a proxy the target's Toxiproxy has, or the
  fault would fail mid-run with a 404 after the earlier faults were injected;
- every http provider `url` must be an http(s) URL with a host once filled with what the run
  knows (the environment, the target's URLs): what `chaosrun validate` had to leave open;
- every fault kind that needs something of this host (`FaultKind.requires`: root, a cgroup
  controller) must have it: else one line naming the step and what is missing, exit 3, before
  anything is injected.

`target_problems` is pure (experiment + the target's proxy names + environment -> problems);
`target_refusal` reads the proxies and returns the first problem as an InputError (exit 2): the
supervisor journals the run, then raises it.
`missing_proxy` is the one wording of a missing proxy, shared with the dry-run plan.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping

from chaosrun.engine.reach import configuration_values, substitute
from chaosrun.errors import ChaosrunError, InputError
from chaosrun.faults import REGISTRY
from chaosrun.lab.toxiproxy import ToxiproxyClient
from chaosrun.model import Experiment, PythonCall
from chaosrun.names import SERVICE_URL_KEY, TOXIPROXY_URL_KEY
from chaosrun.schema.common import did_you_mean
from chaosrun.schema.preflight import Resolver, check_urls

__all__ = ["host_problems", "missing_proxy", "target_problems", "target_refusal"]


def missing_proxy(name: str, proxies: Collection[str]) -> str:
    """ "proxy 'x' does not exist on the target; did you mean 'y'? proxies there: ..."."""
    names = sorted(proxies)
    hint = did_you_mean(name, names)
    if not hint:  # a shortened or lengthened name ("authentication" for "auth")
        lower = name.lower()
        near = [p for p in names if min(len(p), len(lower)) >= 3 and _prefixed(p.lower(), lower)]
        hint = f"; did you mean '{near[0]}'?" if len(near) == 1 else ";"
    there = ", ".join(names) or "none"
    return f"proxy '{name}' does not exist on the target{hint} proxies there: {there}"


def _prefixed(a: str, b: str) -> bool:
    return a.startswith(b) or b.startswith(a)


def target_problems(
    experiment: Experiment,
    proxies: Collection[str],
    urls: Mapping[str, str],
    environ: Mapping[str, str],
) -> list[tuple[str, str]]:
    """(key path, problem) for each fault proxy the target lacks and each url that is no URL.

    `urls`: the target's service_url and toxiproxy_url, which chaosrun puts in the
    configuration. Pure."""
    doc = experiment.document
    mapping = {**configuration_values(doc, environ), **urls}
    found: list[tuple[str, str]] = []
    for step in experiment.steps:
        call = step.call
        if step.ref is not None or not isinstance(call, PythonCall):
            continue
        if not call.module.startswith("chaosrun.faults.") or "proxy" not in call.arguments:
            continue
        proxy = substitute(call.arguments["proxy"], mapping)
        if isinstance(proxy, str) and "${" not in proxy and proxy not in proxies:
            path = f"{step.key_path}.provider.arguments.proxy"
            found.append((path, missing_proxy(proxy, proxies)))
    found.extend(check_urls(doc, Resolver.of(doc, environ, urls)))
    return found


def host_problems(experiment: Experiment) -> list[tuple[str, str]]:
    """(key path, what is missing) for each fault step whose kind needs what this host lacks."""
    found = []
    for step in experiment.steps:
        call = step.call
        if step.ref is not None or not isinstance(call, PythonCall):
            continue
        parts = call.module.split(".")
        kind = REGISTRY.get(parts[-1]) if parts[:2] == ["chaosrun", "faults"] else None
        lacking = kind.requires() if kind is not None and kind.requires is not None else None
        if kind is not None and lacking is not None:
            found.append((f"{step.key_path}.provider", f"{kind.name} needs {lacking}"))
    return found


def target_refusal(
    experiment: Experiment,
    toxiproxy_url: str,
    service_url: str,
    environ: Mapping[str, str] | None = None,
) -> ChaosrunError | None:
    """What keeps the run from starting: a fault this host cannot make (exit 3), else the first
    problem of `target_problems` on the target's proxies, as an InputError (exit 2).

    An unreachable Toxiproxy raises ToxiproxyUnreachable (exit 3), as it would a moment later."""
    for path, lacking in host_problems(experiment):
        line = experiment.line(path)
        where = f"{experiment.path}:{line}" if line is not None else str(experiment.path)
        return ChaosrunError(f"{where}: {path}: {lacking}")
    # A Kubernetes target has no Toxiproxy: nothing of it to check (its faults were refused).
    proxies = ToxiproxyClient(toxiproxy_url).proxies() if toxiproxy_url else {}
    urls = {SERVICE_URL_KEY: service_url, TOXIPROXY_URL_KEY: toxiproxy_url}
    problems = target_problems(
        experiment, proxies, urls, os.environ if environ is None else environ
    )
    if not problems:
        return None
    path, problem = problems[0]
    return InputError(str(experiment.path), path, experiment.line(path), problem)
