"""One experiment of a suite: a `chaosrun run --json --own-lab` child process.

Each run keeps every guarantee of `chaosrun run` (its own supervisor, undo log, journal and
ephemeral lab) because it *is* one. The child gets a process group of its own, so the suite
decides when it is interrupted (SIGINT to the group, as Ctrl-C in a terminal would), and the
kernel sends it SIGINT if the suite dies (PR_SET_PDEATHSIG): a suite killed with SIGKILL still
has every running experiment revert its faults and stop its lab.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Child", "child_command", "interrupt", "read_document", "spawn"]

_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True, slots=True)
class Child:
    process: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path
    started_at: float


def child_command(file: str, extra_args: Sequence[str] = (), own_lab: bool = True) -> list[str]:
    lab = ["--own-lab"] if own_lab else []
    return [sys.executable, "-m", "chaosrun", "run", file, "--json", *lab, *extra_args]


def _die_with(parent: int) -> Callable[[], None]:
    def set_death_signal() -> None:  # runs in the child between fork and exec
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGINT), 0, 0, 0)
        if os.getppid() != parent:  # the suite died before prctl took effect
            os._exit(130)

    return set_death_signal


def spawn(
    file: str,
    log_stem: Path,
    started_at: float,
    extra_args: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
    own_lab: bool = True,
) -> Child:
    stdout_path = log_stem.with_suffix(".json")
    stderr_path = log_stem.with_suffix(".log")
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        process = subprocess.Popen(
            child_command(file, extra_args, own_lab),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
            env={**os.environ, **(environ or {})},
            preexec_fn=_die_with(os.getpid()),  # only prctl and getppid
        )
    return Child(process, stdout_path, stderr_path, started_at)


def interrupt(child: Child) -> None:
    """Ctrl-C for one experiment: SIGINT to its process group (supervisor, worker, load)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.process.pid, signal.SIGINT)


def read_document(path: Path) -> Mapping[str, Any] | None:
    """The child's one JSON document, or None when it printed none (killed before the end)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
