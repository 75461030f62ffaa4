"""Strict validation of a Chaos Toolkit experiment document, with file, key path and line in errors.

The document is plain data (see `chaosrun.load`); `Ctx.lines` maps key paths such as
`method[2].provider.arguments` to 1-based line numbers. Every problem becomes one `InputError`
in `Ctx.errors`; validation keeps going so that `chaosrun validate` can report them all.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import inspect
import math
import os
import pkgutil
import re
import shutil
import types
import typing
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from chaosrun.errors import InputError
from chaosrun.model import FaultUse

__all__ = [
    "Ctx",
    "check_keys",
    "describe",
    "did_you_mean",
    "fault_kinds",
    "has_jsonpath",
    "is_number",
    "join",
    "one_of",
    "show",
    "validate_document",
    "want_mapping",
    "want_number",
    "want_str",
]

TOP_KEYS = (
    "version",
    "title",
    "description",
    "tags",
    "contributions",
    "configuration",
    "secrets",
    "extensions",
    "controls",
    "steady-state-hypothesis",
    "method",
    "rollbacks",
    "runtime",
)
_ACTIVITY_KEYS = (
    "type",
    "name",
    "provider",
    "tolerance",
    "pauses",
    "background",
    "timeout",
    "controls",
    "configuration",
    "secrets",
)
_PROVIDER_KEYS: dict[str, tuple[str, ...]] = {
    "python": ("type", "module", "func", "arguments", "secrets"),
    "http": (
        "type",
        "url",
        "method",
        "headers",
        "arguments",
        "timeout",
        "expected_status",
        "verify_tls",
        "max_retries",
    ),
    "process": ("type", "path", "arguments", "timeout"),
}
_TOLERANCE_KEYS: dict[str, tuple[str, ...]] = {
    "range": ("type", "range", "target"),
    "regex": ("type", "pattern", "target"),
    "jsonpath": ("type", "path", "target", "count", "expect"),
}
_TOLERANCE_TYPES = ("probe", "regex", "jsonpath", "range")
_CONTROL_KEYS = ("name", "provider", "scope", "automatic", "ref")
_CONTRIBUTION_LEVELS = ("high", "medium", "low", "none")
_ROLLBACK_STRATEGIES = ("default", "always", "never", "deviated")
_HYPOTHESIS_STRATEGIES = (
    "default",
    "before-method-only",
    "after-method-only",
    "during-method-only",
    "continuously",
)
_SUPPLIED = frozenset({"configuration", "secrets"})  # Chaos Toolkit passes these itself
_BINDABLE = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
_SIMPLE_TYPES: dict[str, tuple[str, Callable[[object], bool]]] = {
    "int": ("an integer", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    "float": ("a number", lambda v: isinstance(v, int | float) and not isinstance(v, bool)),
    "str": ("a string", lambda v: isinstance(v, str)),
    "bool": ("a boolean", lambda v: isinstance(v, bool)),
}


@dataclass
class Ctx:
    """Where errors go: the file name, the key-path -> line map and the collected errors."""

    file: str
    lines: dict[str, int] = field(default_factory=dict)
    errors: list[InputError] = field(default_factory=list)
    suggested: set[str] = field(default_factory=set)  # key paths some unknown key resembles

    def line(self, path: str) -> int | None:
        while path not in self.lines:
            if not path:
                return None
            path = _parent(path)
        return self.lines[path]

    def err(self, path: str, expected: str, line: int | None = None) -> None:
        self.errors.append(InputError(self.file, path, line or self.line(path), expected))

    def missing(self, path: str, key: str, note: str = "") -> None:
        """A required key is absent, unless an unknown key already said 'did you mean' it."""
        if join(path, key) not in self.suggested:
            self.err(path, f"missing required key '{key}'{note}")


def _parent(path: str) -> str:
    if path.endswith("]"):
        return path[: path.rfind("[")]
    return path[: max(path.rfind("."), 0)]


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def did_you_mean(word: str, choices: Collection[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def is_number(value: object) -> bool:
    """A YAML/JSON number: int or float, never a boolean."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if is_number(value):
        return "a number"
    kinds: dict[type, str] = {str: "a string", list: "a list", dict: "a mapping"}
    return kinds.get(type(value), f"a {type(value).__name__}")


def show(value: object) -> str:
    """A value as a user wrote it: 'fast', 5, 0.5, true, null; containers by their kind."""
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_number(value):
        return repr(value)
    return describe(value)


def check_keys(ctx: Ctx, path: str, mapping: Mapping[str, Any], allowed: Collection[str]) -> None:
    for key in mapping:
        if key not in allowed:
            close = difflib.get_close_matches(key, list(allowed), n=1)
            ctx.suggested.update(join(path, match) for match in close)
            ctx.err(join(path, key), f"unknown key '{key}'{did_you_mean(key, allowed)}")


def want_mapping(ctx: Ctx, path: str, value: object, what: str = "a mapping") -> bool:
    if isinstance(value, dict):
        return True
    ctx.err(path, f"expected {what}, got {describe(value)}")
    return False


def want_list(ctx: Ctx, path: str, value: object, what: str = "a list") -> bool:
    if isinstance(value, list):
        return True
    ctx.err(path, f"expected {what}, got {describe(value)}")
    return False


def want_str(ctx: Ctx, path: str, value: object) -> str | None:
    if not isinstance(value, str):
        ctx.err(path, f"expected a string, got {show(value)}")
    elif not value.strip():
        ctx.err(path, "expected a non-empty string")
    else:
        return value
    return None


def want_bool(ctx: Ctx, path: str, value: object) -> bool:
    if isinstance(value, bool):
        return True
    ctx.err(path, f"expected a boolean (true or false), got {show(value)}")
    return False


def want_number(
    ctx: Ctx,
    path: str,
    value: object,
    *,
    low: float | None = None,
    strict: bool = True,
    maximum: float | None = None,
    allow_var: bool = False,
) -> bool:
    """A finite number; above `low` (or at it when not `strict`) and at most `maximum`."""
    if allow_var and isinstance(value, str) and "${" in value:
        return True
    if not isinstance(value, int | float) or isinstance(value, bool):
        problem = f"expected a number, got {show(value)}"
    elif not math.isfinite(value):
        problem = f"expected a finite number, got {show(value)}"
    elif low is not None and (value <= low if strict else value < low):
        kind = "positive" if strict else "non-negative"
        problem = f"expected a {kind} number, got {show(value)}"
    elif maximum is not None and value > maximum:
        problem = f"expected a number at most {maximum:g}, got {show(value)}"
    else:
        return True
    ctx.err(path, problem)
    return False


def one_of(ctx: Ctx, path: str, value: object, choices: Collection[str], what: str) -> str | None:
    if isinstance(value, str) and value in choices:
        return value
    listed = ", ".join(choices)
    if not isinstance(value, str):
        ctx.err(path, f"expected one of {listed}, got {show(value)}")
    else:
        hint = did_you_mean(value, choices) or f"; expected one of {listed}"
        ctx.err(path, f"unknown {what} '{value}'{hint}")
    return None


def _required_str(ctx: Ctx, path: str, mapping: Mapping[str, Any], key: str) -> str | None:
    if key not in mapping:
        ctx.missing(path, key)
        return None
    return want_str(ctx, join(path, key), mapping[key])


def validate_document(ctx: Ctx, doc: Mapping[str, Any]) -> tuple[FaultUse, ...]:
    """Check the whole Chaos Toolkit document; return the chaosrun faults its actions use."""
    check_keys(ctx, "", doc, TOP_KEYS)
    for key in ("title", "description"):
        if key not in doc:
            ctx.missing("", key)
        else:
            want_str(ctx, key, doc[key])
    for key, check in _SECTIONS.items():
        if key in doc:
            check(ctx, key, doc[key])
    walker = _Activities(ctx)
    if "steady-state-hypothesis" in doc:
        walker.hypothesis("steady-state-hypothesis", doc["steady-state-hypothesis"])
    if "method" not in doc:
        ctx.missing("", "method")
    else:
        walker.method("method", doc["method"])
    if "rollbacks" in doc:
        walker.sequence("rollbacks", doc["rollbacks"], "rollback")
    return tuple(walker.faults)


def _version(ctx: Ctx, path: str, value: object) -> None:
    if not isinstance(value, str):
        ctx.err(path, f"expected a string, got {show(value)}")


def _tags(ctx: Ctx, path: str, value: object) -> None:
    if want_list(ctx, path, value, "a list of strings"):
        for i, tag in enumerate(typing.cast(list[object], value)):
            want_str(ctx, f"{path}[{i}]", tag)


def _contributions(ctx: Ctx, path: str, value: object) -> None:
    if want_mapping(ctx, path, value):
        for key, level in typing.cast(dict[str, object], value).items():
            one_of(ctx, join(path, key), level, _CONTRIBUTION_LEVELS, "contribution level")


def _secrets(ctx: Ctx, path: str, value: object) -> None:
    if want_mapping(ctx, path, value):
        for key, scope in typing.cast(dict[str, object], value).items():
            want_mapping(ctx, join(path, key), scope)


def _mapping(ctx: Ctx, path: str, value: object) -> None:
    want_mapping(ctx, path, value)


def _extensions(ctx: Ctx, path: str, value: object) -> None:
    if want_list(ctx, path, value, "a list of extensions"):
        for i, ext in enumerate(typing.cast(list[object], value)):
            item = f"{path}[{i}]"
            if want_mapping(ctx, item, ext, "an extension mapping"):
                _required_str(ctx, item, typing.cast(dict[str, Any], ext), "name")


def _controls(ctx: Ctx, path: str, value: object) -> None:
    if not want_list(ctx, path, value, "a list of controls"):
        return
    for i, control in enumerate(typing.cast(list[object], value)):
        item = f"{path}[{i}]"
        if not want_mapping(ctx, item, control, "a control mapping"):
            continue
        control = typing.cast(dict[str, Any], control)
        check_keys(ctx, item, control, _CONTROL_KEYS)
        if "ref" in control:
            want_str(ctx, join(item, "ref"), control["ref"])
            continue
        _required_str(ctx, item, control, "name")
        if "provider" not in control:
            ctx.missing(item, "provider")
        else:
            want_mapping(ctx, join(item, "provider"), control["provider"])


def _runtime(ctx: Ctx, path: str, value: object) -> None:
    if not want_mapping(ctx, path, value):
        return
    runtime = typing.cast(dict[str, Any], value)
    check_keys(ctx, path, runtime, ("rollbacks", "hypothesis"))
    rollbacks, hypothesis = join(path, "rollbacks"), join(path, "hypothesis")
    if "rollbacks" in runtime and want_mapping(ctx, rollbacks, runtime["rollbacks"]):
        check_keys(ctx, rollbacks, runtime["rollbacks"], ("strategy",))
        if "strategy" in runtime["rollbacks"]:
            strategy = runtime["rollbacks"]["strategy"]
            one_of(ctx, join(rollbacks, "strategy"), strategy, _ROLLBACK_STRATEGIES, "strategy")
    if "hypothesis" in runtime and want_mapping(ctx, hypothesis, runtime["hypothesis"]):
        block = runtime["hypothesis"]
        check_keys(ctx, hypothesis, block, ("strategy", "freq", "fail_fast"))
        if "strategy" in block:
            strategy = block["strategy"]
            one_of(ctx, join(hypothesis, "strategy"), strategy, _HYPOTHESIS_STRATEGIES, "strategy")
        if "freq" in block:
            want_number(ctx, join(hypothesis, "freq"), block["freq"], low=0)
        if "fail_fast" in block:
            want_bool(ctx, join(hypothesis, "fail_fast"), block["fail_fast"])


_SECTIONS: dict[str, Callable[[Ctx, str, object], None]] = {
    "version": _version,
    "tags": _tags,
    "contributions": _contributions,
    "configuration": _mapping,
    "secrets": _secrets,
    "extensions": _extensions,
    "controls": _controls,
    "runtime": _runtime,
}


class _Activities:
    """Walks activities in Chaos Toolkit's order: hypothesis probes, method, rollbacks."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.names: list[str] = []
        self.faults: list[FaultUse] = []

    def hypothesis(self, path: str, value: object) -> None:
        ctx = self.ctx
        if not want_mapping(ctx, path, value):
            return
        ssh = typing.cast(dict[str, Any], value)
        check_keys(ctx, path, ssh, ("title", "probes", "controls"))
        _required_str(ctx, path, ssh, "title")
        if "probes" in ssh:
            self.sequence(join(path, "probes"), ssh["probes"], "hypothesis")
        if "controls" in ssh:
            _controls(ctx, join(path, "controls"), ssh["controls"])

    def method(self, path: str, value: object) -> None:
        if isinstance(value, list) and not value:
            self.ctx.err(path, "expected at least one activity, got an empty list")
        self.sequence(path, value, "method")

    def sequence(self, path: str, value: object, role: str) -> None:
        if want_list(self.ctx, path, value, "a list of activities"):
            for i, activity in enumerate(typing.cast(list[object], value)):
                self.activity(f"{path}[{i}]", activity, role)

    def activity(self, path: str, value: object, role: str) -> None:
        """Role: hypothesis (probe + tolerance), method, rollback (action) or tolerance (probe)."""
        ctx = self.ctx
        if not want_mapping(ctx, path, value, "an activity mapping"):
            return
        act = typing.cast(dict[str, Any], value)
        if "ref" in act and role in ("method", "rollback"):
            self._ref(path, act)
            return
        if "ref" in act and role == "hypothesis":
            ctx.err(join(path, "ref"), "a hypothesis probe cannot be a ref: it needs a tolerance")
            return
        check_keys(ctx, path, act, _ACTIVITY_KEYS)
        kind = self._type(path, act, role)
        name = _required_str(ctx, path, act, "name")
        if name is not None and role != "tolerance":
            self.names.append(name)
        if "tolerance" in act:
            if kind == "action":
                ctx.err(join(path, "tolerance"), "tolerance is only allowed on probes")
            else:
                self.tolerance(join(path, "tolerance"), act["tolerance"])
        elif role == "hypothesis":
            ctx.missing(path, "tolerance", " (every hypothesis probe needs one)")
        self._options(path, act)
        if "provider" not in act:
            ctx.missing(path, "provider")
            return
        call = self.provider(join(path, "provider"), act["provider"], role == "tolerance")
        if call is not None and kind == "action" and name is not None:
            self._fault(path, name, *call)

    def _fault(self, path: str, name: str, module: str, func: str, args: dict[str, Any]) -> None:
        """Record a chaosrun fault action; check its arguments against the kind's limits."""
        parts = module.split(".")
        if len(parts) != 3 or parts[:2] != ["chaosrun", "faults"]:
            return
        self.faults.append(FaultUse(parts[2], func, tuple(args.items()), name, self.ctx.line(path)))
        for arg, (low, high) in _fault_limits(parts[2]).items():
            value = args.get(arg)
            if isinstance(value, int | float) and is_number(value) and not low <= value <= high:
                where = join(join(path, "provider.arguments"), arg)
                self.ctx.err(where, f"expected {arg} in [{low}, {high}], got {show(value)}")

    def _ref(self, path: str, act: Mapping[str, Any]) -> None:
        ctx = self.ctx
        for key in act:
            if key != "ref":
                ctx.err(join(path, key), f"unexpected key '{key}' next to 'ref'")
        ref = want_str(ctx, join(path, "ref"), act["ref"])
        if ref is not None and ref not in self.names:
            hint = did_you_mean(ref, self.names)
            ctx.err(join(path, "ref"), f"ref '{ref}' does not match any earlier activity{hint}")

    def _type(self, path: str, act: Mapping[str, Any], role: str) -> str | None:
        ctx = self.ctx
        if "type" not in act:
            ctx.missing(path, "type", " (action or probe)")
            return None
        kind = one_of(ctx, join(path, "type"), act["type"], ("action", "probe"), "activity type")
        wanted = {"hypothesis": "probe", "tolerance": "probe", "rollback": "action"}.get(role)
        if kind is not None and wanted is not None and kind != wanted:
            where = {"hypothesis": "steady-state-hypothesis probes", "rollback": "rollbacks"}
            ctx.err(join(path, "type"), f"{where.get(role, role)} must have type '{wanted}'")
        return kind

    def _options(self, path: str, act: Mapping[str, Any]) -> None:
        ctx = self.ctx
        if "pauses" in act and want_mapping(ctx, join(path, "pauses"), act["pauses"]):
            pauses = act["pauses"]
            check_keys(ctx, join(path, "pauses"), pauses, ("before", "after"))
            for key in ("before", "after"):
                if key in pauses:
                    where = join(join(path, "pauses"), key)
                    want_number(ctx, where, pauses[key], low=0, strict=False, allow_var=True)
        if "background" in act:
            want_bool(ctx, join(path, "background"), act["background"])
        if "timeout" in act:
            want_number(ctx, join(path, "timeout"), act["timeout"], low=0, allow_var=True)
        if "controls" in act:
            _controls(ctx, join(path, "controls"), act["controls"])
        for key in ("configuration", "secrets"):
            if key in act:
                want_mapping(ctx, join(path, key), act[key])

    def provider(
        self, path: str, value: object, tolerance: bool
    ) -> tuple[str, str, dict[str, Any]] | None:
        """Validate a provider; for a bound python provider return (module, func, arguments)."""
        ctx = self.ctx
        if not want_mapping(ctx, path, value, "a provider mapping"):
            return None
        prov = typing.cast(dict[str, Any], value)
        if "type" not in prov:
            check_keys(
                ctx, path, prov, sorted({k for keys in _PROVIDER_KEYS.values() for k in keys})
            )
            ctx.missing(path, "type", " (python, http or process)")
            return None
        kind = one_of(ctx, join(path, "type"), prov["type"], tuple(_PROVIDER_KEYS), "provider type")
        if kind is None:
            return None
        check_keys(ctx, path, prov, _PROVIDER_KEYS[kind])
        if kind != "python":
            _OTHER_PROVIDERS[kind](ctx, path, prov)
            return None
        return _python_provider(ctx, path, prov, tolerance)

    def tolerance(self, path: str, tol: object) -> None:
        ctx = self.ctx
        if isinstance(tol, float):
            hi = 1.0 if 0 <= tol <= 1 else tol
            ctx.err(
                path,
                "float tolerances are rejected by Chaos Toolkit; "
                f"use a range: {{type: range, range: [{tol!r}, {hi!r}]}}",
            )
        elif isinstance(tol, list):
            if not tol:
                ctx.err(path, "an empty list tolerance can never match")
            elif len(tol) == 2 and all(map(is_number, tol)) and tol[0] > tol[1]:
                ctx.err(
                    path,
                    "2-element list tolerance is a range [lo, hi] in Chaos Toolkit; "
                    f"{show(tol[0])} > {show(tol[1])} can never match",
                )
        elif isinstance(tol, dict):
            self._dict_tolerance(path, tol)
        elif not isinstance(tol, bool | int | str):
            ctx.err(
                path,
                "expected a tolerance (boolean, integer, string, list or mapping), "
                f"got {show(tol)}",
            )

    def _dict_tolerance(self, path: str, tol: dict[str, Any]) -> None:
        ctx = self.ctx
        if "type" not in tol:
            check_keys(
                ctx, path, tol, sorted({k for keys in _TOLERANCE_KEYS.values() for k in keys})
            )
            ctx.missing(path, "type", " (probe, regex, jsonpath or range)")
            return
        kind = one_of(ctx, join(path, "type"), tol["type"], _TOLERANCE_TYPES, "tolerance type")
        if kind == "probe":
            self.activity(path, tol, "tolerance")
        elif kind is not None:
            check_keys(ctx, path, tol, _TOLERANCE_KEYS[kind])
            if "target" in tol:
                want_str(ctx, join(path, "target"), tol["target"])
            _TOLERANCE_CHECKS[kind](ctx, path, tol)


def _range_tolerance(ctx: Ctx, path: str, tol: Mapping[str, Any]) -> None:
    if "range" not in tol:
        ctx.missing(path, "range")
        return
    where, bounds = join(path, "range"), tol["range"]
    if not want_list(ctx, where, bounds, "a list of 2 numbers [lo, hi]"):
        return
    if len(bounds) != 2:
        ctx.err(where, f"expected a list of 2 numbers [lo, hi], got {len(bounds)} items")
    elif all([want_number(ctx, f"{where}[{i}]", bound) for i, bound in enumerate(bounds)]):
        lo, hi = bounds
        if lo > hi:
            ctx.err(where, f"range [lo, hi] can never match: {show(lo)} > {show(hi)}")


def _regex_tolerance(ctx: Ctx, path: str, tol: Mapping[str, Any]) -> None:
    pattern = _required_str(ctx, path, tol, "pattern")
    if pattern is not None and "${" not in pattern:
        try:
            re.compile(pattern)
        except re.error as exc:
            ctx.err(join(path, "pattern"), f"invalid regular expression: {exc}")


def has_jsonpath() -> bool:
    """Whether Chaos Toolkit can evaluate jsonpath tolerances (the jsonpath2 package)."""
    return importlib.util.find_spec("jsonpath2") is not None


def _jsonpath_tolerance(ctx: Ctx, path: str, tol: Mapping[str, Any]) -> None:
    if not has_jsonpath():
        ctx.err(path, "jsonpath tolerance needs 'pip install chaostoolkit-lib[jsonpath]'")
        return
    expression = _required_str(ctx, path, tol, "path")
    if expression is not None and "${" not in expression:
        try:
            importlib.import_module("jsonpath2.path").Path.parse_str(expression)
        except Exception:
            ctx.err(join(path, "path"), f"invalid JSON path {show(expression)}")
    if "count" in tol:
        count = tol["count"]
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            ctx.err(join(path, "count"), f"expected a non-negative integer, got {show(count)}")


_TOLERANCE_CHECKS: dict[str, Callable[[Ctx, str, Mapping[str, Any]], None]] = {
    "range": _range_tolerance,
    "regex": _regex_tolerance,
    "jsonpath": _jsonpath_tolerance,
}


def _http_provider(ctx: Ctx, path: str, prov: Mapping[str, Any]) -> None:
    _required_str(ctx, path, prov, "url")
    if "method" in prov:
        want_str(ctx, join(path, "method"), prov["method"])
    if "headers" in prov:
        want_mapping(ctx, join(path, "headers"), prov["headers"])
    if "arguments" in prov and not isinstance(prov["arguments"], dict | str):
        got = describe(prov["arguments"])
        ctx.err(join(path, "arguments"), f"expected a mapping or a string body, got {got}")
    if "timeout" in prov:
        timeout, where = prov["timeout"], join(path, "timeout")
        if isinstance(timeout, list):
            if len(timeout) != 2:
                ctx.err(where, f"expected a number or [connect, read], got {len(timeout)} items")
            for i, part in enumerate(timeout[:2]):
                want_number(ctx, f"{where}[{i}]", part, low=0, allow_var=True)
        else:
            want_number(ctx, where, timeout, low=0, allow_var=True)
    if "expected_status" in prov:
        status, where = prov["expected_status"], join(path, "expected_status")
        codes = status if isinstance(status, list) else [status]
        if not codes or not all(isinstance(c, int) and not isinstance(c, bool) for c in codes):
            ctx.err(where, f"expected an HTTP status code or a list of them, got {show(status)}")
    if "verify_tls" in prov:
        want_bool(ctx, join(path, "verify_tls"), prov["verify_tls"])
    if "max_retries" in prov:
        retries = prov["max_retries"]
        if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
            where = join(path, "max_retries")
            ctx.err(where, f"expected a non-negative integer, got {show(retries)}")


def _process_provider(ctx: Ctx, path: str, prov: Mapping[str, Any]) -> None:
    executable = _required_str(ctx, path, prov, "path")
    if executable and "${" not in executable and not shutil.which(os.path.expanduser(executable)):
        ctx.err(join(path, "path"), f"cannot find executable {show(executable)}")
    if "arguments" in prov:
        arguments, where = prov["arguments"], join(path, "arguments")
        if not isinstance(arguments, list):
            ctx.err(where, "process arguments must be a list of strings (no shell)")
        else:
            for i, argument in enumerate(arguments):
                if not isinstance(argument, str):
                    ctx.err(f"{where}[{i}]", f"expected a string, got {show(argument)}")
    if "timeout" in prov:
        want_number(ctx, join(path, "timeout"), prov["timeout"], low=0, allow_var=True)


_OTHER_PROVIDERS: dict[str, Callable[[Ctx, str, Mapping[str, Any]], None]] = {
    "http": _http_provider,
    "process": _process_provider,
}


def _python_provider(
    ctx: Ctx, path: str, prov: Mapping[str, Any], tolerance: bool
) -> tuple[str, str, dict[str, Any]] | None:
    module = _required_str(ctx, path, prov, "module")
    func = _required_str(ctx, path, prov, "func")
    arguments: object = prov.get("arguments", {})
    if not isinstance(arguments, dict):
        got = describe(arguments)
        ctx.err(join(path, "arguments"), f"expected a mapping of argument names, got {got}")
    elif tolerance and "arguments" not in prov:
        ctx.missing(path, "arguments", " (Chaos Toolkit adds 'value' to it)")
        arguments = None
    if "secrets" in prov and want_list(ctx, join(path, "secrets"), prov["secrets"]):
        for i, scope in enumerate(prov["secrets"]):
            want_str(ctx, f"{join(path, 'secrets')}[{i}]", scope)
    if module is None or func is None or not isinstance(arguments, dict):
        return None
    fn = _find_function(ctx, path, module, func)
    if fn is None:
        return None
    _bind(ctx, path, f"{module}.{func}", fn, arguments, "arguments" in prov, tolerance)
    return module, func, arguments


def fault_kinds() -> tuple[str, ...]:
    """Fault kinds: keys of `chaosrun.faults.REGISTRY`, else the modules of that package."""
    try:
        package = importlib.import_module("chaosrun.faults")
    except Exception:
        return ()
    registry = getattr(package, "REGISTRY", None)
    if isinstance(registry, Mapping):
        return tuple(sorted(str(kind) for kind in registry))
    found = pkgutil.iter_modules(getattr(package, "__path__", []))
    return tuple(sorted(m.name for m in found if not m.name.startswith("_")))


def _fault_limits(kind: str) -> Mapping[str, tuple[float, float]]:
    """Inclusive (min, max) per numeric argument of a fault kind, from its registry entry."""
    try:
        registry = getattr(importlib.import_module("chaosrun.faults"), "REGISTRY", {})
        limits = getattr(registry.get(kind), "limits", None)
    except Exception:
        return {}
    return limits if isinstance(limits, Mapping) else {}


def _find_function(ctx: Ctx, path: str, module: str, func: str) -> Callable[..., Any] | None:
    parts = module.split(".")
    if len(parts) >= 3 and parts[:2] == ["chaosrun", "faults"]:
        kinds = fault_kinds()
        if parts[2] not in kinds:
            hint = did_you_mean(parts[2], kinds)
            ctx.err(join(path, "module"), f"unknown fault '{parts[2]}'{hint}")
            return None
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        missing = exc.name or module
        detail = "" if module == missing or module.startswith(missing + ".") else f": {exc}"
        ctx.err(join(path, "module"), f"cannot import module '{module}'{detail}")
        return None
    except (Exception, SystemExit) as exc:
        problem = f"cannot import module '{module}': {type(exc).__name__}: {exc}"
        ctx.err(join(path, "module"), problem)
        return None
    found = vars(mod).get(func)
    if inspect.isfunction(found) or inspect.isbuiltin(found):
        return typing.cast(Callable[..., Any], found)
    public = [
        name
        for name, obj in vars(mod).items()
        if not name.startswith("_") and (inspect.isfunction(obj) or inspect.isbuiltin(obj))
    ]
    hint = did_you_mean(func, public)
    ctx.err(join(path, "func"), f"module '{module}' has no function '{func}'{hint}")
    return None


def _bind(
    ctx: Ctx,
    path: str,
    target: str,
    fn: Callable[..., Any],
    arguments: Mapping[str, Any],
    explicit: bool,
    tolerance: bool,
) -> None:
    """Bind arguments to the signature as Chaos Toolkit will, checking simple annotated types."""
    try:
        params = _signature(fn).parameters
    except (TypeError, ValueError):
        return
    var_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    supplied = _SUPPLIED | {"value"} if tolerance else _SUPPLIED
    bindable = [n for n, p in params.items() if p.kind in _BINDABLE and n not in supplied]
    where = join(path, "arguments")
    if tolerance and "value" not in params and not var_kw:
        ctx.err(path, f"{target} must take an argument 'value' (the probe output to check)")
    for name, value in arguments.items():
        param = params.get(name)
        if name in supplied:
            ctx.err(join(where, name), f"argument '{name}' is supplied by Chaos Toolkit; remove it")
        elif param is None or param.kind not in _BINDABLE:
            if not var_kw:
                close = difflib.get_close_matches(name, bindable, n=1)
                ctx.suggested.update(join(where, match) for match in close)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                ctx.err(join(where, name), f"unknown argument '{name}' for {target}{hint}")
        else:
            problem = _type_problem(param.annotation, value)
            if problem:
                ctx.err(join(where, name), problem)
    for name in bindable:
        absent = name not in arguments and join(where, name) not in ctx.suggested
        if params[name].default is inspect.Parameter.empty and absent:
            ctx.err(where if explicit else path, f"missing required argument '{name}' for {target}")


def _signature(fn: Callable[..., Any]) -> inspect.Signature:
    """The signature with string annotations evaluated where possible (PEP 563 modules)."""
    try:
        return inspect.signature(fn, eval_str=True)
    except Exception:
        return inspect.signature(fn)


def _simple_type(annotation: object) -> tuple[str | None, bool]:
    """('int'|'float'|'str'|'bool' or None, whether None is allowed) for an annotation."""
    if isinstance(annotation, str):
        text = annotation.strip().strip("'\"").replace("typing.", "")
        if text.startswith("Optional[") and text.endswith("]"):
            text = text[len("Optional[") : -1] + " | None"
        parts = [part.strip() for part in text.split("|")]
        rest = [part for part in parts if part != "None"]
        name = rest[0] if len(rest) == 1 else None
        return (name, len(rest) < len(parts)) if name in _SIMPLE_TYPES else (None, False)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        rest = [arg for arg in args if arg is not type(None)]
        if len(rest) == 1:
            return _simple_type(rest[0])[0], len(rest) < len(args)
        return None, False
    if annotation in (int, float, str, bool):
        return typing.cast(type, annotation).__name__, False
    return None, False


def _type_problem(annotation: object, value: object) -> str | None:
    if isinstance(value, str) and "${" in value:
        return None
    name, optional = _simple_type(annotation)
    if name is None or (value is None and optional):
        return None
    what, accepts = _SIMPLE_TYPES[name]
    return None if accepts(value) else f"expected {what}, got {show(value)}"
