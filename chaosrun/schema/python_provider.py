"""Python providers: import the module, find the function, bind the arguments as Chaos Toolkit will.

Simple annotations (int, float, str, bool, optionally `| None`) are checked against the values;
chaosrun fault kinds and their numeric limits come from `chaosrun.faults.REGISTRY`.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import pkgutil
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

from chaosrun.schema.common import (
    Ctx,
    describe,
    did_you_mean,
    join,
    required_str,
    show,
    want_list,
    want_str,
)
from chaosrun.schema.modules import module_refusal

__all__ = ["check_python_provider", "fault_kinds", "fault_limits", "simple_type"]

_SUPPLIED = frozenset({"configuration", "secrets"})  # Chaos Toolkit passes these itself
_BINDABLE = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
_SIMPLE_TYPES: dict[str, tuple[str, Callable[[object], bool]]] = {
    "int": ("an integer", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    "float": ("a number", lambda v: isinstance(v, int | float) and not isinstance(v, bool)),
    "str": ("a string", lambda v: isinstance(v, str)),
    "bool": ("a boolean", lambda v: isinstance(v, bool)),
}


def check_python_provider(
    ctx: Ctx, path: str, prov: Mapping[str, Any], tolerance: bool
) -> tuple[str, str, dict[str, Any]] | None:
    """Check a python provider; when its function binds, return (module, func, arguments)."""
    module = required_str(ctx, path, prov, "module")
    func = required_str(ctx, path, prov, "func")
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
    refused = module_refusal(module, ctx.allowed_modules)
    if refused is not None:  # decided before the import: importing is running its code
        ctx.err(join(path, "module"), refused)
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


def fault_limits(kind: str) -> Mapping[str, tuple[float, float]]:
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


def simple_type(annotation: object) -> tuple[str | None, bool]:
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
            return simple_type(rest[0])[0], len(rest) < len(args)
        return None, False
    if annotation in (int, float, str, bool):
        return typing.cast(type, annotation).__name__, False
    return None, False


def _type_problem(annotation: object, value: object) -> str | None:
    if isinstance(value, str) and "${" in value:
        return None
    name, optional = simple_type(annotation)
    if name is None or (value is None and optional):
        return None
    what, accepts = _SIMPLE_TYPES[name]
    return None if accepts(value) else f"expected {what}, got {show(value)}"
