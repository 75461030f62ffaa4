"""Run experiments from tests: what the pytest plugin's items and fixtures use.

`run_experiment` runs one file as `chaosrun run --json` in a child process (every guarantee of
a run: supervisor, undo log, journal) and returns its measured result. Within one test session a
(file, variant, lab) is run once and shared, also across pytest-xdist workers: the first worker
to need it runs it under a file lock in the session's cache directory, the others read its
result, so the items of one experiment never run it twice whatever `--dist` says.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaosrun.atomic import write_atomic
from chaosrun.errors import LabError

__all__ = ["Lab", "RunResult", "SharedRuns", "VerdictResult", "run_experiment", "start_lab"]


@dataclass(frozen=True, slots=True)
class VerdictResult:
    check: str
    status: str  # passed | failed | not-judged
    expected: str
    observed: str

    @property
    def passed(self) -> bool:
        return self.status == "passed"


@dataclass(frozen=True, slots=True)
class RunResult:
    """A finished run as a test sees it; `document` is the whole `chaosrun run --json` output."""

    file: str
    exit_code: int
    document: Mapping[str, Any]

    @property
    def verdict(self) -> str:
        return str(self.document.get("verdict") or "error")

    @property
    def passed(self) -> bool:
        return self.exit_code == 0 and self.verdict == "passed"

    @property
    def reason(self) -> str | None:
        error = self.document.get("error")
        if isinstance(error, Mapping):
            return str(error.get("message"))
        reason = self.document.get("reason")
        return None if reason is None else str(reason)

    @property
    def verdicts(self) -> dict[str, VerdictResult]:
        return {
            str(c.get("check")): VerdictResult(
                str(c.get("check")),
                str(c.get("status")),
                str(c.get("expected")),
                str(c.get("observed")),
            )
            for c in self.document.get("checks") or ()
            if isinstance(c, Mapping)
        }

    @property
    def recovery(self) -> Mapping[str, Any]:
        value = self.document.get("recovery")
        return value if isinstance(value, Mapping) else {}

    @property
    def rto_s(self) -> float | None:
        return self.recovery.get("rto_s")

    @property
    def ttd_s(self) -> float | None:
        return self.recovery.get("ttd_s")

    @property
    def steady_state(self) -> Mapping[str, bool | None]:
        value = self.document.get("steady_state")
        return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True, slots=True)
class Lab:
    """A lab started for tests (`chaosrun lab up` in a home of its own); runs given it use it."""

    home: Path
    endpoints: Mapping[str, Any]

    @property
    def service_url(self) -> str:
        return str(self.endpoints["service_url"])

    @property
    def toxiproxy_url(self) -> str:
        return str(self.endpoints["toxiproxy_url"])

    def stop(self) -> None:
        _cli(self.home, "lab", "down")


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chaosrun", *args],
        env={**os.environ, "CHAOSRUN_HOME": str(home)},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def start_lab(home: Path, variant: str = "healthy", profile: str = "streaming") -> Lab:
    done = _cli(home, "lab", "up", "--variant", variant, "--profile", profile, "--json")
    document = _document(done.stdout)
    if done.returncode != 0 or document is None:
        raise LabError(f"the lab did not start: {done.stderr.strip() or done.stdout.strip()}")
    return Lab(home, document)


def _document(text: str) -> dict[str, Any] | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def run_experiment(
    file: str | Path, home: Path, variant: str | None = None, lab: Lab | None = None
) -> RunResult:
    """Run `file` on `lab` (its home), else on an ephemeral lab of its own under `home`."""
    args = ["run", str(file), "--json"]
    if variant is not None:
        args += ["--variant", variant]
    if lab is None:
        args.append("--own-lab")
    done = _cli(lab.home if lab is not None else home, *args)
    document = _document(done.stdout)
    if document is None:
        document = {"error": {"message": done.stderr.strip()[-500:] or "no result printed"}}
    return RunResult(str(file), done.returncode, document)


class SharedRuns:
    """Runs of one test session, shared by every item and fixture (and xdist worker)."""

    def __init__(self, directory: Path, home: Path) -> None:
        self.directory = directory
        self.home = home
        directory.mkdir(parents=True, exist_ok=True)

    def get(
        self, file: str | Path, variant: str | None = None, lab: Lab | None = None
    ) -> RunResult:
        where = str(lab.home) if lab is not None else "own lab"
        key = hashlib.sha256(f"{Path(file).resolve()}|{variant}|{where}".encode()).hexdigest()
        result_path = self.directory / f"{key[:24]}.json"
        with open(self.directory / f"{key[:24]}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if result_path.exists():
                data = json.loads(result_path.read_text())
                return RunResult(data["file"], data["exit_code"], data["document"])
            result = run_experiment(file, self.home, variant, lab)
            saved = {
                "file": result.file,
                "exit_code": result.exit_code,
                "document": result.document,
            }
            write_atomic(result_path, json.dumps(saved, default=str))
            return result
