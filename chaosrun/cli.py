"""chaosrun command line: the only place that prints errors and chooses exit codes.

Exit codes: 0 passed; 1 a hypothesis deviated or the run failed; 2 invalid input or usage;
3 target or lab unavailable; 4 aborted (deadline or safeguard); 130 interrupted by the user.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from chaosrun.errors import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    ChaosrunError,
)

if TYPE_CHECKING:
    from chaosrun.model import Experiment

__all__ = ["main"]

# Indented lines are a list (one exit code a line); the rest is reflowed to the terminal.
_EPILOG = """exit codes (after every fault was reverted and the journal written):
  0    passed
  1    not passed: not in steady state before injection, the method or a rollback
       failed, the hypothesis deviated, a verdict failed, or figures not trusted
  2    invalid input or usage (file:line: key path: what was expected)
  3    target or lab unavailable, or another run holds the lab
  4    aborted (a stop condition fired, Toxiproxy or the target became unreachable, or the
       deadline passed)
  130  interrupted by the user

State lives in $CHAOSRUN_HOME (default ~/.local/state/chaosrun)."""


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="chaosrun",
        description="Run Chaos Toolkit experiments under a supervisor that always reverts "
        "faults, against an embedded Toxiproxy lab or your own target.",
        epilog=_EPILOG,
    )
    from chaosrun import __version__

    parser.add_argument("--version", action="version", version=f"chaosrun {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = sub.add_parser(
        "validate",
        help="check experiment files strictly; one line per problem (exit 0 or 2)",
        description="Validate experiment files: unknown or misspelled keys, wrong types, bad "
        "tolerances, unknown faults and bad fault arguments are each reported on one line "
        "naming the file, line and key path (on a terminal, wrapped at words under its "
        "file:line). Exit 0 when all are valid, 2 otherwise.",
    )
    validate.add_argument("files", nargs="+", metavar="FILE")
    _allow_module(validate)
    _allow_shell(validate)

    run = sub.add_parser(
        "run",
        help="run one experiment (against the running lab, or an ephemeral one)",
        description="Run an experiment under the supervisor. Targets the lab started by "
        "'chaosrun lab up' when one is running, otherwise starts an ephemeral lab for this "
        "run and stops it afterwards. Every fault is reverted whatever happens to the run. "
        "Targets must be loopback (localhost, 127.0.0.0/8, ::1) unless allowed with "
        "--allow-target; --dry-run shows what would happen without doing any of it.",
        epilog=_EPILOG,
    )
    run.add_argument("file", metavar="FILE")
    run.add_argument("--json", action="store_true", help="print a machine summary as JSON")
    run.add_argument(
        "--journal",
        type=Path,
        metavar="PATH",
        help="also write the journal here (always in the run directory)",
    )
    run.add_argument(
        "--variant",
        metavar="NAME",
        help="lab variant to run against (starts an ephemeral lab if the running "
        "lab is a different variant)",
    )
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="validate, then print what would be injected where (each fault: proxy, toxic, "
        "Toxiproxy API, listen and upstream addresses), the probes, load, safeguards and "
        "deadline (with --json: the plan as JSON), and exit 0; touches nothing: starts no "
        "lab or process, changes no proxy, "
        "writes no run directory, lock or journal. A running lab is only read (GET); an "
        "explicit service_url/toxiproxy_url target is not contacted at all",
    )
    run.add_argument(
        "--allow-target",
        action="append",
        default=[],
        metavar="HOST",
        help="allow this non-loopback host (repeatable). Without it, an explicit target's "
        "service_url/toxiproxy_url and every HTTP provider URL must be localhost, "
        "127.0.0.0/8 or ::1, else the run is refused (exit 2). Names are compared as "
        "written, never resolved",
    )
    _allow_module(run)
    _allow_shell(run)

    lab = sub.add_parser(
        "lab",
        help="start, stop or inspect the embedded lab",
        description="The embedded lab: a Toxiproxy server and a small "
        "streaming app (gateway + catalog, recommendations, auth), every "
        "dependency behind its own proxy, all on free ports of 127.0.0.1.",
    )
    lab_sub = lab.add_subparsers(dest="lab_command", required=True, metavar="ACTION")
    up = lab_sub.add_parser("up", help="start the lab in the background")
    up.add_argument(
        "--variant",
        default="healthy",
        help="healthy (default) or a variant that switches one resilience pattern "
        "off: no-breaker, no-timeout, no-bulkhead, no-retry-cap, no-fallback, "
        "breaker-never-closes, timeout-too-long",
    )
    up.add_argument("--json", action="store_true", help="print the endpoints as JSON")
    lab_sub.add_parser("down", help="stop every lab process by PID")
    status = lab_sub.add_parser("status", help="show whether the lab runs, and its endpoints")
    status.add_argument(
        "--json",
        action="store_true",
        help="print the endpoints (Toxiproxy API URL, each proxy) as JSON",
    )

    cleanup = sub.add_parser(
        "cleanup",
        help="revert faults left by runs whose supervisor died",
        description="Find runs whose supervisor is gone, stop their workers and ephemeral "
        "labs, and replay their undo logs so no fault outlives them.",
    )
    cleanup.add_argument("--json", action="store_true", help="print what was done as JSON")
    for command in (validate, run, cleanup, *lab_sub.choices.values()):
        command.set_defaults(command_parser=command)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # said by the subcommand, with its own usage (not the top-level one)
        (getattr(args, "command_parser", None) or parser).error(
            f"unrecognized arguments: {' '.join(unknown)}"
        )
    try:
        if args.command == "validate":
            return _validate(args.files, args.allow_module, args.allow_shell)
        if args.command == "run":
            return _run(args)
        if args.command == "lab":
            return _lab(args)
        return _cleanup(args)
    except ChaosrunError as exc:
        _error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        _error("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # stdout closed early (e.g. piped into `head`): not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def _validate(files: list[str], allowed_modules: list[str], allow_shell: bool) -> int:
    from chaosrun.load import check_files

    reports = check_files(files, allowed_modules, allow_shell=allow_shell)
    errors = [error for report in reports for error in report.errors]
    for warning in (warning for report in reports for warning in report.warnings):
        _error(str(warning), prefix=_WARNING)
    for error in errors:
        _error(str(error))
    bad = {e.file for e in errors}
    for name in files:
        if name not in bad:
            print(f"ok {name}")
    return EXIT_USAGE if errors else EXIT_OK


class _Parser(argparse.ArgumentParser):
    """argparse with chaosrun's help layout, and usage errors printed like chaosrun's others."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from chaosrun.report.wrap import HelpFormatter

        kwargs.setdefault("formatter_class", HelpFormatter)
        # No abbreviations: `--var foo=1` (chaos run's option) must not become `--variant foo=1`.
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        _error(f"{self.prog}: error: {message}", prefix="")
        self.exit(EXIT_USAGE)


def _allow_module(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--allow-module",
        action="append",
        default=[],
        metavar="PREFIX",
        help="let python providers use modules under this prefix (repeatable). Without it "
        "they may use chaosrun, chaoslib and installed Chaos Toolkit extensions only; os, "
        "subprocess, shutil, builtins and the like are never allowed",
    )


def _allow_shell(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--allow-shell",
        action="store_true",
        help="let process providers' string arguments use shell syntax (pipes, redirections, "
        "$(...), globs...) and run them through /bin/sh as Chaos Toolkit does. Without it "
        "such strings are refused; strings without shell syntax are split and run without "
        "a shell",
    )


_WARNING = "chaosrun: warning: "


def _error(message: str, prefix: str = "chaosrun: ") -> None:
    """One problem on stderr: one greppable line (`file:line: key path: what`), or, on a
    terminal, wrapped at words with the location on the first line and the rest indented."""
    from chaosrun.report.wrap import error_lines, tty_columns

    text = prefix + message
    terminal = tty_columns(sys.stderr)
    print(text if terminal is None else "\n".join(error_lines(text, terminal - 1)), file=sys.stderr)


def _home() -> Path:
    from chaosrun.engine.rundir import chaosrun_home

    return chaosrun_home()


def _run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from chaosrun.engine.allow import find_violations, parse_allowed, refusals
    from chaosrun.engine.supervisor import supervise
    from chaosrun.lab.variants import VARIANT_NAMES
    from chaosrun.load import load_experiment
    from chaosrun.report.console import LiveConsole, render_verdict
    from chaosrun.report.summary import summarise_run

    if args.variant is not None and args.variant not in VARIANT_NAMES:
        _error(f"--variant: unknown variant {args.variant!r}; known: {', '.join(VARIANT_NAMES)}")
        return EXIT_USAGE
    allowed = parse_allowed(args.allow_target)
    if args.dry_run and args.journal is not None:
        _error("--journal: a dry run writes no journal")
        return EXIT_USAGE
    experiment = load_experiment(args.file, args.allow_module, args.allow_shell)
    for warning in experiment.warnings:
        _error(str(warning), prefix=_WARNING)
    refused = refusals(experiment, find_violations(experiment, allowed, os.environ))
    for error in refused:
        _error(str(error))
    if refused:
        return EXIT_USAGE
    if args.dry_run:
        return _dry_run(experiment, args.variant, args.json)
    console = Console(stderr=args.json, highlight=False)
    if not args.json:
        console.print(f"[bold]chaosrun[/] {experiment.title}  [dim]({args.file})[/]")
    on_event = LiveConsole(console) if not args.json else (lambda event: None)
    outcome = supervise(experiment, _home(), args.journal, args.variant, on_event)
    code = outcome.verdict.exit_code
    summary = summarise_run(outcome.journal, code, str(outcome.journal_path))
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
    else:
        render_verdict(console, summary)
    return code


def _dry_run(experiment: Experiment, variant: str | None, as_json: bool) -> int:
    from dataclasses import replace

    from chaosrun.engine.plan import build_plan
    from chaosrun.engine.redact import Redactor
    from chaosrun.engine.target import view_target
    from chaosrun.report.plan import plan_data, plan_lines, plan_text
    from chaosrun.report.wrap import columns

    redactor = Redactor.for_experiment(experiment.document, os.environ)
    # Planned from a masked document too: a secret too short to be masked inside a line
    # (redact.MIN_SUBSTRING_LEN) is still masked where it is a whole argument value.
    masked = replace(experiment, document=redactor.data(experiment.document))
    plan = build_plan(masked, view_target(experiment, _home(), variant))
    if as_json:
        print(json.dumps(redactor.data(plan_data(plan)), indent=2, default=str))
    else:
        masked_lines = redactor.text("\n".join(plan_lines(plan))).splitlines()
        print(plan_text(masked_lines, columns(sys.stdout) - 1))
    return EXIT_OK


def _lab(args: argparse.Namespace) -> int:
    from chaosrun.engine.lock import holder
    from chaosrun.engine.target import running_lab
    from chaosrun.errors import LabError, TargetBusy
    from chaosrun.lab.lab import lab_down, lab_up, load_lab_info

    home = _home()
    if args.lab_command == "up":
        existing = running_lab(home)
        if existing is not None:
            raise LabError(
                f"a lab is already running ({existing.variant}) with API "
                f"{existing.toxiproxy_url}; run 'chaosrun lab down' first"
            )
        stale = load_lab_info(home / "lab")
        if stale is not None:
            lab_down(stale)
        started = lab_up(home / "lab", args.variant)
        _print_endpoints(started.endpoints(), args.json, "lab up")
        return EXIT_OK
    if args.lab_command == "down":
        recorded = load_lab_info(home / "lab")
        if recorded is None:
            print("no lab running")
            return EXIT_OK
        in_use_by = holder(recorded.toxiproxy_url)
        if in_use_by is not None:
            raise TargetBusy(
                f"the lab is in use by {in_use_by}; stop that run first (Ctrl-C), "
                "then 'chaosrun lab down'"
            )
        left = lab_down(recorded)
        if left:
            raise LabError(f"lab stopped but ports still listening: {left}")
        print("lab down: every process stopped, no port left listening")
        return EXIT_OK
    info = running_lab(home)
    if info is None:
        if args.json:
            print(json.dumps({"running": False}))
        else:
            print("no lab running (start one with 'chaosrun lab up')")
        return EXIT_OK
    _print_endpoints(info.endpoints(), args.json, "lab running")
    return EXIT_OK


def _print_endpoints(endpoints: dict[str, Any], as_json: bool, heading: str) -> None:
    if as_json:
        print(json.dumps({"running": True, **endpoints}, indent=2))
        return
    print(f"{heading}: variant {endpoints['variant']}")
    print(f"  service      {endpoints['service_url']}")
    print(f"  toxiproxy    {endpoints['toxiproxy_api']}")
    for name, proxy in endpoints["proxies"].items():
        print(f"  proxy {name:<14} {proxy['listen']} -> {proxy['upstream']}")
    print(f"  logs         {endpoints['directory']}/logs")


def _cleanup(args: argparse.Namespace) -> int:
    from chaosrun.engine.reconcile import reconcile_dead_runs

    results = reconcile_dead_runs(_home())
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "run_dir": str(r.run_dir),
                        "active": r.active,
                        "reverted": r.reverted,
                        "errors": list(r.errors),
                        "stopped_lab": r.stopped_lab,
                        "pending": r.pending,
                    }
                    for r in results
                ],
                indent=2,
            )
        )
    elif not results:
        print("nothing to clean up")
    for r in results:
        if not args.json and r.pending:
            print(
                f"not yet: {r.run_dir}: {r.pending} fault(s) still in place, its Toxiproxy does "
                "not answer; run 'chaosrun cleanup' again once it does"
            )
        elif not args.json:
            print(
                f"reconciled {r.run_dir}: {r.active} fault(s) were active, all reverted"
                f"{', ephemeral lab stopped' if r.stopped_lab else ''}"
            )
        for error in r.errors:
            _error(f"{r.run_dir}: {error}")
    return EXIT_OK if all(not r.errors for r in results) else 3
