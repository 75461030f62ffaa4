"""How a run is asked to run, beyond the file: Chaos Toolkit's runtime strategies and variables.

Precedence as in `chaos run`: the settings file, then the experiment's `runtime`, then the
command line. One difference, documented in the README: when nothing says otherwise chaosrun's
rollback strategy is `always` (Chaos Toolkit's `default` skips rollbacks after an interrupted
or failed run, which leaves an experiment's own changes in place).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["OPTIONS_FILE", "RunOptions", "Runtime", "read_options", "resolve_runtime"]

OPTIONS_FILE = "run-options.json"  # written 0600 in the run directory: it may hold secrets
CHAOSRUN_ROLLBACK_DEFAULT = "always"


@dataclass(frozen=True, slots=True)
class RunOptions:
    """What the command line adds to the experiment file (`chaos run`'s options)."""

    rollback_strategy: str | None = None
    hypothesis_strategy: str | None = None
    hypothesis_frequency: float | None = None
    fail_fast: bool | None = None
    config_vars: Mapping[str, Any] = field(default_factory=dict)
    secret_vars: Mapping[str, Any] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)
    allow_shell: bool = False

    def to_json(self) -> str:
        return json.dumps(
            {
                "rollback_strategy": self.rollback_strategy,
                "hypothesis_strategy": self.hypothesis_strategy,
                "hypothesis_frequency": self.hypothesis_frequency,
                "fail_fast": self.fail_fast,
                "config_vars": dict(self.config_vars),
                "secret_vars": dict(self.secret_vars),
                "settings": dict(self.settings),
                "allow_shell": self.allow_shell,
            },
            default=str,
        )


def read_options(path: Path) -> RunOptions:
    if not path.exists():
        return RunOptions()
    data = json.loads(path.read_text(encoding="utf-8"))
    return RunOptions(**data)


@dataclass(frozen=True, slots=True)
class Runtime:
    rollback_strategy: str
    hypothesis_strategy: str
    hypothesis_frequency: float
    fail_fast: bool


def resolve_runtime(document: Mapping[str, Any], options: RunOptions) -> Runtime:
    """Settings < experiment `runtime` < command line; chaosrun's rollback default is always."""
    settings_runtime = _mapping(options.settings.get("runtime"))
    runtime = _mapping(document.get("runtime"))

    def pick(section: str, key: str, given: Any, default: Any) -> Any:
        for source in (given, _mapping(runtime.get(section)).get(key)):
            if source is not None:
                return source
        value = _mapping(settings_runtime.get(section)).get(key)
        return default if value is None else value

    return Runtime(
        rollback_strategy=pick(
            "rollbacks", "strategy", options.rollback_strategy, CHAOSRUN_ROLLBACK_DEFAULT
        ),
        hypothesis_strategy=pick("hypothesis", "strategy", options.hypothesis_strategy, "default"),
        hypothesis_frequency=float(pick("hypothesis", "freq", options.hypothesis_frequency, 1.0)),
        fail_fast=bool(pick("hypothesis", "fail_fast", options.fail_fast, False)),
    )


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
