"""pytest plugin: experiment files as test items, one per verdict; fixtures to run experiments.

`pytest experiments/` (or naming files) collects every experiment file there: one item per
steady-state phase, one per declared verdict (`chaosrun.checks.evaluate.declared_verdicts`) and
one for the run's verdict. The experiment runs once (as `chaosrun run --json --own-lab`, on a
lab of its own) the first time one of its items needs it, shared by the others and across
pytest-xdist workers (`chaosrun.testing.SharedRuns`), so `-n` and `--junitxml` work as usual.
A verdict that could not be judged is skipped with its reason (never a pass) and the run's
item fails. Files are collected only when named on the command line (a file, or a directory
holding it) or under a directory listed in the `chaosrun_experiments` ini option: a plain
`pytest` in a project that has YAML fixtures runs no experiment by surprise.

Fixtures: `chaosrun_run(file, variant=None, lab=None)` -> `chaosrun.testing.RunResult`
(`.passed`, `.verdicts`, `.rto_s`, `.ttd_s`, ...), and `chaosrun_lab`, a lab for the session.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from chaosrun.testing import Lab, RunResult, SharedRuns, start_lab

__all__ = ["ExperimentFailure", "ExperimentFile", "ExperimentItem"]

_RUNS = pytest.StashKey[SharedRuns]()
_SUFFIXES = (".yaml", ".yml", ".json")
RUN_ITEM = "run_verdict"


class ExperimentFailure(Exception):
    """A verdict that did not pass: reported as its one sentence, without a traceback."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("chaosrun", "chaosrun experiments as tests")
    group.addoption(
        "--chaosrun-variant",
        metavar="NAME",
        default=None,
        help="run collected experiments against this lab variant",
    )
    parser.addini(
        "chaosrun_experiments",
        type="paths",
        help="directories whose experiment files are collected even when not named",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "chaosrun: an item of a chaosrun experiment file")
    worker = getattr(config, "workerinput", None)
    if worker:
        uid = worker["testrunuid"]
    else:  # pytest-xdist's workers get this id too: one shared directory for the session
        uid = getattr(config.option, "testrunuid", None) or uuid.uuid4().hex
        if hasattr(config.option, "testrunuid"):
            config.option.testrunuid = uid
    from chaosrun.engine.rundir import chaosrun_home

    directory = Path(tempfile.gettempdir()) / f"chaosrun-pytest-{uid}"
    config.stash[_RUNS] = SharedRuns(directory, chaosrun_home())


def pytest_unconfigure(config: pytest.Config) -> None:
    runs = config.stash.get(_RUNS, None)
    if runs is not None and getattr(config, "workerinput", None) is None:
        shutil.rmtree(runs.directory, ignore_errors=True)


def _requested(config: pytest.Config, path: Path) -> bool:
    named = [Path(str(arg).split("::")[0]) for arg in config.invocation_params.args]
    roots = [
        (config.invocation_params.dir / p).resolve() for p in named if not str(p).startswith("-")
    ]
    roots += [Path(p).resolve() for p in config.getini("chaosrun_experiments")]
    target = path.resolve()
    return any(target == root or root in target.parents for root in roots)


def _looks_like_experiment(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    return isinstance(data, dict) and "method" in data and "title" in data


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix not in _SUFFIXES or not _requested(parent.config, file_path):
        return None
    if not _looks_like_experiment(file_path):
        return None
    return ExperimentFile.from_parent(parent, path=file_path)  # type: ignore[no-any-return]


class ExperimentFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        from chaosrun.checks.evaluate import declared_verdicts
        from chaosrun.errors import InputError
        from chaosrun.load import load_experiment

        try:
            experiment = load_experiment(self.path)
        except InputError as exc:
            raise self.CollectError(str(exc)) from None
        hypothesis = experiment.document.get("steady-state-hypothesis") or {}
        names = []
        if isinstance(hypothesis, dict) and hypothesis.get("probes"):
            names += ["steady_state[before]", "steady_state[after]"]
        names += declared_verdicts(experiment.chaosrun)
        for name in [*names, RUN_ITEM]:
            yield ExperimentItem.from_parent(self, name=name)


class ExperimentItem(pytest.Item):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_marker("chaosrun")

    def runtest(self) -> None:
        variant = self.config.getoption("chaosrun_variant")
        result = self.config.stash[_RUNS].get(self.path, variant)
        if self.name == RUN_ITEM:
            if not result.passed:
                raise ExperimentFailure(f"{result.verdict}: {result.reason}")
            return
        if self.name.startswith("steady_state["):
            phase = self.name[len("steady_state[") : -1]
            met = result.steady_state.get(phase)
            if met is None:
                pytest.skip(f"the hypothesis was not checked {phase}: {result.reason}")
            if met is False:
                raise ExperimentFailure(f"not met {phase}: {result.reason}")
            return
        verdict = result.verdicts.get(self.name)
        if verdict is None:
            raise ExperimentFailure(
                f"the run did not judge {self.name} ({result.verdict}: {result.reason})"
            )
        if verdict.status == "not-judged":
            pytest.skip(verdict.observed)
        if not verdict.passed:
            raise ExperimentFailure(f"observed {verdict.observed}; expected {verdict.expected}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, ExperimentFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"{self.path.name}::{self.name}"


@pytest.fixture
def chaosrun_run(request: pytest.FixtureRequest) -> Callable[..., RunResult]:
    """`chaosrun_run(file, variant=None, lab=None)`: the measured result of running `file`
    (once per session for the same arguments: items of that file share it)."""
    runs = request.config.stash[_RUNS]

    def run(file: str | Path, variant: str | None = None, lab: Lab | None = None) -> RunResult:
        return runs.get(file, variant, lab)

    return run


@pytest.fixture(scope="session")
def chaosrun_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A healthy lab for the session, in a home of its own (stopped at the end)."""
    lab = start_lab(tmp_path_factory.mktemp("chaosrun-lab"))
    try:
        yield lab
    finally:
        lab.stop()
