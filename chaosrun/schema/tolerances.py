"""Probe tolerances as Chaos Toolkit reads them: scalars, lists and typed mappings.

A `{type: probe}` tolerance is itself an activity; `check_tolerance` hands it back to the
activity walker through its `probe` callback.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from collections.abc import Callable, Mapping
from typing import Any

from chaosrun.schema.common import (
    Ctx,
    check_keys,
    is_number,
    join,
    one_of,
    required_str,
    show,
    want_list,
    want_number,
    want_str,
)

__all__ = ["check_tolerance", "has_jsonpath"]

_TOLERANCE_KEYS: dict[str, tuple[str, ...]] = {
    "range": ("type", "range", "target"),
    "regex": ("type", "pattern", "target"),
    "jsonpath": ("type", "path", "target", "count", "expect"),
}
_TOLERANCE_TYPES = ("probe", "regex", "jsonpath", "range")


def check_tolerance(
    ctx: Ctx, path: str, tol: object, probe: Callable[[str, dict[str, Any]], None]
) -> None:
    """Check a tolerance; `probe(path, tol)` validates a `{type: probe}` one as an activity."""
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
        _dict_tolerance(ctx, path, tol, probe)
    elif not isinstance(tol, bool | int | str):
        ctx.err(
            path,
            f"expected a tolerance (boolean, integer, string, list or mapping), got {show(tol)}",
        )


def _dict_tolerance(
    ctx: Ctx, path: str, tol: dict[str, Any], probe: Callable[[str, dict[str, Any]], None]
) -> None:
    if "type" not in tol:
        check_keys(
            ctx,
            path,
            tol,
            sorted({k for keys in _TOLERANCE_KEYS.values() for k in keys}),
            toolkit=True,
        )
        ctx.missing(path, "type", " (probe, regex, jsonpath or range)")
        return
    kind = one_of(ctx, join(path, "type"), tol["type"], _TOLERANCE_TYPES, "tolerance type")
    if kind == "probe":
        probe(path, tol)
    elif kind is not None:
        check_keys(ctx, path, tol, _TOLERANCE_KEYS[kind], toolkit=True)
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
    pattern = required_str(ctx, path, tol, "pattern")
    if pattern is not None and "${" not in pattern:
        try:
            re.compile(pattern)
        except re.error as exc:
            ctx.err(join(path, "pattern"), f"invalid regular expression: {exc}")
        except (RecursionError, OverflowError, MemoryError):
            ctx.err(join(path, "pattern"), "regular expression too deeply nested or too large")


def has_jsonpath() -> bool:
    """Whether Chaos Toolkit can evaluate jsonpath tolerances (the jsonpath2 package)."""
    return importlib.util.find_spec("jsonpath2") is not None


def _jsonpath_tolerance(ctx: Ctx, path: str, tol: Mapping[str, Any]) -> None:
    if not has_jsonpath():
        ctx.err(path, "jsonpath tolerance needs 'pip install chaostoolkit-lib[jsonpath]'")
        return
    expression = required_str(ctx, path, tol, "path")
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
