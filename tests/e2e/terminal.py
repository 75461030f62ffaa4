"""A command on a real terminal of a fixed size, read back as a person sees the screen.

The command runs in a detached tmux session on a private server (its own socket in a temporary
directory: tests run in parallel and never touch a user's tmux). TERM is xterm-256color and
COLUMNS/LINES are unset, so the program finds its width itself, from the terminal. The screen is
captured without joining wrapped lines (`capture-pane` without -J): a line longer than the
terminal shows as the terminal shows it, cut at the edge and continued on the next row. History
is kept (`-S -`), so output longer than the screen is not lost. The tmux server is killed at the
end, whatever happens.

    screen = run_in_terminal([*CHAOSRUN, "--help"], env={"CHAOSRUN_HOME": str(home)})
    assert screen.status == 0 and not screen.too_wide()

    with Terminal([*CHAOSRUN, "run", "x.yaml"], rows=40) as term:   # a live run
        term.wait_for("inject", timeout_s=30)   # the screen as it is now, once it shows this
        term.send_keys("C-c")                   # tmux key names: C-c, Enter, q ...
        screen = term.wait(timeout_s=60)        # after the command exited
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from rich.cells import cell_len

__all__ = ["Screen", "Terminal", "TerminalTimeout", "run_in_terminal"]

REPO = Path(__file__).resolve().parents[2]
TMUX = "tmux"
_CONFIG = """set -g remain-on-exit on
set -g remain-on-exit-format ""
set -g history-limit 100000
set -g status off
set -g default-terminal xterm-256color
"""
_UNSET = ("COLUMNS", "LINES", "TMUX", "TMUX_PANE")
# The pane runs this, which runs the command and records its exit status (-N: killed by signal N)
# in a file: tmux 3.3a's #{pane_dead_status} stays empty for about one quick exit in four. Ctrl-C
# reaches both (one process group); this one survives it with a handler, which exec resets, so
# the command gets Ctrl-C as usual.
_RECORDER = """import os, signal, subprocess, sys
signal.signal(signal.SIGINT, lambda *_: None)
code = subprocess.call(sys.argv[2:])
with open(sys.argv[1] + ".tmp", "w") as out:
    out.write(str(code))
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
"""
_POLL_S = 0.05
_TMUX_CALL_S = 10.0


@dataclass(frozen=True)
class Screen:
    """What the terminal shows: every row (history first), trailing blank rows dropped."""

    lines: tuple[str, ...]
    columns: int
    status: int | None  # exit status (-N if killed by signal N); None while it still runs

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def too_wide(self) -> list[str]:
        """Rows that reach the last column: the program wrote up to the edge (or past it, and
        the terminal wrapped the rest onto the next row, perhaps mid-word). Text wrapped by the
        program ends before the edge."""
        return [line for line in self.lines if cell_len(line) >= self.columns]

    def flat(self) -> str:
        """The screen's words separated by single spaces: compare content regardless of wrapping."""
        return " ".join(self.text.split())


class TerminalTimeout(AssertionError):
    """The command did not finish (or show the awaited text) in time; carries the screen."""

    def __init__(self, what: str, screen: Screen) -> None:
        super().__init__(f"timed out waiting for {what}; the screen:\n{screen.text}")
        self.screen = screen


class Terminal:
    """`argv` running in a `columns` x `rows` terminal on a private tmux server."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        columns: int = 80,
        rows: int = 50,
        env: Mapping[str, str] | None = None,
        cwd: Path | str = REPO,
    ) -> None:
        self.argv, self.columns, self.rows = list(argv), columns, rows
        self.cwd = str(cwd)
        self.env = {k: v for k, v in os.environ.items() if k not in _UNSET}
        self.env.update({"TERM": "xterm-256color", **(env or {})})
        self._dir: str | None = None

    def __enter__(self) -> Terminal:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> None:
        if shutil.which(TMUX) is None:
            raise RuntimeError("tmux is not installed: run `make setup` (it installs tmux)")
        self._dir = tempfile.mkdtemp(prefix="chaosrun-tmux-")
        self._socket = str(Path(self._dir, f"s-{uuid.uuid4().hex[:8]}"))
        self._config = str(Path(self._dir, "tmux.conf"))
        self._status = Path(self._dir, "status")
        try:
            Path(self._config).write_text(_CONFIG)
            size = ("-x", str(self.columns), "-y", str(self.rows))
            command = (sys.executable, "-c", _RECORDER, str(self._status), *self.argv)
            self._tmux("new-session", "-d", "-s", "t", *size, "-c", self.cwd, *command)
        except BaseException:
            self.close()
            raise

    def screen(self) -> Screen:
        """The screen now (history included), with the exit status if the command has ended."""
        dead = self._tmux("display-message", "-p", "-t", "t", "#{pane_dead}") == "1"
        captured = self._tmux("capture-pane", "-p", "-S", "-", "-E", "-", "-t", "t")
        lines = captured.split("\n")
        while lines and not lines[-1].strip():
            lines.pop()
        # Dead: the pane has read all the output; the status file: the command's exit status.
        code = int(self._status.read_text()) if dead and self._status.exists() else None
        return Screen(tuple(lines), self.columns, code)

    def send_keys(self, *keys: str) -> None:
        """Type into the terminal, with tmux key names (`C-c`, `Enter`) or literal text."""
        self._tmux("send-keys", "-t", "t", *keys)

    def wait(self, timeout_s: float = 60) -> Screen:
        """The final screen, once the command has exited; TerminalTimeout after timeout_s."""
        deadline = time.monotonic() + timeout_s
        while True:
            screen = self.screen()
            if screen.status is not None:
                return screen
            if time.monotonic() > deadline:
                raise TerminalTimeout(f"{self.argv} to exit within {timeout_s} s", screen)
            time.sleep(_POLL_S)

    def wait_for(self, text: str, timeout_s: float = 30) -> Screen:
        """The screen as soon as it shows `text` (on one row); TerminalTimeout after timeout_s."""
        deadline = time.monotonic() + timeout_s
        while True:
            screen = self.screen()
            if any(text in line for line in screen.lines):
                return screen
            if time.monotonic() > deadline or screen.status is not None:
                raise TerminalTimeout(f"{text!r} on the screen", screen)
            time.sleep(_POLL_S)

    def close(self) -> None:
        """Kill the private tmux server (and with it the command) and remove its directory."""
        if self._dir is None:
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            subprocess.run(
                [TMUX, "-S", self._socket, "kill-server"],
                capture_output=True,
                timeout=_TMUX_CALL_S,
                check=False,
            )
        shutil.rmtree(self._dir, ignore_errors=True)
        self._dir = None

    def _tmux(self, *args: str) -> str:
        result = subprocess.run(
            [TMUX, "-S", self._socket, "-f", self._config, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=_TMUX_CALL_S,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args[:1])} failed: {result.stderr.strip()}")
        return result.stdout.removesuffix("\n")


def run_in_terminal(
    argv: Sequence[str],
    *,
    columns: int = 80,
    rows: int = 50,
    env: Mapping[str, str] | None = None,
    cwd: Path | str = REPO,
    timeout_s: float = 60,
) -> Screen:
    """Run `argv` to its end on a `columns` x `rows` terminal; the final screen and status."""
    with Terminal(argv, columns=columns, rows=rows, env=env, cwd=cwd) as term:
        return term.wait(timeout_s)
