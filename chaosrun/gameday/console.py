"""The facilitator's terminal: prompts for the checklist and each briefing, then, while a
scenario runs, a live panel (fault state, SLIs, marks, the last observations) above a line
anyone at the keyboard types into:

    text + Enter       an observation, timestamped
    !d  / !m           detected / mitigated (people's time, shown beside the measured one)
    !action OWNER: what   a follow-up action with its owner
    !a  or Ctrl-C      abort: the scenario's faults are reverted at once
    !n                 next scenario (once the run has ended)

Keys are read in cbreak mode without blocking, so the panel keeps moving while people type;
the terminal's mode is restored whatever happens.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import termios
import time
import tty
from collections.abc import Mapping
from pathlib import Path
from types import FrameType
from typing import Any

from rich.console import Console, Group
from rich.constrain import Constrain
from rich.live import Live
from rich.panel import Panel
from rich.prompt import Prompt
from rich.table import Table
from rich.text import Text

from chaosrun.gameday.live import Snapshot
from chaosrun.gameday.plan import Plan, Scenario
from chaosrun.gameday.session import Brief, Command

__all__ = ["HELP", "TerminalFacilitator", "parse_line"]

HELP = "Enter: note · !d detected · !m mitigated · !action OWNER: what · !a abort · !n next"


def parse_line(line: str) -> Command | None:
    """One typed line as a command (pure)."""
    text = line.strip()
    if not text:
        return None
    word = text.split(maxsplit=1)[0].lower()
    if word in ("!d", "!detected"):
        return Command("detected")
    if word in ("!m", "!mitigated"):
        return Command("mitigated")
    if word in ("!a", "!abort"):
        return Command("abort")
    if word in ("!n", "!next"):
        return Command("next")
    if word == "!action":
        rest = text[len(word) :].strip()
        owner, _, what = rest.partition(":")
        if what.strip():
            return Command("action", what.strip(), owner.strip())
        return Command("action", rest, "unassigned")
    return Command("observation", text)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


class TerminalFacilitator:
    def __init__(self, console: Console, plan: Plan, directory: Path) -> None:
        self.console = console
        self.plan = plan
        self.directory = directory
        self._live: Live | None = None
        self._saved: Any = None
        self._typed = ""
        self._notes: list[str] = []
        self._started = 0.0
        self._interrupted = False
        self._previous_handler: Any = None

    @property
    def _width(self) -> int:
        """One column short of the edge: a terminal never wraps what it shows."""
        return max(self.console.width - 1, 40)

    # prompts -----------------------------------------------------------------------------
    def confirm(self, item: str, number: int, total: int) -> bool:
        question = Text(f"go/no-go {number}/{total}: {item}")  # plain text, never markup
        answer = Prompt.ask(question, console=self.console, choices=["go", "no-go"])
        return answer == "go"

    def brief(self, scenario: Scenario, number: int, total: int) -> Brief:
        body = Table.grid(padding=(0, 1))
        body.add_column(style="bold", no_wrap=True)
        body.add_column()
        for label, value in (
            ("briefing", scenario.briefing),
            ("hypothesis", scenario.hypothesis),
            ("watch for", "; ".join(scenario.signals)),
            ("RTO target", f"{scenario.rto_target_s:g} s"),
            ("abort if", "; ".join(scenario.abort_criteria)),
            ("rollback", scenario.rollback),
            ("experiment", scenario.title),
        ):
            body.add_row(label, value)
        title = f"scenario {number}/{total}: {scenario.name}"
        self.console.print(Constrain(Panel(body, title=title), width=self._width))
        answer = Prompt.ask("inject now?", console=self.console, choices=["inject", "skip", "stop"])
        return answer  # type: ignore[return-value]

    # the running scenario ---------------------------------------------------------------
    def _begin(self) -> None:
        self._typed, self._notes, self._started = "", [], time.time()
        self._interrupted = False
        if sys.stdin.isatty():
            self._saved = termios.tcgetattr(sys.stdin.fileno())
            tty.setcbreak(sys.stdin.fileno())
        self._previous_handler = signal.signal(signal.SIGINT, self._on_interrupt)
        self._live = Live(console=self.console, auto_refresh=False)
        self._live.start()

    def _end(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
        if self._saved is not None:
            termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, self._saved)
            self._saved = None
        if self._previous_handler is not None:
            signal.signal(signal.SIGINT, self._previous_handler)
            self._previous_handler = None

    def _on_interrupt(self, signum: int, frame: FrameType | None) -> None:
        self._interrupted = True

    def _keys(self) -> list[str]:
        lines = []
        fd = sys.stdin.fileno()
        while select.select([fd], [], [], 0)[0]:
            data = os.read(fd, 1024).decode(errors="replace")
            if not data:
                break
            for char in data:
                if char in "\r\n":
                    lines.append(self._typed)
                    self._typed = ""
                elif char in ("\x7f", "\b"):
                    self._typed = self._typed[:-1]
                elif char == "\x15":  # Ctrl-U
                    self._typed = ""
                elif char.isprintable():
                    self._typed += char
        return lines

    def _panel(self, scenario: Scenario, live: Snapshot, state: Mapping[str, Any]) -> Constrain:
        elapsed = time.time() - self._started
        faults = ", ".join(live.faults) or ("reverted" if live.faults_seen else "none yet")
        marks = []
        for key in ("detected", "mitigated"):
            at = state.get(key)
            marks.append(f"{key} {at - self._started:.1f} s in" if at else f"not {key}")
        ended = state.get("ended")
        status = "running" if not ended else f"ended: {ended.get('state')}"
        if ended and ended.get("rto_s") is not None:
            status += f", RTO {ended['rto_s']:.2f} s (target {scenario.rto_target_s:g} s)"
        if state.get("aborted") and not ended:
            status = "aborting: reverting faults"
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        grid.add_row("status", f"{status}  ({elapsed:.0f} s)")
        grid.add_row("faults", faults)
        grid.add_row(
            "last 5 s",
            f"{live.requests} requests, available {_pct(live.availability)}, "
            f"p50 {_ms(live.p50_ms)}, p99 {_ms(live.p99_ms)}, degraded {_pct(live.degraded)}",
        )
        grid.add_row("marks", ", ".join(marks))
        for note in self._notes[-4:]:
            grid.add_row("note", note)
        prompt = Text(f"> {self._typed}", style="bold")
        help_line = Text(HELP if not ended else "the run ended: " + HELP, style="dim")
        title = f"{scenario.name} - {scenario.title}"
        return Constrain(Panel(Group(grid, prompt, help_line), title=title), width=self._width)

    def watch(self, scenario: Scenario, live: Snapshot, state: Mapping[str, Any]) -> list[Command]:
        if self._live is None:
            self._begin()
        commands = []
        if self._interrupted:
            self._interrupted = False
            commands.append(Command("abort"))
        for line in self._keys() if sys.stdin.isatty() else []:
            command = parse_line(line)
            if command is None:
                continue
            if command.kind in ("observation", "action"):
                self._notes.append(command.text)
            commands.append(command)
        assert self._live is not None
        self._live.update(self._panel(scenario, live, state), refresh=True)
        if any(c.kind == "next" for c in commands) and state.get("ended"):
            self._end()
            ended = state["ended"]
            self.console.print(
                f"{scenario.name}: {ended.get('state')}"
                + (f" - {ended.get('reason')}" if ended.get("reason") else ""),
                width=self._width,
                overflow="fold",
            )
        return commands

    def close(self) -> None:
        self._end()
