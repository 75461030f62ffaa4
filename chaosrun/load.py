"""Load experiment files (YAML or JSON) with line numbers, validate them strictly, parse the model.

`load_experiment` raises the first problem (in document order) as an `InputError`;
`validate_files` returns every problem of every file, `check_files` their warnings too (keys
Chaos Toolkit ignores: reported, never a reason to refuse a file). None raises anything else,
nor prints, whatever the file holds (tests/unit/test_hostile_input.py): every message is one
printable line, and reading is bounded (MAX_BYTES, MAX_DEPTH, MAX_SOURCE_NODES, MAX_NODES,
MAX_CHARS). Reading lives in `chaosrun.schema.source` and `chaosrun.schema.yamlmap`,
validation in the rest of `chaosrun.schema`; this module only puts them together.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import cast

from chaosrun.errors import InputError
from chaosrun.model import Experiment
from chaosrun.schema.common import MAX_ERRORS, Ctx, TooManyErrors, describe
from chaosrun.schema.document import validate_document
from chaosrun.schema.extension import chaosrun_spec
from chaosrun.schema.preflight import check_preflight
from chaosrun.schema.reserved import check_reserved_keys
from chaosrun.schema.source import MAX_BYTES, read_text
from chaosrun.schema.steps import build_steps, needs_target
from chaosrun.schema.yamlmap import MAX_CHARS, MAX_DEPTH, MAX_NODES, MAX_SOURCE_NODES, parse

__all__ = [
    "MAX_BYTES",
    "MAX_CHARS",
    "MAX_DEPTH",
    "MAX_NODES",
    "MAX_SOURCE_NODES",
    "FileReport",
    "check_files",
    "load_experiment",
    "validate_files",
]

_MAX_EXPECTED = 1000  # characters of a message; a 1 MiB key stays a readable line
_MAX_KEY_PATH = 300


@dataclass(frozen=True, slots=True)
class FileReport:
    """One file's problems: errors refuse it, warnings (keys Chaos Toolkit ignores) do not."""

    file: str
    errors: tuple[InputError, ...]
    warnings: tuple[InputError, ...]


def load_experiment(
    path: str | Path,
    allowed_modules: Sequence[str] = (),
    allow_shell: bool = False,
    given_configuration: Collection[str] = (),
) -> Experiment:
    """Load and validate one experiment file; raise its first problem as an InputError.

    `allowed_modules`: module prefixes python providers may name beyond chaosrun's, chaoslib's
    and installed Chaos Toolkit extensions' (`chaosrun.schema.modules`). `allow_shell`: process
    arguments may use shell syntax (`chaosrun.schema.shell`). Warnings are in
    `Experiment.warnings`. `given_configuration`: configuration keys the command line sets
    (`--var`, `--var-file`), which need no environment variable, as in `chaos run`."""
    experiment, errors, _ = _load(
        path, tuple(allowed_modules), allow_shell, frozenset(given_configuration)
    )
    if errors or experiment is None:
        raise errors[0]
    return experiment


def validate_files(
    paths: Sequence[str | Path], allowed_modules: Sequence[str] = (), *, allow_shell: bool = False
) -> list[InputError]:
    """Every problem of every file, each file's in document order; empty when all are valid."""
    reports = check_files(paths, allowed_modules, allow_shell=allow_shell)
    return [error for report in reports for error in report.errors]


def check_files(
    paths: Sequence[str | Path], allowed_modules: Sequence[str] = (), *, allow_shell: bool = False
) -> list[FileReport]:
    """Each file's errors and warnings, in document order, one report per path in order."""
    reports = []
    for path in paths:
        _, errors, warnings = _load(path, tuple(allowed_modules), allow_shell)
        reports.append(FileReport(str(path), tuple(errors), tuple(warnings)))
    return reports


def _load(
    path: str | Path,
    allowed_modules: tuple[str, ...],
    allow_shell: bool,
    given_configuration: frozenset[str] = frozenset(),
) -> tuple[Experiment | None, list[InputError], list[InputError]]:
    name = str(path)
    ctx = Ctx(
        name,
        allowed_modules=allowed_modules,
        allow_shell=allow_shell,
        given_configuration=given_configuration,
    )
    try:
        experiment, errors = _load_file(Path(path), ctx)
    except InputError as exc:
        experiment, errors = None, [exc]
    except Exception as exc:  # a bug, not the user's: still one line, exit 2
        problem = f"cannot validate: unexpected {type(exc).__name__}: {exc}"
        experiment, errors = None, [InputError(name, "", None, problem)]
    warnings = [_one_line(warning) for warning in _by_line(ctx.warnings)]
    if ctx.unlisted_warnings:
        more = f"{ctx.unlisted_warnings} more warnings, not listed"
        warnings.append(InputError(name, "", None, more))
    if experiment is not None and warnings:
        experiment = replace(experiment, warnings=tuple(warnings))
    return experiment, [_one_line(error) for error in errors], warnings


def _by_line(problems: list[InputError]) -> list[InputError]:
    return sorted(problems, key=lambda problem: problem.line or 0)


def _one_line(error: InputError) -> InputError:
    """The error with control, bidi-override and surrogate characters escaped, long parts cut.

    `file` stays the name as given (the CLI matches errors to its arguments by it); only the
    message shows it escaped."""
    file, key_path = _printable(error.file), _clip(_printable(error.key_path), _MAX_KEY_PATH)
    expected = _clip(_printable(error.expected), _MAX_EXPECTED)
    if (file, key_path, expected) == (error.file, error.key_path, error.expected):
        return error
    clean = InputError(file, key_path, error.line, expected)
    clean.file = error.file
    return clean


def _printable(text: str) -> str:
    if text.isprintable():
        return text
    return "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
        for char in text
    )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _load_file(path: Path, ctx: Ctx) -> tuple[Experiment | None, list[InputError]]:
    name = ctx.file
    text = read_text(path, name)
    try:
        return _check(path, text, ctx)
    except TooManyErrors:
        stop = InputError(
            name, "", None, f"too many problems: stopped after the first {MAX_ERRORS}"
        )
        return None, [*_by_line(ctx.errors), stop]


def _check(path: Path, text: str, ctx: Ctx) -> tuple[Experiment | None, list[InputError]]:
    doc = parse(text, path.suffix.lower() == ".json", ctx)
    if not isinstance(doc, dict):
        problem = f"the top level must be a mapping of experiment keys, got {describe(doc)}"
        ctx.err("", problem)
        return None, _by_line(ctx.errors)
    faults = validate_document(ctx, doc)
    spec = chaosrun_spec(ctx, doc)
    check_reserved_keys(ctx, doc)
    check_preflight(ctx, doc, spec)  # what validates, runs (chaosrun.schema.preflight)
    if ctx.errors:
        return None, _by_line(ctx.errors)
    steps = build_steps(doc, ctx.lines)
    lines = MappingProxyType(dict(ctx.lines))
    experiment = Experiment(
        path, cast(str, doc["title"]), doc, spec, faults, steps, lines, needs_target(doc, steps)
    )
    return experiment, []
