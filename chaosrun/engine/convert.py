"""Arguments filled from the configuration, converted to the type the function declares.

Chaos Toolkit fills a lone `${name}` template with the configuration value as it is: a YAML
literal keeps its type, but a value read from the environment is always a string ("800").
A fault declaring `latency_ms: int` would send "800" to Toxiproxy, which answers 400. So, at
run time, a python provider's argument that was a lone template in the file and came out as a
string is converted to the simple type (int, float, bool; `| None` allowed) its parameter
declares, when the string spells one: "800" -> 800, "0.5" -> 0.5, "true"/"no" -> True/False.
Anything else is left as Chaos Toolkit gave it; validation (`chaosrun.schema.preflight`) refuses
what it can resolve before the run with the same `convert` rules.

`convert` and `convert_arguments` are pure. `install` (called by the worker, before the run) is
the hook: it wraps `chaoslib.activity.run_python_activity`, the name chaoslib's `run_activity`
calls for every python probe, action and probe tolerance, so that the lone-template arguments it
passes down are already converted; chaoslib then substitutes the others and calls the function
as before. The journal keeps the activity as written (chaoslib records the activity it was
given, not the copy handed down).
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from chaosrun.schema.python_provider import simple_type

__all__ = [
    "WHAT",
    "Unconvertible",
    "convert",
    "convert_arguments",
    "install",
    "lone_template",
    "target_type",
]

_LONE = re.compile(r"\$\{([_a-zA-Z][_a-zA-Z0-9]*)\}")
_INT = re.compile(r"[+-]?[0-9]+")
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
WHAT = {"int": "an integer", "float": "a number", "bool": "a boolean", "str": "a string"}


class Unconvertible(ValueError):
    """A value that does not spell the declared type; the message says what was expected."""


def lone_template(value: object) -> str | None:
    """`name` when `value` is exactly `${name}` (Chaos Toolkit keeps the value's type)."""
    if isinstance(value, str):
        match = _LONE.fullmatch(value)
        if match is not None:
            return match.group(1)
    return None


def target_type(fn: Callable[..., Any], name: str) -> tuple[str | None, bool]:
    """(int | float | bool | str | None, None allowed) for parameter `name` of `fn`."""
    try:
        param = inspect.signature(fn, eval_str=True).parameters.get(name)
    except Exception:
        return None, False
    return (None, False) if param is None else simple_type(param.annotation)


def convert(value: object, kind: str | None, optional: bool = False) -> object:
    """`value` as `kind`: strings that spell it are converted; raise Unconvertible otherwise."""
    if kind is None or (value is None and optional):
        return value
    if kind == "str":
        if isinstance(value, str):
            return value
    elif isinstance(value, bool):
        if kind == "bool":
            return value
    elif kind == "bool":
        text = value.strip().lower() if isinstance(value, str) else None
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
    elif isinstance(value, int | float) and kind in ("int", "float"):
        if isinstance(value, int) or (kind == "float" and math.isfinite(value)):
            return value
    elif isinstance(value, str) and kind == "int" and _INT.fullmatch(value.strip()):
        return int(value.strip())
    elif isinstance(value, str) and kind == "float":
        try:
            number = float(value.strip())
        except ValueError:
            number = math.nan
        if math.isfinite(number):
            return number
    raise Unconvertible(f"expected {WHAT[kind]}")


def convert_arguments(
    fn: Callable[..., Any], raw: Mapping[str, Any], filled: Mapping[str, Any]
) -> dict[str, Any]:
    """`filled` (the arguments after substitution) with each lone-template argument of `raw`
    that came out a string converted to the type `fn` declares for it, when it spells one."""
    converted = dict(filled)
    for name, value in raw.items():
        if lone_template(value) is None or not isinstance(filled.get(name), str):
            continue
        kind, optional = target_type(fn, name)
        if kind in (None, "str"):
            continue
        with contextlib.suppress(Unconvertible):  # else the function says, as without chaosrun
            converted[name] = convert(filled[name], kind, optional)
    return converted


def install() -> None:
    """Make chaoslib convert lone-template python arguments (see the module docstring)."""
    import chaoslib.activity
    from chaoslib import substitute

    original = chaoslib.activity.run_python_activity
    if getattr(original, "chaosrun_converts", False):
        return

    def run_python_activity(activity: Any, configuration: Any, secrets: Any) -> Any:
        provider = activity.get("provider") or {}
        raw = provider.get("arguments") or {}
        templated = {k: v for k, v in raw.items() if lone_template(v) is not None}
        fn = _function(provider) if templated and (configuration or secrets) else None
        if fn is None:
            return original(activity, configuration, secrets)
        filled = substitute(templated, configuration, secrets)
        converted = convert_arguments(fn, templated, filled)
        changed = {k: v for k, v in converted.items() if v is not filled[k]}
        provider = {**provider, "arguments": {**raw, **changed}}
        return original({**activity, "provider": provider}, configuration, secrets)

    run_python_activity.chaosrun_converts = True  # type: ignore[attr-defined]
    chaoslib.activity.run_python_activity = run_python_activity


def _function(provider: Mapping[str, Any]) -> Callable[..., Any] | None:
    try:
        module = importlib.import_module(str(provider.get("module")))
        fn = getattr(module, str(provider.get("func")))
    except Exception:
        return None  # chaoslib reports it as it always has
    return fn if callable(fn) else None
