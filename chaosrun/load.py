"""Load experiment files (YAML or JSON) with line numbers, validate them strictly, parse the model.

`load_experiment` raises the first problem (in document order) as an `InputError`;
`validate_files` returns every problem of every file. Neither raises anything else, nor prints.
Reading lives in `chaosrun.schema.source` and `chaosrun.schema.yamlmap`, validation in the rest
of `chaosrun.schema`; this module only puts them together.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import cast

from chaosrun.errors import InputError
from chaosrun.model import Experiment
from chaosrun.schema.common import Ctx, describe
from chaosrun.schema.document import validate_document
from chaosrun.schema.extension import chaosrun_spec
from chaosrun.schema.source import MAX_BYTES, read_text
from chaosrun.schema.yamlmap import MAX_DEPTH, MAX_NODES, TOO_DEEP, parse

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_NODES", "load_experiment", "validate_files"]


def load_experiment(path: str | Path) -> Experiment:
    """Load and validate one experiment file; raise its first problem as an InputError."""
    experiment, errors = _load(path)
    if errors or experiment is None:
        raise errors[0]
    return experiment


def validate_files(paths: Sequence[str | Path]) -> list[InputError]:
    """Every problem of every file, each file's in document order; empty when all are valid."""
    return [error for path in paths for error in _load(path)[1]]


def _load(path: str | Path) -> tuple[Experiment | None, list[InputError]]:
    name = str(path)
    try:
        return _load_file(Path(path), name)
    except InputError as exc:
        return None, [exc]
    except RecursionError:
        return None, [InputError(name, "", None, TOO_DEEP)]
    except Exception as exc:
        problem = f"cannot validate: unexpected {type(exc).__name__}: {exc}"
        return None, [InputError(name, "", None, problem)]


def _load_file(path: Path, name: str) -> tuple[Experiment | None, list[InputError]]:
    text = read_text(path, name)
    ctx = Ctx(name)
    doc = parse(text, path.suffix.lower() == ".json", ctx)
    if not isinstance(doc, dict):
        problem = f"the top level must be a mapping of experiment keys, got {describe(doc)}"
        ctx.err("", problem)
        return None, sorted(ctx.errors, key=lambda error: error.line or 0)
    faults = validate_document(ctx, doc)
    spec = chaosrun_spec(ctx, doc)
    if ctx.errors:
        return None, sorted(ctx.errors, key=lambda error: error.line or 0)
    experiment = Experiment(path, cast(str, doc["title"]), doc, spec, faults)
    return experiment, []
