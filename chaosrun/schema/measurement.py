"""The measurement parts of the chaosrun block: `load`, `rto` and `expect`."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, cast

from chaosrun.model import LoadSpec, RtoSpec
from chaosrun.schema.common import (
    Ctx,
    check_keys,
    join,
    show,
    want_list,
    want_mapping,
    want_number,
    want_str,
)

__all__ = ["expectations", "load_spec", "rto_spec"]

_MAX_RATE = 100_000.0


def load_spec(ctx: Ctx, path: str, value: object) -> LoadSpec | None:
    if not want_mapping(ctx, path, value):
        return None
    block = cast(dict[str, Any], value)
    fields = ("rate", "endpoints", "seed", "timeout_s", "warmup_s", "cooldown_s")
    check_keys(ctx, path, block, fields)
    ok = True
    for key in ("rate", "endpoints"):
        if key not in block:
            ctx.missing(path, key)
            ok = False
    rate = block.get("rate")
    if rate is not None and not want_number(
        ctx, join(path, "rate"), rate, low=0, maximum=_MAX_RATE
    ):
        ok = False
    endpoints = _endpoints(ctx, join(path, "endpoints"), block.get("endpoints"))
    seed = block.get("seed", 1)
    if not isinstance(seed, int) or isinstance(seed, bool):
        ctx.err(join(path, "seed"), f"expected an integer, got {show(seed)}")
        ok = False
    optional: dict[str, float] = {}
    for key in ("timeout_s", "warmup_s", "cooldown_s"):
        if key not in block:
            continue
        where = join(path, key)
        if want_number(ctx, where, block[key], low=0, strict=key == "timeout_s", maximum=3600):
            optional[key] = float(block[key])
        else:
            ok = False
    if not ok or endpoints is None or rate is None:
        return None
    return LoadSpec(float(rate), endpoints, int(seed), **optional)


def _endpoints(ctx: Ctx, path: str, value: object) -> tuple[tuple[str, float], ...] | None:
    """A list of paths (equal weights) or a mapping path -> weight."""
    if value is None:
        return None
    if isinstance(value, list):
        pairs = [(item, 1.0) for item in value]
    elif isinstance(value, dict):
        pairs = list(value.items())
    else:
        ctx.err(path, f"expected a list of paths or a mapping path -> weight, got {show(value)}")
        return None
    if not pairs:
        ctx.err(path, "expected at least one endpoint")
        return None
    result = []
    for i, (endpoint, weight) in enumerate(pairs):
        where = join(path, endpoint) if isinstance(value, dict) else f"{path}[{i}]"
        if want_str(ctx, where, endpoint) is None:
            continue
        if not endpoint.startswith("/"):
            ctx.err(where, f"expected a path starting with '/', got {show(endpoint)}")
            continue
        if want_number(ctx, where, weight, low=0):
            result.append((endpoint, float(weight)))
    return tuple(result) if len(result) == len(pairs) else None


def rto_spec(ctx: Ctx, path: str, value: object) -> RtoSpec | None:
    if not want_mapping(ctx, path, value):
        return None
    block = cast(dict[str, Any], value)
    check_keys(ctx, path, block, ("objective_s", "stability_s", "detect_within_s"))
    if "objective_s" not in block:
        ctx.missing(path, "objective_s")
        return None
    objective = block["objective_s"]
    stability = block.get("stability_s", 2.0)
    good = want_number(ctx, join(path, "objective_s"), objective, low=0, maximum=86400)
    good = want_number(ctx, join(path, "stability_s"), stability, low=0, maximum=3600) and good
    detect = block.get("detect_within_s")
    if detect is not None:
        where = join(path, "detect_within_s")
        good = want_number(ctx, where, detect, low=0, maximum=86400) and good
    if not good:
        return None
    return RtoSpec(float(objective), float(stability), None if detect is None else float(detect))


def expectations(
    ctx: Ctx, path: str, value: object, kinds: Mapping[str, type[Any]]
) -> tuple[object, ...]:
    """`expect: {circuit_breaker: {...}, bulkhead: {...}, timeout: {...}}` -> dataclasses."""
    if not want_mapping(ctx, path, value):
        return ()
    block = cast(dict[str, Any], value)
    check_keys(ctx, path, block, tuple(kinds))
    result = []
    for name, body in block.items():
        if name in kinds:
            parsed = _dataclass(ctx, join(path, name), body, kinds[name])
            problems: list[tuple[str, str]] = getattr(parsed, "invalid_fields", list)()
            for key, expected in problems:
                ctx.err(join(join(path, name), key), expected)
            if parsed is not None and not problems:
                result.append(parsed)
    return tuple(result)


def _dataclass(ctx: Ctx, path: str, value: object, cls: type[Any]) -> object | None:
    """Bind a mapping to a frozen dataclass: its fields are the schema (names, types, defaults)."""
    if not want_mapping(ctx, path, value):
        return None
    block = cast(dict[str, Any], value)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    check_keys(ctx, path, block, tuple(fields))
    ok = True
    for name, field in fields.items():
        required = (
            field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
        )
        if required and name not in block:
            ctx.missing(path, name)
            ok = False
    kwargs: dict[str, Any] = {}
    for name, raw in block.items():
        if name not in fields:
            continue
        converted = _convert(ctx, join(path, name), raw, hints[name])
        if converted is _INVALID:
            ok = False
        else:
            kwargs[name] = converted
    return cls(**kwargs) if ok else None


_INVALID = object()


def _convert(ctx: Ctx, path: str, raw: object, hint: Any) -> object:
    optional = False
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        optional = len(args) < len(typing.get_args(hint))
        hint = args[0]
    if raw is None and optional:
        return None
    if hint is str:
        return raw if want_str(ctx, path, raw) is not None else _INVALID
    if hint is bool:
        return raw if isinstance(raw, bool) else _bad(ctx, path, "a boolean", raw)
    if hint is int:
        if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
            return raw
        return _bad(ctx, path, "a non-negative integer", raw)
    if hint is float:
        return (
            float(cast(float, raw))
            if want_number(ctx, path, raw, low=0, strict=False)
            else _INVALID
        )
    if typing.get_origin(hint) is tuple:
        if not want_list(ctx, path, raw, "a list of strings"):
            return _INVALID
        items = cast(list[object], raw)
        if all(isinstance(i, str) and i for i in items):
            return tuple(cast(list[str], items))
        return _bad(ctx, path, "a list of strings", raw)
    raise TypeError(f"unsupported expectation field type {hint!r}")


def _bad(ctx: Ctx, path: str, what: str, raw: object) -> object:
    ctx.err(path, f"expected {what}, got {show(raw)}")
    return _INVALID
