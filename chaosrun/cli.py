"""chaosrun command line: the only place that prints errors and chooses exit codes.

Exit codes: 0 passed; 1 a hypothesis deviated or the run failed; 2 invalid input or usage;
3 target or lab unavailable; 4 aborted (deadline or safeguard); 130 interrupted by the user.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from chaosrun.cliargs import (
    add_allow_module,
    add_allow_shell,
    add_chaos_run_options,
    add_gameday_parser,
    add_json_option,
    add_suite_parser,
)
from chaosrun.errors import (
    EXIT_DEVIATED,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    ChaosrunError,
    UsageError,
)
from chaosrun.lab.variants import PROFILE_VARIANTS, TWO_REGION_VARIANTS, VARIANT_NAMES
from chaosrun.report.jsonout import (
    cleanup_document,
    error_document,
    lab_document,
    plan_document,
    run_document,
    validate_document,
)

if TYPE_CHECKING:
    from chaosrun.engine.options import RunOptions
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
    add_json_option(validate, "print every file's problems as one JSON document")
    add_allow_module(validate)
    add_allow_shell(validate)

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
    add_json_option(run, "print the run's summary as one JSON document")
    run.add_argument(
        "--journal-path",
        type=Path,
        metavar="PATH",
        help="also write the journal here (always in the run directory)",
    )
    add_chaos_run_options(run)
    run.add_argument(
        "--variant",
        metavar="NAME",
        help="lab variant to run against (starts an ephemeral lab if the running "
        "lab is a different variant)",
    )
    run.add_argument(
        "--own-lab",
        action="store_true",
        help="start an ephemeral lab for this run even when 'chaosrun lab up' runs one "
        "(what 'chaosrun suite' does for each experiment)",
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
    add_allow_module(run)
    add_allow_shell(run)

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
        help="healthy (default) or a variant that switches one defence off: "
        + ", ".join(VARIANT_NAMES[1:])
        + "; the two-region profile also has: "
        + ", ".join(TWO_REGION_VARIANTS)
        + "; the k8s profile has only: "
        + ", ".join(PROFILE_VARIANTS["k8s"]),
    )
    up.add_argument(
        "--profile",
        default="streaming",
        choices=tuple(PROFILE_VARIANTS),
        help="streaming (default): one region, gateway + dependencies; two-region: an edge "
        "with failover in front of regions a and b, each with the app, and a Redis primary "
        "(a), two replicas (b) and three Sentinels -- every link through its region's Toxiproxy; "
        "k8s: a Kubernetes control plane, kwok nodes in zones a and b, the gateway as a "
        "Deployment whose pods run real processes (needs 'make k8s-tools')",
    )
    add_json_option(up, "print the endpoints as one JSON document")
    lab_sub.add_parser("down", help="stop every lab process by PID")
    status = lab_sub.add_parser(
        "status",
        help="show whether the lab runs, and its endpoints",
        description="Show whether the lab runs, and its endpoints. Exit 0 when it runs, "
        "3 when it does not.",
    )
    add_json_option(status, "print the endpoints (Toxiproxy URL, each proxy) as one JSON document")

    suite = add_suite_parser(sub)
    gameday = add_gameday_parser(sub)
    history = sub.add_parser(
        "history",
        help="trends of RTO, TTD and error budget burned, per experiment and night",
        description="Every run is appended to $CHAOSRUN_HOME/history.sqlite3. Show, per "
        "experiment, one line per night (UTC day): runs, how many passed, and the medians of "
        "RTO, TTD and error budget burned, with an arrow against the night before.",
    )
    history.add_argument(
        "--experiment", metavar="NAME", help="only this experiment (its file name or stem)"
    )
    history.add_argument(
        "--nights", type=int, default=14, metavar="N", help="the last N nights (default 14)"
    )
    add_json_option(history, "print the trends as one JSON document")

    cleanup = sub.add_parser(
        "cleanup",
        help="revert faults left by runs whose supervisor died",
        description="Find runs whose supervisor is gone, stop their workers and ephemeral "
        "labs, and replay their undo logs so no fault outlives them.",
    )
    add_json_option(cleanup, "print what was done as one JSON document")
    for command in (
        validate,
        run,
        suite,
        history,
        cleanup,
        *lab_sub.choices.values(),
        *gameday.choices.values(),
    ):
        command.set_defaults(command_parser=command)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = _parser()
    try:
        args = _parse(parser, argv)
    except _BadUsage as exc:
        exc.parser.print_usage(sys.stderr)
        _error(f"{exc.parser.prog}: error: {exc}", prefix="")
        return _Output.after_bad_usage(exc.parser, argv).failed([UsageError(str(exc))])
    out = _Output.of(args)
    try:
        if args.command == "validate":
            return _validate(args.files, args.allow_module, args.allow_shell, out)
        if args.command == "run":
            return _run(args, out)
        if args.command == "lab":
            return _lab(args, out)
        if args.command == "suite":
            return _suite(args, out)
        if args.command == "history":
            return _history(args, out)
        if args.command == "gameday":
            return _gameday(args, out)
        return _cleanup(out)
    except ChaosrunError as exc:
        _error(str(exc))
        return out.failed([exc])
    except KeyboardInterrupt as exc:
        _error("interrupted")
        return out.failed([exc])
    except BrokenPipeError:
        # stdout closed early (e.g. piped into `head`): not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # said by the subcommand, with its own usage (not the top-level one)
        (getattr(args, "command_parser", None) or parser).error(
            f"unrecognized arguments: {' '.join(unknown)}"
        )
    return args


@dataclass(frozen=True, slots=True)
class _Output:
    """Where a command's outcome goes besides stderr: with --json, exactly one JSON document
    on stdout whatever happens (`chaosrun.report.jsonout`); without it, text for a person
    (printed by each command). Errors go to stderr as one line each either way."""

    command: str | None  # as typed after `chaosrun`: "run", "lab status"
    as_json: bool

    @classmethod
    def of(cls, args: argparse.Namespace) -> _Output:
        words = [
            args.command,
            getattr(args, "lab_command", None),
            getattr(args, "gameday_command", None),
        ]
        return cls(" ".join(w for w in words if w), bool(getattr(args, "json", False)))

    @classmethod
    def after_bad_usage(cls, parser: argparse.ArgumentParser, argv: list[str]) -> _Output:
        """The arguments did not parse: --json counts wherever it was written."""
        command = parser.prog.removeprefix("chaosrun").strip() or None
        return cls(command, "--json" in argv)

    def document(self, document: dict[str, Any]) -> None:
        print(json.dumps(document, indent=2, default=str))

    def failed(self, errors: Sequence[ChaosrunError | KeyboardInterrupt]) -> int:
        """The command stopped on `errors` (already said on stderr): their JSON document, if
        asked for; the exit code is the first error's."""
        document = error_document(self.command, errors)
        if self.as_json:
            self.document(document)
        return int(document["exit_code"])


def _validate(files: list[str], allowed_modules: list[str], allow_shell: bool, out: _Output) -> int:
    from chaosrun.load import check_files

    reports = check_files(files, allowed_modules, allow_shell=allow_shell)
    errors = [error for report in reports for error in report.errors]
    warnings = [warning for report in reports for warning in report.warnings]
    for warning in warnings:
        _error(str(warning), prefix=_WARNING)
    for error in errors:
        _error(str(error))
    code = EXIT_USAGE if errors else EXIT_OK
    if out.as_json:
        out.document(validate_document(files, errors, code, warnings))
        return code
    bad = {e.file for e in errors}
    for name in files:
        if name not in bad:
            print(f"ok {name}")
    return code


class _Parser(argparse.ArgumentParser):
    """argparse with chaosrun's help layout, and usage errors printed like chaosrun's others."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from chaosrun.report.wrap import HelpFormatter

        kwargs.setdefault("formatter_class", HelpFormatter)
        # No abbreviations: `--var foo=1` (chaos run's option) must not become `--variant foo=1`.
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise _BadUsage(self, message)  # said by main(), which knows whether --json was given


class _BadUsage(Exception):
    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        self.parser = parser
        super().__init__(message)


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


def _run(args: argparse.Namespace, out: _Output) -> int:
    from rich.console import Console

    from chaosrun.engine.allow import find_violations, parse_allowed, refusals
    from chaosrun.engine.options import RunOptions
    from chaosrun.engine.supervisor import supervise
    from chaosrun.lab.variants import PROFILE_VARIANTS, TWO_REGION_VARIANTS, VARIANT_NAMES
    from chaosrun.load import load_experiment
    from chaosrun.model import LabTarget
    from chaosrun.report.console import LiveConsole, render_verdict
    from chaosrun.report.summary import summarise_run
    from chaosrun.schema.runvars import parse_vars, read_settings

    if args.variant is not None and args.variant not in {
        v for names in PROFILE_VARIANTS.values() for v in names
    }:
        raise UsageError(
            f"--variant: unknown variant {args.variant!r}; known: {', '.join(VARIANT_NAMES)}"
            f" (two-region profile: also {', '.join(TWO_REGION_VARIANTS)};"
            f" k8s profile: {', '.join(PROFILE_VARIANTS['k8s'])})"
        )
    allowed = parse_allowed(args.allow_target)
    if args.dry_run and args.journal_path is not None:
        raise UsageError("--journal-path: a dry run writes no journal")
    variables = parse_vars(args.var, args.var_file)
    settings = read_settings(args.settings, args.allow_module) if args.settings else {}
    os.environ.update(variables.environ)  # as chaos run does with .env var files
    experiment = load_experiment(
        args.file, args.allow_module, args.allow_shell, variables.configuration.keys()
    )
    for warning in experiment.warnings:
        _error(str(warning), prefix=_WARNING)
    target = experiment.chaosrun.target
    if (
        args.variant is not None
        and isinstance(target, LabTarget)
        and args.variant not in PROFILE_VARIANTS[target.profile]
    ):
        raise UsageError(
            f"--variant: the {target.profile} lab has no variant {args.variant!r}; known: "
            + ", ".join(PROFILE_VARIANTS[target.profile])
        )
    options = RunOptions(
        rollback_strategy=args.rollback_strategy,
        hypothesis_strategy=args.hypothesis_strategy,
        config_vars=variables.configuration,
        secret_vars=variables.secrets,
        settings=settings,
        allow_shell=args.allow_shell,
    )
    refused = refusals(experiment, find_violations(experiment, allowed, os.environ))
    for error in refused:
        _error(str(error))
    if refused:
        return out.failed(refused)
    if args.dry_run:
        return _dry_run(experiment, args.variant, out, options)
    console = Console(stderr=out.as_json, highlight=False)
    if not out.as_json:
        console.print(f"[bold]chaosrun[/] {experiment.title}  [dim]({args.file})[/]")
    on_event = LiveConsole(console) if not out.as_json else (lambda event: None)
    outcome = supervise(
        experiment,
        _home(),
        args.journal_path,
        args.variant,
        on_event,
        options,
        variables.environ,
        own_lab=args.own_lab,
    )
    code = outcome.verdict.exit_code
    summary = summarise_run(outcome.journal, code, str(outcome.journal_path))
    _record_history(summary, outcome.journal)
    if out.as_json:
        out.document(run_document(summary, outcome.journal))
    else:
        render_verdict(console, summary)
    return code


def _suite(args: argparse.Namespace, out: _Output) -> int:
    import signal

    from rich.console import Console

    from chaosrun.report.jsonout import suite_document
    from chaosrun.report.suiteview import SuiteView, render_suite
    from chaosrun.suite.command import (
        SuiteRequest,
        execute,
        prepare_suite,
        suite_dir,
        write_reports,
    )
    from chaosrun.suite.runner import StopFlag

    request = SuiteRequest(
        paths=tuple(args.paths),
        parallel=args.parallel,
        junit=args.junit,
        html=args.html,
        markdown=args.markdown,
        allow_targets=tuple(args.allow_target),
        allowed_modules=tuple(args.allow_module),
        allow_shell=args.allow_shell,
        fail_on_regression=args.fail_on_regression,
        regression_margin=args.regression_margin,
        budget=args.budget,
        recheck=not args.no_recheck,
    )
    entries, problems, budget = prepare_suite(request)
    for problem in problems:
        _error(str(problem))
    if problems:
        return out.failed(problems)
    cores = os.cpu_count() or 1
    if args.parallel > cores:
        _error(
            f"--parallel {args.parallel} on {cores} cores: each experiment's lab and load take "
            "about a core (bench/suite.py); they will slow each other down, and failures seen "
            "on a saturated host are run again alone",
            prefix=_WARNING,
        )
    console = Console(stderr=out.as_json, highlight=False)
    log_dir = suite_dir(_home())
    stop = StopFlag()

    def on_signal(signum: int, frame: object) -> None:
        stop.requests += 1

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    view = SuiteView(console, len(entries))
    try:
        suite = execute(request, entries, _home(), log_dir, stop, view, budget)
    finally:
        view.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    reports = write_reports(request, suite)
    if out.as_json:
        out.document(suite_document(suite, str(log_dir)))
    else:
        render_suite(console, suite, [*reports, f"logs: {log_dir}"])
    return suite.exit_code


def _gameday(args: argparse.Namespace, out: _Output) -> int:
    from chaosrun.gameday.plan import load_plan, plan_problems

    if args.gameday_command == "validate":
        problems = [p for plan in args.plans for p in plan_problems(plan)[1]]
        for problem in problems:
            _error(str(problem))
        return out.failed(problems) if problems else EXIT_OK
    if args.gameday_command == "report":
        return _gameday_report(args)
    plan = load_plan(args.plan)
    return _gameday_run(plan, args)


def _gameday_run(plan: Any, args: argparse.Namespace) -> int:
    from rich.console import Console

    from chaosrun.gameday.session import Rehearsal, run_session
    from chaosrun.gameday.sessions import claim, new_session, resumable

    console = Console(highlight=False)

    def say(line: str) -> None:
        console.print(line, width=max(console.width - 1, 40), overflow="fold")

    home = _home()
    directory = None if args.new else resumable(home, plan)
    if directory is not None:
        say(f"resuming the session in {directory}")
    directory = directory or new_session(home, plan)
    claim(directory)
    if not args.rehearsal:
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            raise UsageError("gameday run: the session needs a terminal; use --rehearsal")
        from chaosrun.gameday.console import TerminalFacilitator

        facilitator: Any = TerminalFacilitator(console, plan, directory)
    else:
        facilitator = Rehearsal(say)
    say(f"{plan.title} - session {directory}")
    from chaosrun.gameday.observer import Feed, ObserverServer

    feed = Feed(plan.title)
    server = None if args.no_observer else ObserverServer(feed, directory).start()
    if server is not None:
        say(f"observers: {server.url} (read-only, this machine only)")
    try:
        state = run_session(plan, directory, home, facilitator, args.rehearsal, feed)
    finally:
        if server is not None:
            server.stop()
    say(f"session {state.state}: {directory}")
    say(f"report: chaosrun gameday report {directory}")
    return EXIT_OK if state.state == "completed" else EXIT_DEVIATED


def _gameday_report(args: argparse.Namespace) -> int:
    from chaosrun.atomic import write_atomic
    from chaosrun.gameday.report import load_session, session_html, session_markdown

    directory = Path(args.session)
    session = load_session(directory)
    html_path = args.html or directory / "report.html"
    markdown_path = args.markdown or directory / "report.md"
    write_atomic(html_path, session_html(session), 0o644)
    write_atomic(markdown_path, session_markdown(session), 0o644)
    print(f"HTML report: {html_path}")
    print(f"Markdown report: {markdown_path}")
    return EXIT_OK


def _history(args: argparse.Namespace, out: _Output) -> int:
    import time

    from rich.console import Console

    from chaosrun.history.store import read_history
    from chaosrun.history.trends import nightly
    from chaosrun.report.historyview import history_data, render_history
    from chaosrun.report.jsonout import history_document

    if args.nights < 1:
        raise UsageError(f"--nights: expected a whole number >= 1, got {args.nights}")
    since = time.time() - args.nights * 86400
    rows = read_history(_home(), args.experiment, since)
    by_experiment: dict[str, list[Any]] = {}
    for row in rows:
        by_experiment.setdefault(row.experiment, []).append(row)
    trends = {name: nightly(found) for name, found in sorted(by_experiment.items())}
    if out.as_json:
        out.document(history_document(history_data(trends)))
    elif not trends:
        what = f" of {args.experiment}" if args.experiment else ""
        print(f"no runs{what} in the last {args.nights} nights ({_home()}/history.sqlite3)")
    else:
        render_history(Console(highlight=False), trends)
    return EXIT_OK


def _record_history(summary: dict[str, Any], journal: dict[str, Any]) -> None:
    """Append the run to the history; a history that cannot be written is said, never fatal."""
    import sqlite3

    from chaosrun.history.store import SUITE_ID_ENV, append_run, row_from_run

    try:
        append_run(_home(), row_from_run(summary, journal, os.environ.get(SUITE_ID_ENV)))
    except (OSError, sqlite3.Error) as exc:
        _error(f"the run history was not updated: {exc}", prefix=_WARNING)


def _dry_run(experiment: Experiment, variant: str | None, out: _Output, options: RunOptions) -> int:
    from dataclasses import replace

    from chaosrun.engine.dryrun import dry_run_plan
    from chaosrun.engine.redact import Redactor
    from chaosrun.report.plan import plan_data, plan_lines, plan_text
    from chaosrun.report.wrap import columns
    from chaosrun.schema.steps import build_steps

    redactor = Redactor.for_experiment(experiment.document, os.environ)
    # Planned from a masked document too: a secret too short to be masked inside a line
    # (redact.MIN_SUBSTRING_LEN) is still masked where it is a whole argument value.
    document = redactor.data(experiment.document)
    masked = replace(experiment, document=document, steps=build_steps(document, experiment.lines))
    plan = dry_run_plan(experiment, _home(), variant, options, os.environ, masked)
    if out.as_json:
        out.document(plan_document(redactor.data(plan_data(plan))))
    else:
        masked_lines = redactor.text("\n".join(plan_lines(plan))).splitlines()
        print(plan_text(masked_lines, columns(sys.stdout) - 1))
    return EXIT_OK


def _lab(args: argparse.Namespace, out: _Output) -> int:
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
        started = lab_up(home / "lab", args.variant, profile=args.profile)
        _print_endpoints(started.endpoints(), out, "lab up")
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
        if out.as_json:
            out.document(lab_document(out.command, None, EXIT_UNAVAILABLE))
        else:
            print("no lab running (start one with 'chaosrun lab up')")
        return EXIT_UNAVAILABLE
    _print_endpoints(info.endpoints(), out, "lab running")
    return EXIT_OK


def _print_endpoints(endpoints: dict[str, Any], out: _Output, heading: str) -> None:
    if out.as_json:
        out.document(lab_document(out.command, endpoints, EXIT_OK))
        return
    profile = "" if endpoints["profile"] == "streaming" else f", profile {endpoints['profile']}"
    print(f"{heading}: variant {endpoints['variant']}{profile}")
    print(f"  service      {endpoints['service_url']}")
    regions = endpoints["toxiproxy_regions"]
    for region, url in regions.items():
        print(f"  toxiproxy    {url}" + (f"  (region {region})" if len(regions) > 1 else ""))
    for name, proxy in endpoints["proxies"].items():
        print(f"  proxy {name:<17} {proxy['listen']} -> {proxy['upstream']}")
    print(f"  logs         {endpoints['directory']}/logs")


def _cleanup(out: _Output) -> int:
    from chaosrun.engine.reconcile import reconcile_dead_runs

    results = reconcile_dead_runs(_home())
    code = EXIT_OK if all(not r.errors for r in results) else EXIT_UNAVAILABLE
    if out.as_json:
        out.document(cleanup_document(results, code))
    elif not results:
        print("nothing to clean up")
    for r in results:
        if not out.as_json and r.pending:
            print(
                f"not yet: {r.run_dir}: {r.pending} fault(s) still in place, its Toxiproxy does "
                "not answer; run 'chaosrun cleanup' again once it does"
            )
        elif not out.as_json:
            print(
                f"reconciled {r.run_dir}: {r.active} fault(s) were active, all reverted"
                f"{', ephemeral lab stopped' if r.stopped_lab else ''}"
            )
        for error in r.errors:
            _error(f"{r.run_dir}: {error}")
    return code
