"""`--var KEY[:TYPE]=VALUE`, `--var-file FILE` and `--settings FILE`, read as `chaos run` does.

`--var` sets configuration values (TYPE: str, int, float, bool, json, as chaoslib converts);
a var file is YAML/JSON with `configuration` and `secrets` mappings, or a .env file whose
variables are set in the environment of the run. Unlike `chaos run`, which logs and goes on,
an unreadable file is refused in one line (exit 2): a run must not quietly use other values.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from chaosrun.errors import UsageError
from chaosrun.schema.modules import module_refusal

__all__ = ["Vars", "parse_vars", "read_settings"]

_TYPES = ("str", "string", "int", "integer", "float", "number", "bool", "json", "bytes")


@dataclass(frozen=True, slots=True)
class Vars:
    configuration: Mapping[str, Any] = field(default_factory=dict)
    secrets: Mapping[str, Any] = field(default_factory=dict)
    environ: Mapping[str, str] = field(default_factory=dict)  # from .env files


def parse_vars(pairs: Sequence[str], files: Sequence[str]) -> Vars:
    configuration: dict[str, Any] = {}
    secrets: dict[str, Any] = {}
    environ: dict[str, str] = {}
    for name in files:
        _read_var_file(name, configuration, secrets, environ)
    for pair in pairs:  # the command line wins over files, as in chaos run
        key, value = _var(pair)
        configuration[key] = value
    return Vars(configuration, secrets, environ)


def _var(pair: str) -> tuple[str, Any]:
    key, sep, text = pair.partition("=")
    if not sep or not key:
        raise UsageError(f"--var: expected KEY=VALUE or KEY:TYPE=VALUE, got {pair!r}")
    if ":" not in key:
        return key, text
    key, kind = key.rsplit(":", 1)
    if kind not in _TYPES:
        raise UsageError(
            f"--var {pair!r}: unknown type {kind!r}; expected one of {', '.join(_TYPES)}"
        )
    try:
        return key, _convert(kind, text)
    except ValueError as exc:
        raise UsageError(f"--var {pair!r}: cannot convert {text!r} to {kind}: {exc}") from None


def _convert(kind: str, text: str) -> Any:
    if kind in ("int", "integer"):
        return int(text)
    if kind in ("float", "number"):
        return float(text)
    if kind == "bool":
        return text.lower() not in ("false", "0", "no")
    if kind == "json":
        return json.loads(text) if text else text
    if kind == "bytes":
        return text  # kept as text: the run's configuration travels as JSON
    return text


def _read_var_file(
    name: str, configuration: dict[str, Any], secrets: dict[str, Any], environ: dict[str, str]
) -> None:
    path = Path(name)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--var-file {name}: cannot read: {exc}") from None
    if path.suffix.lower() in (".yaml", ".yml", ".json"):
        try:
            data = yaml.safe_load(text) if path.suffix.lower() != ".json" else json.loads(text)
        except (yaml.YAMLError, ValueError) as exc:
            problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise UsageError(f"--var-file {name}: cannot parse: {problem}") from None
        if data is None:
            return
        if not isinstance(data, Mapping) or set(data) - {"configuration", "secrets"}:
            raise UsageError(
                f"--var-file {name}: expected a mapping with 'configuration' and/or 'secrets'"
            )
        for key, into in (("configuration", configuration), ("secrets", secrets)):
            section = data.get(key) or {}
            if not isinstance(section, Mapping):
                raise UsageError(f"--var-file {name}: {key}: expected a mapping")
            into.update(section)
        return
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--var-file {name}:{number}: expected KEY=VALUE, got {line!r}")
        environ[key.strip()] = value


def read_settings(name: str, allowed_modules: Sequence[str] = ()) -> Mapping[str, Any]:
    """A Chaos Toolkit settings file (YAML); chaosrun reads its `runtime` and `controls`.

    Its controls run in the worker: their modules follow the python provider rule
    (`chaosrun.schema.modules`), decided before anything imports them."""
    try:
        data = yaml.safe_load(Path(name).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(f"--settings {name}: cannot read: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise UsageError(f"--settings {name}: expected a mapping of settings")
    controls = data.get("controls")
    for key, control in controls.items() if isinstance(controls, Mapping) else ():
        provider = control.get("provider") if isinstance(control, Mapping) else None
        module = provider.get("module") if isinstance(provider, Mapping) else None
        refused = module_refusal(str(module), allowed_modules) if module else None
        if refused:
            raise UsageError(f"--settings {name}: controls.{key}.provider.module: {refused}")
    return data
