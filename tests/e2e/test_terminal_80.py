"""Help, the dry-run plan and errors on an 80-column terminal, checked as a person sees them.

Each command runs on a real 80x50 terminal (tmux, see terminal.py) and the screen is read back
without joining wrapped rows. Text chaosrun wraps itself ends before the last column, so a row
that reaches column 80 means the terminal wrapped it (perhaps mid-word): none may. The words on
the screen must be exactly the words of the unwrapped text (nothing cut, elided or split), and
the key lines must read as written here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from chaosrun.engine.dryrun import dry_run_plan
from chaosrun.engine.options import RunOptions
from chaosrun.load import load_experiment
from chaosrun.report.plan import plan_lines

from .conftest import CHAOSRUN, REPO, run_cli
from .terminal import Screen, run_in_terminal

BAD = "tests/fixtures/bad/three_errors.yaml"
OUT_OF_LIMITS = "tests/fixtures/bad/fault_argument_out_of_limits.yaml"


def _flat(text: str) -> str:
    return " ".join(text.split())


def _on_screen(home: Path, *args: str) -> Screen:
    screen = run_in_terminal([*CHAOSRUN, *args], env={"CHAOSRUN_HOME": str(home)}, timeout_s=60)
    assert screen.too_wide() == [], screen.text
    return screen


def _piped(home: Path, *args: str, columns: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    if columns is not None:
        env["COLUMNS"] = columns
    return run_cli(home, *args, timeout=60, environ=env)


HELP_ROWS = {
    "": [
        "usage: chaosrun [-h] [--version] COMMAND ...",
        "Run Chaos Toolkit experiments under a supervisor that always reverts faults,",
        "against an embedded Toxiproxy lab or your own target.",
        "    validate  check experiment files strictly; one line per problem",
        "              (exit 0 or 2)",
        "    run       run one experiment (against the running lab, or an ephemeral one)",
    ],
    "run": [
        "usage: chaosrun run [-h] [--json] [--journal-path PATH]",
        "                    [--var KEY[:TYPE]=VALUE] [--var-file FILE]",
        "                    [--rollback-strategy STRATEGY]",
        "                    [--hypothesis-strategy STRATEGY] [--settings FILE]",
        "Targets must be loopback (localhost, 127.0.0.0/8, ::1) unless allowed with",
        "  --allow-target HOST   allow this non-loopback host (repeatable). Without it,",
    ],
    "lab": [
        "usage: chaosrun lab [-h] ACTION ...",
        "The embedded lab: a Toxiproxy server and a small streaming app (gateway +",
        "    status    show whether the lab runs, and its endpoints",
    ],
}
EXIT_CODE_ROWS = [
    "exit codes (after every fault was reverted and the journal written):",
    "  0    passed",
    "  1    not passed: not in steady state before injection, the method or a",
    "       rollback failed, the hypothesis deviated, a verdict failed, or figures",
    "       not trusted",
    "  2    invalid input or usage (file:line: key path: what was expected)",
    "  3    target or lab unavailable, or another run holds the lab",
    "  4    aborted (a stop condition fired, Toxiproxy or the target became",
    "       unreachable, or the deadline passed)",
    "  130  interrupted by the user",
    "State lives in $CHAOSRUN_HOME (default ~/.local/state/chaosrun).",
]


@pytest.mark.parametrize("command", sorted(HELP_ROWS))
def test_help_fits_80_columns_and_wraps_at_words(command: str, tmp_path: Path) -> None:
    args = [*command.split(), "--help"]
    screen = _on_screen(tmp_path, *args)
    assert screen.status == 0, screen.text
    expected = HELP_ROWS[command] + (EXIT_CODE_ROWS if command in ("", "run") else [])
    assert [row for row in expected if row not in screen.lines] == []
    # The same words as on a 100-column layout: nothing cut, nothing split.
    wide = _piped(tmp_path, *args, columns="100")
    assert wide.returncode == 0 and max(len(row) for row in wide.stdout.splitlines()) > 80
    assert screen.flat() == _flat(wide.stdout)


def test_help_is_80_columns_when_piped(tmp_path: Path) -> None:
    piped = _piped(tmp_path, "run", "--help")
    assert piped.returncode == 0
    assert max(len(row) for row in piped.stdout.splitlines()) < 80
    assert [row for row in EXIT_CODE_ROWS if row not in piped.stdout.splitlines()] == []


def test_the_lab_up_variants_are_never_split_at_hyphens(tmp_path: Path) -> None:
    screen = _on_screen(tmp_path, "lab", "up", "--help")
    words = screen.flat().split()
    names = ("no-breaker,", "no-bulkhead,", "breaker-never-closes,", "timeout-too-long,")
    more = ("no-backoff,", "shared-pool,", "breaker-skips-half-open,", "unhandled-disk-full,")
    k8s = ("one-replica,", "no-pdb,", "one-zone")
    for name in (*names, *more, "no-restart;", "edge-no-failover,", "no-replica-ack;", *k8s):
        assert name in words
    assert not [row for row in screen.lines if row.rstrip().endswith("-")]


def test_dry_run_plan_fits_80_columns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    screen = _on_screen(home, "run", "experiments/bulkhead.yaml", "--dry-run")
    assert screen.status == 0, screen.text
    monkeypatch.chdir(REPO)  # the plan names the file as given
    experiment = load_experiment("experiments/bulkhead.yaml")
    planned = plan_lines(dry_run_plan(experiment, home, None, RunOptions(), os.environ))
    assert screen.flat() == _flat("\n".join(planned))  # every word of the plan, none cut
    rows = [
        "dry run of experiments/bulkhead.yaml: Recommendations slowed - the bulkhead",
        "    keeps playback and profile isolated",
        "target: an ephemeral lab would be started (variant healthy) on free ports of",
        "        127.0.0.1 and stopped after the run",
        "  service     http://127.0.0.1:<port chosen at start>",
        "  proxy recommendations  127.0.0.1:<port chosen at start>",
        "                         -> 127.0.0.1:<port chosen at start>",
        "load: open loop, 200 req/s over /api/browse 50%, /api/play 25%, /api/profile",
        "method:",
        "  1. slow-down-recommendations: inject latency: add toxic",
        "     chaosrun_latency_downstream to proxy recommendations: type latency, stream",
        "       where: Toxiproxy API of the ephemeral lab, proxy recommendations listens",
        "              on 127.0.0.1:<port chosen at start>, upstream",
        "              127.0.0.1:<port chosen at start>",
        "       request: POST <toxiproxy>/proxies/recommendations/toxics",
        "       request: DELETE",
        "         <toxiproxy>/proxies/recommendations/toxics/chaosrun_latency_downstream",
        "  1. make-sure-recommendations-is-restored: revert latency: remove toxic",
    ]
    assert [row for row in rows if row not in screen.lines] == []
    assert not home.exists()  # a dry run writes nothing


def _errors(screen: Screen) -> list[list[str]]:
    """The screen's error messages, each as its rows: a message starts at `chaosrun: `."""
    messages: list[list[str]] = []
    for row in screen.lines:
        if row.startswith("chaosrun: "):
            messages.append([row])
        else:
            assert messages and row.startswith("    ") and row[4] != " ", screen.text
            messages[-1].append(row)
    return messages


def test_validate_errors_wrap_under_their_location_on_a_terminal(tmp_path: Path) -> None:
    screen = _on_screen(tmp_path, "validate", BAD, OUT_OF_LIMITS)
    assert screen.status == 2, screen.text
    piped = _piped(tmp_path, "validate", BAD, OUT_OF_LIMITS).stderr.splitlines()
    messages = _errors(screen)
    assert [_flat("\n".join(rows)) for rows in messages] == piped
    assert [rows[0] for rows in messages] == [
        f"chaosrun: {BAD}:6:",
        f"chaosrun: {BAD}:12:",
        f"chaosrun: {BAD}:21:",
        f"chaosrun: {OUT_OF_LIMITS}:10:",
    ]
    assert messages[1][1:] == [
        "    steady-state-hypothesis.probes[0].tolerance: float tolerances are rejected",
        "    by Chaos Toolkit; use a range: {type: range, range: [0.99, 1.0]}",
    ]
    assert messages[2][1:] == [
        "    method[0].provider.arguments.latncy_ms: unknown argument 'latncy_ms' for",
        "    chaosrun.faults.latency.inject; did you mean 'latency_ms'?",
    ]
    assert messages[3][1:] == [
        "    method[0].provider.arguments.latency_ms: expected latency_ms in",
        "    [0, 3600000], got -5",
    ]


def test_errors_stay_one_line_each_when_piped(tmp_path: Path) -> None:
    piped = _piped(tmp_path, "validate", BAD, OUT_OF_LIMITS, columns="40")
    assert piped.returncode == 2
    lines = piped.stderr.splitlines()
    assert len(lines) == 4 and all(line.startswith("chaosrun: tests/fixtures/") for line in lines)
    assert lines[1] == (
        f"chaosrun: {BAD}:12: steady-state-hypothesis.probes[0].tolerance: float tolerances "
        "are rejected by Chaos Toolkit; use a range: {type: range, range: [0.99, 1.0]}"
    )


def test_run_errors_wrap_on_a_terminal(tmp_path: Path) -> None:
    screen = _on_screen(tmp_path, "run", "experiments/bulkhead.yaml", "--variant", "no-such")
    assert screen.status == 2, screen.text
    (message,) = _errors(screen)
    assert message == [
        "chaosrun: --variant: unknown variant 'no-such'; known: healthy, no-breaker,",
        "    no-timeout, no-bulkhead, no-retry-cap, no-fallback, breaker-never-closes,",
        "    timeout-too-long, no-backoff, shared-pool, breaker-skips-half-open,",
        "    unhandled-disk-full, no-restart (two-region profile: also edge-no-failover,",
        "    no-replica-ack; k8s profile: healthy, one-replica, no-pdb, one-zone)",
    ]
    screen = _on_screen(tmp_path, "run", BAD)
    assert screen.status == 2, screen.text
    assert [rows[0] for rows in _errors(screen)] == [f"chaosrun: {BAD}:6:"]


def test_usage_errors_fit_80_columns(tmp_path: Path) -> None:
    screen = _on_screen(tmp_path, "run")
    assert screen.status == 2, screen.text
    assert "chaosrun run: error: the following arguments are required: FILE" in screen.lines


def test_the_terminal_helper_sees_what_the_terminal_wraps() -> None:
    word = "abcdefghij" * 10  # 100 columns: the terminal cuts it at 80, mid-word
    screen = run_in_terminal([sys.executable, "-c", f"print({word!r}); raise SystemExit(3)"])
    assert screen.status == 3
    assert screen.lines == (word[:80], word[80:])
    assert screen.too_wide() == [word[:80]]
