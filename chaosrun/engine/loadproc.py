"""The load process for a run: started by the supervisor before the worker, stopped after it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaosrun.lab.procs import OWNER_ENV, ProcessRef, process_start_time
from chaosrun.measure.loadspec import load_command
from chaosrun.measure.schedule import LoadPlan
from chaosrun.model import LoadSpec

__all__ = ["LoadProcess", "start_load"]

TIMELINE_FILE = "timeline.csv"
SUMMARY_FILE = "load.json"


@dataclass(slots=True)
class LoadProcess:
    proc: subprocess.Popen[bytes]
    timeline: Path
    summary_path: Path
    timeout_s: float

    @property
    def ref(self) -> ProcessRef:
        return ProcessRef("load", self.proc.pid, process_start_time(self.proc.pid))

    def wait_first_records(self, timeout_s: float = 5.0) -> bool:
        """True once the timeline holds at least one complete record."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.proc.poll() is None:
            with contextlib.suppress(OSError):
                if self.timeline.stat().st_size > 0 and self.timeline.read_bytes().count(b"\n") > 1:
                    return True
            time.sleep(0.02)
        return False

    def stop(self) -> dict[str, Any]:
        """SIGTERM (the load process flushes and writes its summary), bounded, then SIGKILL."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=self.timeout_s + 3.0)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        try:
            data = json.loads(self.summary_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {
                "short": True,
                "short_reason": "the load process wrote no summary",
                "exit_code": self.proc.returncode,
            }
        return data if isinstance(data, dict) else {}


def start_load(spec: LoadSpec, base_url: str, run_dir: Path, duration_s: float) -> LoadProcess:
    timeline = run_dir / TIMELINE_FILE
    summary = run_dir / SUMMARY_FILE
    plan = LoadPlan(spec.rate, duration_s, spec.endpoints, spec.seed, spec.timeout_s)
    argv = load_command(plan, base_url=base_url, timeline=timeline, summary=summary)
    with open(run_dir / "load.log", "ab") as log:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", OWNER_ENV: str(run_dir)},
        )
    return LoadProcess(proc, timeline, summary, spec.timeout_s)
