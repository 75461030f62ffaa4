"""The command line's arguments for the newer commands and the options several commands share:
definitions only (argparse); `chaosrun.cli` parses, dispatches, prints and exits."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, cast

__all__ = [
    "SUITE_EPILOG",
    "add_allow_module",
    "add_allow_shell",
    "add_chaos_run_options",
    "add_gameday_parser",
    "add_json_option",
    "add_suite_parser",
]

SUITE_EPILOG = """exit codes (after every experiment reverted its faults):
  0    every experiment passed
  1    an experiment failed or could not be judged ("not judged" never passes)
  2    invalid input or usage: nothing ran
  3    an experiment could not reach its target or lab
  4    an experiment was aborted (stop condition, deadline) and none failed
  5    some experiments were skipped by error-budget admission, none failed
  130  interrupted by the user

Each experiment's own output is in $CHAOSRUN_HOME/suites/<time>/."""


def add_json_option(command: argparse.ArgumentParser, what: str) -> None:
    command.add_argument(
        "--json",
        action="store_true",
        help=f"{what} on stdout, also for an error (docs/chaosrun-output.schema.json)",
    )


def add_gameday_parser(sub: Any) -> Any:
    gameday = sub.add_parser(
        "gameday",
        help="game days: run a plan as a guided, recorded session; report on it afterwards",
        description="Game days from a plan (gamedays/*.yaml): a guided session in the "
        "terminal, everything recorded to its timeline; a killed session resumes where it "
        "stopped. See gamedays/README.md. Exit codes of 'gameday run': 0 every scenario "
        "was run or skipped; 1 the session was stopped early or a checklist item was no-go; "
        "2 invalid plan; 3 another process runs this session; 130 interrupted (the running "
        "scenario's faults reverted; run it again to resume).",
    )
    actions = gameday.add_subparsers(dest="gameday_command", required=True, metavar="ACTION")
    run = actions.add_parser(
        "run",
        help="run (or resume) a plan's session",
        description="Run a game-day plan: confirm the go/no-go checklist, then per scenario "
        "the briefing, the injection, a live panel, observations and marks, and the result. "
        "An unfinished session of the same plan whose process is gone is resumed.",
    )
    run.add_argument("plan", metavar="PLAN")
    run.add_argument(
        "--rehearsal",
        action="store_true",
        help="no prompts: every item confirmed, every scenario injected (a dry run the week "
        "before, and CI)",
    )
    run.add_argument("--new", action="store_true", help="start a new session, never resume")
    run.add_argument(
        "--no-observer",
        action="store_true",
        help="do not serve the observers' read-only page (default: on a free port of 127.0.0.1)",
    )
    report = actions.add_parser(
        "report", help="Markdown and self-contained HTML report of a session"
    )
    report.add_argument("session", metavar="SESSION_DIR")
    report.add_argument("--html", type=Path, metavar="PATH", help="default SESSION_DIR/report.html")
    report.add_argument(
        "--markdown", type=Path, metavar="PATH", help="default SESSION_DIR/report.md"
    )
    check = actions.add_parser("validate", help="check plans strictly (exit 0 or 2)")
    check.add_argument("plans", nargs="+", metavar="PLAN")
    return actions


def add_suite_parser(sub: Any) -> argparse.ArgumentParser:
    suite = sub.add_parser(
        "suite",
        help="run many experiments, each on a lab of its own; JUnit, HTML and Markdown reports",
        description="Run every experiment of the directories and files given, each as its own "
        "'chaosrun run' on an ephemeral lab of its own (own ports, own Toxiproxy), up to "
        "--parallel at once; experiments with an explicit target share it one at a time. "
        "Every file is validated first: one invalid file and nothing runs (exit 2). Ctrl-C "
        "interrupts every running experiment (each reverts its faults) and skips the rest.",
        epilog=SUITE_EPILOG,
    )
    suite.add_argument("paths", nargs="+", metavar="DIR|FILE")
    suite.add_argument(
        "--parallel",
        type=int,
        default=1,
        metavar="N",
        help="experiments running at once (default 1); each has its own lab and load process",
    )
    for option, what in (
        ("--junit", "JUnit XML: one testcase per verdict"),
        ("--html", "a self-contained HTML report with charts"),
        ("--markdown", "the summary as Markdown (for a CI job summary)"),
    ):
        suite.add_argument(option, type=Path, metavar="PATH", help=f"write {what} here")
    add_json_option(suite, "print the suite's results as one JSON document")
    suite.add_argument(
        "--regression-margin",
        type=float,
        default=0.25,
        metavar="FRACTION",
        help="flag a run whose RTO, TTD or error budget burned is worse than the median of its "
        "last 7 runs in the history by more than this (default 0.25: 25 %%; needs 3 earlier "
        "runs, and 0.1 s or 10 points of budget more)",
    )
    suite.add_argument(
        "--budget",
        type=Path,
        metavar="FILE",
        help="error-budget admission: before each experiment, the budget left and the fast "
        "and slow burn rates of its target's SLO (from the run history, or Prometheus); an "
        "experiment whose budget is spent or burning too fast is skipped with the reason "
        "(exit 5 when nothing else went wrong). File format: see the README",
    )
    suite.add_argument(
        "--no-recheck",
        action="store_true",
        help="do not run again alone an experiment that failed beside others while the host's "
        "CPU was saturated (by default its result alone is the one that counts)",
    )
    suite.add_argument(
        "--fail-on-regression",
        action="store_true",
        help="a regression fails the suite (exit 1); without it, it is only reported",
    )
    suite.add_argument(
        "--allow-target",
        action="append",
        default=[],
        metavar="HOST",
        help="passed to each run (see 'chaosrun run --help')",
    )
    add_allow_module(suite)
    add_allow_shell(suite)
    return cast(argparse.ArgumentParser, suite)


def add_chaos_run_options(run: argparse.ArgumentParser) -> None:
    """`chaos run`'s own options, with its names and meanings."""
    run.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="KEY[:TYPE]=VALUE",
        help="set a configuration value, as chaos run does (TYPE: str, int, float, bool, "
        "json; repeatable; wins over --var-file)",
    )
    run.add_argument(
        "--var-file",
        action="append",
        default=[],
        metavar="FILE",
        help="configuration and secrets from a YAML/JSON file ('configuration' and 'secrets' "
        "mappings), or environment variables from a .env file (repeatable)",
    )
    run.add_argument(
        "--rollback-strategy",
        choices=("default", "always", "never", "deviated"),
        metavar="STRATEGY",
        help="when the experiment's rollbacks run, as in chaos run: default, always, never "
        "or deviated (default: the experiment's runtime.rollbacks.strategy, else always). "
        "Faults chaosrun injected are reverted whatever this says",
    )
    run.add_argument(
        "--hypothesis-strategy",
        choices=(
            "default",
            "before-method-only",
            "after-method-only",
            "during-method-only",
            "continuously",
        ),
        metavar="STRATEGY",
        help="when the steady-state hypothesis is checked, as in chaos run: default, "
        "before-method-only, after-method-only, during-method-only or continuously (default: "
        "the experiment's runtime.hypothesis.strategy, else default)",
    )
    run.add_argument(
        "--settings",
        metavar="FILE",
        help="a Chaos Toolkit settings file; its runtime strategies and controls apply "
        "(unlike chaos run, ~/.chaostoolkit/settings.yaml is not read unless named here)",
    )


def add_allow_module(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--allow-module",
        action="append",
        default=[],
        metavar="PREFIX",
        help="let python providers use modules under this prefix (repeatable). Without it "
        "they may use chaosrun, chaoslib and installed Chaos Toolkit extensions only; os, "
        "subprocess, shutil, builtins and the like are never allowed",
    )


def add_allow_shell(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--allow-shell",
        action="store_true",
        help="let process providers' string arguments use shell syntax (pipes, redirections, "
        "$(...), globs...) and run them through /bin/sh as Chaos Toolkit does. Without it "
        "such strings are refused; strings without shell syntax are split and run without "
        "a shell",
    )
