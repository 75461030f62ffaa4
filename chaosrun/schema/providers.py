"""Activity providers: the type dispatch, and the http and process providers.

Python providers, which import and bind a function, live in `chaosrun.schema.python_provider`.
"""

from __future__ import annotations

import os
import shutil
import typing
from collections.abc import Callable, Mapping
from typing import Any

from chaosrun.schema.common import (
    Ctx,
    check_keys,
    describe,
    join,
    one_of,
    required_str,
    show,
    want_bool,
    want_mapping,
    want_number,
    want_str,
)
from chaosrun.schema.python_provider import check_python_provider
from chaosrun.schema.shell import shell_syntax, split_arguments

__all__ = ["check_provider"]

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


def check_provider(
    ctx: Ctx, path: str, value: object, tolerance: bool
) -> tuple[str, str, dict[str, Any]] | None:
    """Validate a provider; for a bound python provider return (module, func, arguments)."""
    if not want_mapping(ctx, path, value, "a provider mapping"):
        return None
    prov = typing.cast(dict[str, Any], value)
    if "type" not in prov:
        check_keys(
            ctx,
            path,
            prov,
            sorted({k for keys in _PROVIDER_KEYS.values() for k in keys}),
            toolkit=True,
        )
        ctx.missing(path, "type", " (python, http or process)")
        return None
    kind = one_of(ctx, join(path, "type"), prov["type"], tuple(_PROVIDER_KEYS), "provider type")
    if kind is None:
        return None
    check_keys(ctx, path, prov, _PROVIDER_KEYS[kind], toolkit=True)
    if kind != "python":
        _OTHER_PROVIDERS[kind](ctx, path, prov)
        return None
    return check_python_provider(ctx, path, prov, tolerance)


def _http_provider(ctx: Ctx, path: str, prov: Mapping[str, Any]) -> None:
    required_str(ctx, path, prov, "url")
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
    executable = required_str(ctx, path, prov, "path")
    if executable and "${" not in executable and not shutil.which(os.path.expanduser(executable)):
        ctx.err(join(path, "path"), f"cannot find executable {show(executable)}")
    if "arguments" in prov:
        _process_arguments(ctx, join(path, "arguments"), prov["arguments"])
    if "timeout" in prov:
        want_number(ctx, join(path, "timeout"), prov["timeout"], low=0, allow_var=True)


def _process_arguments(ctx: Ctx, where: str, arguments: object) -> None:
    """A list or a mapping of scalars (Chaos Toolkit runs them without a shell, each value
    `str()`-ed, null and "" dropped), or a string: split and run without a shell too when it
    uses no shell syntax (`chaosrun.schema.shell`), refused unless --allow-shell when it does."""
    if isinstance(arguments, str):
        try:
            split_arguments(arguments)
        except ValueError as exc:
            ctx.err(where, f"cannot split process arguments: {str(exc).lower()}")
            return
        syntax = shell_syntax(arguments)
        if syntax is not None and not ctx.allow_shell:
            ctx.err(
                where,
                f"process arguments use shell syntax ({syntax!r}): refused; pass --allow-shell "
                "to run them through /bin/sh",
            )
        return
    if isinstance(arguments, dict):
        ctx.warn(where, "mapping arguments are deprecated by Chaos Toolkit; use a list")
        for key, value in typing.cast(dict[str, object], arguments).items():
            _scalar_argument(ctx, join(where, key), value)
    elif isinstance(arguments, list):
        for i, value in enumerate(arguments):
            _scalar_argument(ctx, f"{where}[{i}]", value)
    else:
        got = describe(arguments)
        ctx.err(where, f"expected a list, a mapping or a string of arguments, got {got}")


def _scalar_argument(ctx: Ctx, where: str, value: object) -> None:
    if isinstance(value, list | dict):
        ctx.err(where, f"expected a string, a number, a boolean or null, got {describe(value)}")


_OTHER_PROVIDERS: dict[str, Callable[[Ctx, str, Mapping[str, Any]], None]] = {
    "http": _http_provider,
    "process": _process_provider,
}
