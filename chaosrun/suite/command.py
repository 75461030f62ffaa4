"""`chaosrun suite`: collect, run and report a suite (printing is the caller's).

The reports (JUnit, Markdown, HTML) are written even when the suite was interrupted: a nightly
job that was cancelled still publishes what it found.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from chaosrun.admission.burn import Admission
from chaosrun.admission.sources import admit as admit_on
from chaosrun.admission.spec import BudgetPolicy, load_budget
from chaosrun.atomic import write_atomic
from chaosrun.errors import InputError, UsageError
from chaosrun.history.store import read_history
from chaosrun.history.trends import RegressionPolicy, regressions
from chaosrun.suite.collect import SuiteEntry, collect
from chaosrun.suite.results import ExperimentResult, SuiteResult
from chaosrun.suite.runner import StopFlag, SuiteConfig, Update, run_suite

__all__ = [
    "SuiteRequest",
    "execute",
    "prepare_suite",
    "suite_dir",
    "suite_regressions",
    "write_reports",
]

_PUBLISHED = 0o644  # CI publishes reports as artefacts


@dataclass(frozen=True, slots=True)
class SuiteRequest:
    paths: tuple[str, ...]
    parallel: int = 1
    junit: Path | None = None
    html: Path | None = None
    markdown: Path | None = None
    allow_targets: tuple[str, ...] = ()
    allowed_modules: tuple[str, ...] = ()
    allow_shell: bool = False
    fail_on_regression: bool = False
    regression_margin: float = 0.25
    budget: Path | None = None  # the error-budget file (chaosrun.admission.spec)
    recheck: bool = True
    name: str = "chaosrun suite"
    run_args: tuple[str, ...] = field(default=())

    def child_args(self) -> tuple[str, ...]:
        args: list[str] = []
        for host in self.allow_targets:
            args += ["--allow-target", host]
        for module in self.allowed_modules:
            args += ["--allow-module", module]
        if self.allow_shell:
            args.append("--allow-shell")
        return (*args, *self.run_args)


def prepare_suite(
    request: SuiteRequest,
) -> tuple[list[SuiteEntry], list[InputError], BudgetPolicy | None]:
    """The entries, every problem of every file (the budget file's too), the budget policy."""
    if request.parallel < 1:
        raise UsageError(f"--parallel: expected a whole number >= 1, got {request.parallel}")
    if request.regression_margin < 0:
        raise UsageError(f"--regression-margin: expected >= 0, got {request.regression_margin}")
    entries, problems = collect(request.paths, request.allowed_modules, request.allow_shell)
    budget = None
    if request.budget is not None:
        try:
            budget = load_budget(request.budget)
        except InputError as exc:
            problems.append(exc)
    return entries, problems, budget


def suite_dir(home: Path) -> Path:
    """A new directory for one suite's child logs under $CHAOSRUN_HOME/suites."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    base = home / "suites"
    base.mkdir(parents=True, exist_ok=True)
    for n in range(1000):
        candidate = base / (stamp if n == 0 else f"{stamp}-{n}")
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate
    raise UsageError(f"{base}: cannot create a suite directory")


def execute(
    request: SuiteRequest,
    entries: Sequence[SuiteEntry],
    home: Path,
    log_dir: Path,
    stop: StopFlag,
    on_update: Update,
    budget: BudgetPolicy | None = None,
    config: SuiteConfig | None = None,
) -> SuiteResult:
    from chaosrun.history.store import SUITE_ID_ENV

    admit = None
    if budget is not None:
        policy = budget

        def admit(entry: SuiteEntry) -> Admission | None:
            return admit_on(policy, entry.target, home)

    config = config or SuiteConfig(
        request.parallel,
        log_dir,
        request.child_args(),
        environ={SUITE_ID_ENV: log_dir.name},
        admit=admit,
        recheck=request.recheck,
    )
    suite = run_suite(entries, config, stop, on_update)
    margin = RegressionPolicy(margin=request.regression_margin)
    return replace(
        suite,
        regressions=tuple(suite_regressions(home, suite.results, margin)),
        fail_on_regression=request.fail_on_regression,
    )


def suite_regressions(
    home: Path, results: Sequence[ExperimentResult], policy: RegressionPolicy
) -> list[str]:
    """Each run of the suite against the same experiment's earlier runs in the history."""
    found: list[str] = []
    for result in results:
        run_id = (result.summary or {}).get("run_id")
        if not run_id:
            continue
        rows = read_history(home, Path(result.file).name)
        current = [r for r in rows if r.run_id == run_id]
        if current:
            earlier = [r for r in rows if r.run_id != run_id]
            found += regressions(current[0], earlier, policy)
    return found


def write_reports(request: SuiteRequest, suite: SuiteResult) -> list[str]:
    """Write every report asked for; their paths, for the summary."""
    from chaosrun.report.junit import junit_xml
    from chaosrun.report.markdown import suite_markdown

    written: list[str] = []
    if request.junit is not None:
        write_atomic(request.junit, junit_xml(suite, request.name), _PUBLISHED)
        written.append(f"JUnit XML: {request.junit}")
    if request.html is not None:
        from chaosrun.report.html import suite_html

        write_atomic(request.html, suite_html(suite, request.name), _PUBLISHED)
        written.append(f"HTML report: {request.html}")
    if request.markdown is not None:
        write_atomic(
            request.markdown, suite_markdown(suite, [w.split(": ", 1)[1] for w in written])
        )
        written.append(f"Markdown summary: {request.markdown}")
    return written
