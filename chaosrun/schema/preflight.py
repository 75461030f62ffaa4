"""What validates, runs: checks that need the document as a whole, done before anything starts.

Run on a document the rest of the schema found well formed (`check_preflight` does nothing when
`ctx` already holds errors). Each check refuses, at its key path and line, what would otherwise
validate and then fail once the target is up:

- an http provider's `url` that is not an http(s) URL with a host once the `${name}`s the file
  can resolve are filled (`requests` raises MissingSchema). A name that is not in the
  configuration or the secrets does not resolve; a URL that depends on a value only known at
  run time (a dynamic configuration entry, a secret) is left to `chaosrun.engine.preflight`;
- a `range` or `regex` tolerance without `target` on a probe that returns a mapping (Chaos
  Toolkit then hands the whole mapping to Decimal() or re.search() and the worker dies), a
  `target` that is not a key of the mapping, or a `target` on a probe that returns no mapping.
  What a probe returns comes from its return annotation (dict, Mapping, a TypedDict with its
  keys) or, for http and process providers, from Chaos Toolkit (status, headers/stdout, ...);
- a python control (top level, hypothesis or activity; Chaos Toolkit reads `provider.module`)
  whose module is not allowed (`chaosrun.schema.modules`, decided before importing it) or does
  not import: Chaos Toolkit would skip it without a word;
- declared pauses (`pauses.before`/`after`, numbers only, every activity of the hypothesis,
  method and rollbacks counted once: a lower bound) at least as long as `deadline_s`. The load's
  warm-up is not counted: the deadline starts with the worker, after the warm-up;
- a `${name}` argument of a chaosrun fault: the name must resolve (configuration or secrets;
  did-you-mean otherwise) and a value known before the run (a literal, or an env entry set or
  with a default) must convert to the argument's declared type (`chaosrun.engine.convert`, the
  rules the worker applies) and sit within the fault's limits.
"""

from __future__ import annotations

import importlib
import inspect
import os
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from string import Template
from typing import Any
from urllib.parse import urlsplit

from chaosrun.engine.convert import Unconvertible, convert, lone_template, target_type
from chaosrun.engine.reach import configuration_values
from chaosrun.model import ChaosrunSpec, ClusterTarget, UrlTarget
from chaosrun.names import SERVICE_URL_KEY, TOXIPROXY_URL_KEY
from chaosrun.schema.common import Ctx, did_you_mean, is_number, join, show
from chaosrun.schema.modules import module_refusal
from chaosrun.schema.python_provider import fault_limits
from chaosrun.schema.steps import chaosrun_block_index

__all__ = ["Resolver", "check_preflight", "check_urls", "returned_keys"]

_LAB_URL = "http://127.0.0.1:1"  # a lab's URLs are only known once it runs; always loopback
_ACTIVITY_SECTIONS = ("steady-state-hypothesis", "method", "rollbacks")
# What Chaos Toolkit's own providers return (chaoslib.provider.http / process).
_PROVIDER_KEYS = {"http": ("status", "headers", "body"), "process": ("status", "stdout", "stderr")}
_NEEDS_TARGET = ("range", "regex")  # Decimal(mapping), re.search(pattern, mapping): TypeError


@dataclass(frozen=True, slots=True)
class Resolver:
    """The `${name}`s a run can fill: every name, and the values known before the run."""

    names: frozenset[str]
    values: Mapping[str, Any]
    where: Mapping[str, str]  # name -> key path of its configuration entry

    @classmethod
    def of(
        cls, doc: Mapping[str, Any], environ: Mapping[str, str], urls: Mapping[str, str]
    ) -> Resolver:
        """Configuration and secrets as Chaos Toolkit loads them; `urls` fill the target's."""
        names: set[str] = set(urls)
        values = configuration_values(doc, environ)
        where: dict[str, str] = {}
        configuration = doc.get("configuration")
        for key in configuration if isinstance(configuration, dict) else {}:
            names.add(key)
            where[key] = f"configuration.{key}"
        secrets = doc.get("secrets")
        for scope in (secrets if isinstance(secrets, dict) else {}).values():
            if isinstance(scope, dict):
                names.update(str(name) for name in scope)
        values.update(urls)
        return cls(frozenset(names), values, where)

    def unknown(self, text: str) -> list[str]:
        """The `${name}`s in `text` that neither the configuration nor the secrets declare."""
        found = Template(text).pattern.finditer(text)
        named = [m.group("braced") or m.group("named") for m in found]
        return [name for name in named if name and name not in self.names]

    def fill(self, text: str) -> object:
        """`text` as Chaos Toolkit fills it; a lone template keeps the value's type."""
        name = lone_template(text)
        if name is not None and name in self.values:
            return self.values[name]
        return Template(text).safe_substitute({k: str(v) for k, v in self.values.items()})

    def unresolved(self, name: str) -> str:
        hint = did_you_mean(name, sorted(self.names))
        return f"'${{{name}}}' does not resolve: no configuration key '{name}'{hint}"


def check_preflight(ctx: Ctx, doc: Mapping[str, Any], spec: ChaosrunSpec) -> None:
    """Record in `ctx` what would validate and then fail at run time (module docstring)."""
    if ctx.errors:
        return  # the checks below read a well-formed document
    target = spec.target
    urls = (
        {SERVICE_URL_KEY: target.service_url, TOXIPROXY_URL_KEY: target.toxiproxy_url}
        if isinstance(target, UrlTarget)
        else dict.fromkeys((SERVICE_URL_KEY, TOXIPROXY_URL_KEY), _LAB_URL)
    )
    if isinstance(target, ClusterTarget):
        urls[SERVICE_URL_KEY] = target.service_url
        _no_toxiproxy(ctx, doc)
    resolver = Resolver.of(doc, os.environ, urls)
    for path, problem in check_urls(doc, resolver):
        ctx.err(path, problem)
    for path, activity in _with_provider("", doc):
        _tolerance(ctx, path, activity)
        _fault_arguments(ctx, path, activity, resolver)
    for path, control in _controls(doc):
        _control(ctx, path, control, ctx.allowed_modules)
    _pauses(ctx, doc, spec)


def _no_toxiproxy(ctx: Ctx, doc: Mapping[str, Any]) -> None:
    """A Kubernetes target has no Toxiproxy: chaosrun's faults would have nothing to act on."""
    for path, activity in _with_provider("", doc):
        module = activity["provider"].get("module")
        if isinstance(module, str) and module.startswith("chaosrun.faults."):
            ctx.err(
                f"{path}.provider.module",
                "chaosrun's faults act through Toxiproxy or on the lab, and a kubernetes target "
                "has neither: use chaostoolkit-kubernetes or chaosrun.k8s actions",
            )


def check_urls(doc: Mapping[str, Any], resolver: Resolver) -> Iterator[tuple[str, str]]:
    """(key path, problem) for each http provider `url` that cannot be requested."""
    for path, holder in _with_provider("", doc):
        provider = holder["provider"]
        url = provider.get("url")
        if provider.get("type") != "http" or not isinstance(url, str):
            continue
        where = join(path, "provider.url")
        unknown = resolver.unknown(url)
        if unknown:
            yield where, resolver.unresolved(unknown[0])
            continue
        filled = resolver.fill(url)
        if not isinstance(filled, str) or "${" in filled:
            continue  # a value only the run knows: checked then (chaosrun.engine.preflight)
        if not _is_http_url(filled):
            shown = show(filled) + (f" (from {show(url)})" if filled != url else "")
            yield where, f"expected an http:// or https:// URL with a host, got {shown}"


def returned_keys(provider: Mapping[str, Any]) -> tuple[bool, tuple[str, ...]] | str | None:
    """What the provider returns: (True, its keys or ()) for a mapping, the type's name for a
    scalar or a list, None when not known."""
    kind = provider.get("type")
    if kind in _PROVIDER_KEYS:
        return True, _PROVIDER_KEYS[str(kind)]
    module, func = provider.get("module"), provider.get("func")
    if kind != "python" or not isinstance(module, str) or not isinstance(func, str):
        return None
    if module_refusal(module) is not None:
        return None  # not imported here; python_provider said why (or --allow-module allowed it)
    try:
        fn = getattr(importlib.import_module(module), func)
        hints = typing.get_type_hints(fn)
    except Exception:
        return None
    return _shape(hints.get("return"))


def _shape(annotation: object) -> tuple[bool, tuple[str, ...]] | str | None:
    if typing.is_typeddict(annotation):
        return True, tuple(typing.get_type_hints(annotation))
    origin = typing.get_origin(annotation) or annotation
    if inspect.isclass(origin) and issubclass(origin, Mapping | dict):
        return True, ()
    if annotation in (str, int, float, bool, list) or origin is list:
        return getattr(origin, "__name__", str(origin))
    return None


def _tolerance(ctx: Ctx, path: str, activity: Mapping[str, Any]) -> None:
    tolerance = activity.get("tolerance")
    if not isinstance(tolerance, dict) or tolerance.get("type") not in _NEEDS_TARGET:
        return
    provider = activity["provider"]
    shape = returned_keys(provider)
    if shape is None:
        return
    what = _provider_name(provider)
    where, target = join(path, "tolerance"), tolerance.get("target")
    if isinstance(shape, str):
        if target is not None:
            ctx.err(
                join(where, "target"),
                f"'target' picks a key of a mapping, but {what} returns a {shape}",
            )
        return
    _, keys = shape
    listed = f" ({', '.join(keys)})" if keys else ""
    if target is None:
        ctx.err(
            where,
            f"a {tolerance['type']} tolerance on {what} needs a 'target': it returns a "
            f"mapping{listed}",
        )
    elif keys and target not in keys:
        hint = did_you_mean(str(target), keys) or f"; keys: {', '.join(keys)}"
        ctx.err(join(where, "target"), f"{what} returns no key '{target}'{hint}")


def _provider_name(provider: Mapping[str, Any]) -> str:
    if provider.get("type") == "python":
        return f"{provider.get('module')}.{provider.get('func')}"
    return f"the {provider.get('type')} provider"


def _fault_arguments(ctx: Ctx, path: str, activity: Mapping[str, Any], resolver: Resolver) -> None:
    provider = activity["provider"]
    parts = str(provider.get("module")).split(".")
    arguments = provider.get("arguments")
    if parts[:2] != ["chaosrun", "faults"] or len(parts) != 3 or not isinstance(arguments, dict):
        return
    try:
        fn = getattr(importlib.import_module(".".join(parts)), str(provider.get("func")))
    except Exception:
        return
    limits = fault_limits(parts[2])
    for name, value in arguments.items():
        if not isinstance(value, str) or "${" not in value:
            continue
        where = join(join(path, "provider.arguments"), name)
        unknown = resolver.unknown(value)
        if unknown:
            ctx.err(where, resolver.unresolved(unknown[0]))
            continue
        template = lone_template(value)
        if template is None or template not in resolver.values:
            continue  # a string, or only known at run time
        problem = _argument_problem(fn, name, resolver.values[template], limits)
        if problem:
            origin = resolver.where.get(template)
            line = ctx.line(origin) if origin else None
            source = f" ({origin}, line {line})" if origin and line else ""
            shown = show(resolver.values[template])
            ctx.err(where, f"'{value}' is {shown}{source}: {problem}")


def _argument_problem(
    fn: Callable[..., Any], name: str, value: object, limits: Mapping[str, tuple[float, float]]
) -> str | None:
    kind, optional = target_type(fn, name)
    try:
        converted = convert(value, kind, optional)
    except Unconvertible as exc:
        return str(exc)
    if name in limits and is_number(converted):
        low, high = limits[name]
        if not low <= typing.cast(float, converted) <= high:
            return f"expected {name} in [{low}, {high}]"
    return None


def _controls(doc: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(key path, control) of every control Chaos Toolkit loads (chaoslib.control.get_controls)."""
    holders: list[tuple[str, object]] = [("", doc)]
    hypothesis = doc.get("steady-state-hypothesis")
    if isinstance(hypothesis, dict):
        holders.append(("steady-state-hypothesis", hypothesis))
    holders.extend(_activities(doc))
    for path, holder in holders:
        controls = holder.get("controls") if isinstance(holder, dict) else None
        for i, control in enumerate(controls if isinstance(controls, list) else []):
            if isinstance(control, dict) and "ref" not in control:
                yield f"{join(path, 'controls')}[{i}]", control


def _control(ctx: Ctx, path: str, control: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    provider = control.get("provider")
    if not isinstance(provider, dict) or provider.get("type") != "python":
        return  # Chaos Toolkit loads python controls only
    where = join(path, "provider")
    module = provider.get("module")
    if not isinstance(module, str) or not module.strip():
        ctx.missing(where, "module", " (the control's python module)")
        return
    refused = module_refusal(module, allowed)
    if refused is not None:  # decided before the import: importing is running its code
        ctx.err(join(where, "module"), refused)
        return
    try:
        importlib.import_module(module)
    except (Exception, SystemExit) as exc:
        missing = isinstance(exc, ImportError) and (exc.name or module) in (module, None)
        detail = "" if missing else f": {type(exc).__name__}: {exc}"
        ctx.err(
            join(where, "module"),
            f"cannot import control module '{module}'{detail} (Chaos Toolkit would skip the "
            "control without a word)",
        )


def _pauses(ctx: Ctx, doc: Mapping[str, Any], spec: ChaosrunSpec) -> None:
    pauses: list[tuple[float, str]] = []
    for path, activity in _activities(doc):
        declared = activity.get("pauses")
        for key in ("before", "after"):
            value = declared.get(key) if isinstance(declared, dict) else None
            seconds = (
                float(typing.cast(float, value)) if is_number(value) else 0.0
            )  # a template: run time only
            if seconds > 0:
                pauses.append((seconds, join(join(path, "pauses"), key)))
    total = sum(seconds for seconds, _ in pauses)
    if not pauses or total < spec.deadline_s:
        return
    seconds, longest = max(pauses)
    at = f"{seconds:g} s at {longest}, line {ctx.line(longest)}"
    held = at if len(pauses) == 1 else f"{total:g} s in all; the longest {at}"
    index = chaosrun_block_index(doc)
    where = "" if index is None else f"extensions[{index}].deadline_s"
    ctx.err(
        where,
        f"deadline_s: {spec.deadline_s:g} s cannot hold the experiment's declared pauses ({held})",
    )


def _activities(doc: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(key path, activity) of the hypothesis probes, the method and the rollbacks; no refs."""
    hypothesis = doc.get("steady-state-hypothesis")
    sections = [
        ("steady-state-hypothesis.probes", hypothesis.get("probes"))
        if isinstance(hypothesis, dict)
        else ("", None),
        ("method", doc.get("method")),
        ("rollbacks", doc.get("rollbacks")),
    ]
    for path, activities in sections:
        for i, activity in enumerate(activities if isinstance(activities, list) else []):
            if isinstance(activity, dict) and "ref" not in activity:
                yield f"{path}[{i}]", activity


def _with_provider(path: str, value: object) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(key path, mapping) of every mapping with a provider mapping, anywhere in the document
    (activities, probe tolerances, controls, the chaosrun block's probes)."""
    if isinstance(value, dict):
        if isinstance(value.get("provider"), dict):
            yield path, value
        for key, item in value.items():
            if key != "provider":
                yield from _with_provider(join(path, str(key)), item)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _with_provider(f"{path}[{i}]", item)


def _is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url.strip())
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return False
