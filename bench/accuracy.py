"""Accuracy of chaosrun's reported recovery figures against ground truth from outside.

    python bench/accuracy.py [--trials 20] [--rate 200] [--quick] [--runs 3] [--json PATH]

Each trial drives one outage (150 ms .. 5 s, geometric spread, shuffled) under chaosrun's own
open-loop load process (`start_load`, timeline read with `read_timeline`) on two targets:

- lab:      a lab dependency (catalog, loaded through its Toxiproxy proxy at /item) fails for
            exactly the outage (`start_failure`, decided in its own process); truth: the window
            it reports and the arrivals it recorded;
- external: Debian's HAProxy (L7 retries with redispatch, active HTTP health checks) in front of two
            tiny backends (bench/external/), separate processes; both backends answer 503 during
            [S, E) set by the bench; truth: each backend's request log (the service is back when
            the first request at or after E reaches a backend and is answered OK).

The same timeline is evaluated with each SLO window (0.5, 1, 2, 5 s) exactly as a run reports it
(`analyse_recovery`, availability 0.99, stability_s 2); error = reported - truth, per figure (ttd_s,
rto_s, recovery_after_clear_s). Then a few real `chaosrun run --json` runs of an experiment using
`chaosrun.faults.fail_for` confirm the figure a full run reports. Goal: p95 |error| <= 25 ms.
Traffic goes to 127.0.0.1 only: `--rate` req/s during each bounded trial.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

from external.target import ExternalTarget, start_external

import chaosrun.measure.recovery
from chaosrun.lab.lab import LabInfo, lab_down, lab_up
from chaosrun.measure.accuracy import (
    FIGURES,
    Figures,
    GroundTruth,
    drive_outage,
    figure_errors,
    lab_outage,
    reported_figures,
    truth_from_arrivals,
)
from chaosrun.measure.timeline import RequestRecord, read_timeline

BIN = Path(sys.executable).parent
WINDOWS = (0.5, 1.0, 2.0, 5.0)
STABILITY_S = 2.0
GOAL_MS = 25.0
SHORT = {"ttd_s": "ttd", "rto_s": "rto", "recovery_after_clear_s": "after-clear"}


def outage_schedule(trials: int, low_ms: int, high_ms: int, seed: int) -> list[int]:
    """`trials` durations spread geometrically over [low, high], in a shuffled order."""
    if trials == 1:
        return [low_ms]
    ratio = (high_ms / low_ms) ** (1.0 / (trials - 1))
    durations = [round(low_ms * ratio**i) for i in range(trials)]
    random.Random(seed).shuffle(durations)
    return durations


def evaluate(records: list[RequestRecord], truth: GroundTruth, kind: str) -> dict[str, Any]:
    """Reported figures and errors (ms) for every window, from one timeline."""
    out: dict[str, Any] = {
        "truth_epoch": {
            "start": truth.start,
            "end": truth.end,
            "first_failed": truth.first_failed,
            "served_ok": truth.served_ok,
        },
        "truth_ms": _ms_figures(truth.figures),
        "windows": {},
    }
    for window in WINDOWS:
        reported = reported_figures(records, truth, window, kind=kind, stability_s=STABILITY_S)
        out["windows"][str(window)] = {
            "reported_ms": _ms_figures(reported),
            "error_ms": _ms_figures(figure_errors(reported, truth.figures)),
        }
    return out


def _ms_figures(figures: Figures) -> dict[str, float | None]:
    return {name: _ms(figures.get(name)) for name in FIGURES}


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000.0, 3)


def run_lab_trials(
    durations: list[int], workdir: Path, args: argparse.Namespace
) -> list[dict[str, Any]]:
    trials = []
    lab = lab_up(workdir / "lab", "healthy")
    try:
        for i, ms in enumerate(durations):
            started = time.monotonic()
            run = lab_outage(
                lab, workdir / f"lab-{i}", ms, rate=args.rate, lead_s=args.lead_s, tail_s=_tail()
            )
            trial = {
                "target": "lab",
                "i": i,
                "outage_ms": ms,
                "load_short": run.load_short,
                "load_short_reason": run.load.get("short_reason"),
            }
            trial.update(evaluate(run.records, run.truth, "fail_for"))
            trial["wall_s"] = round(time.monotonic() - started, 2)
            _progress(trial)
            trials.append(trial)
        if args.runs:
            trials.extend(confirm_runs(lab, workdir / "runs", args))
    finally:
        left = lab_down(lab)
        if left:
            print(f"lab ports still listening after lab_down: {left}", file=sys.stderr)
    return trials


def run_external_trials(
    durations: list[int], workdir: Path, args: argparse.Namespace
) -> list[dict[str, Any]]:
    trials = []
    target = start_external(workdir / "external")
    try:
        for i, ms in enumerate(durations):
            started = time.monotonic()
            if not target.wait_all_up(15.0):
                raise RuntimeError(f"HAProxy backends not UP before trial {i}: see {workdir}")
            target.reset_logs()
            log_offset = (target.workdir / "haproxy.log").stat().st_size

            def inject(ms: int = ms) -> tuple[float, float]:
                start = time.time() + 0.05  # both backends know the schedule before it starts
                target.set_outage(start, start + ms / 1000.0)
                return start, start + ms / 1000.0

            records, start, end, load = drive_outage(
                target.url,
                "/item",
                workdir / f"ext-{i}",
                inject,
                rate=args.rate,
                lead_s=args.lead_s,
                tail_s=_tail(),
                outage_s=ms / 1000.0,
            )
            arrivals = target.arrivals()
            data = [(a.at, a.ok) for a in arrivals if not a.health_check]
            truth = truth_from_arrivals(start, end, data)
            trial = {
                "target": "external",
                "i": i,
                "outage_ms": ms,
                "load_short": bool(load.get("short")),
                "load_short_reason": load.get("short_reason"),
            }
            trial.update(evaluate(records, truth, "backend_outage"))
            trial["haproxy"] = haproxy_transitions(target, log_offset, start, end)
            trial["wall_s"] = round(time.monotonic() - started, 2)
            _progress(trial)
            trials.append(trial)
    finally:
        left = target.stop()
        if left:
            print(f"external target ports still listening: {left}", file=sys.stderr)
    return trials


def haproxy_transitions(
    target: ExternalTarget, offset: int, start: float, end: float
) -> dict[str, Any]:
    """When HAProxy marked each backend DOWN (ms after S) and UP again (ms after E): its log."""
    down: dict[str, float] = {}
    up: dict[str, float] = {}
    with open(target.workdir / "haproxy.log", encoding="utf-8", errors="replace") as log:
        log.seek(offset)
        for line in log:
            parts = line.split()
            if len(parts) < 5 or parts[1] != "Server" or parts[3] != "is":
                continue  # the "[WARNING] (pid)" copies carry no timestamp
            try:
                at = datetime.fromisoformat(parts[0]).timestamp()
            except ValueError:
                continue
            server = parts[2].split("/")[-1]
            state = parts[4].rstrip(",")
            if state == "DOWN":
                down.setdefault(server, round((at - start) * 1000.0, 1))
            elif state == "UP" and at >= end:
                up.setdefault(server, round((at - end) * 1000.0, 1))
    return {"down_after_start_ms": down, "up_after_end_ms": up, **target.check}


EXPERIMENT = """\
version: 1.0.0
title: accuracy - catalog fails for {ms} ms
description: The catalog answers 500 for exactly {ms} ms (fail_for); the load hits it directly.
extensions:
  - name: chaosrun
    target:
      service_url: "http://{listen}"
      toxiproxy_url: "{toxiproxy}"
    load:
      rate: {rate}
      endpoints: {{/item: 1}}
      warmup_s: {warmup}
      cooldown_s: {cooldown}
    slo: {{availability: 0.99, window_s: {window}}}
    rto: {{objective_s: 30, stability_s: {stability}}}
    deadline_s: 90
method:
  - type: action
    name: fail-catalog
    provider:
      type: python
      module: chaosrun.faults.fail_for
      func: inject
      arguments: {{proxy: catalog, duration_ms: {ms}}}
    pauses: {{after: {pause}}}
rollbacks:
  - type: action
    name: end-catalog-failure
    provider:
      type: python
      module: chaosrun.faults.fail_for
      func: revert
      arguments: {{proxy: catalog}}
"""


def confirm_runs(lab: LabInfo, workdir: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Real `chaosrun run --json` runs: the figures in the summary against the dependency's window.

    The load goes straight to the catalog through its proxy (an explicit target): through the
    gateway, every endpoint that uses the catalog has a fallback, so a failed catalog still gets
    a 200 (degraded) and the availability SLO sees no outage. (`slo.max_degraded` would see the
    fallbacks, but then the service is back when its breaker closes, not at the dependency's E.)"""
    workdir.mkdir(parents=True, exist_ok=True)
    listen = next(p.listen for p in lab.proxies if p.name == "catalog")
    upstream = next(p.upstream for p in lab.proxies if p.name == "catalog")
    env = {**os.environ, "CHAOSRUN_HOME": str(workdir / "home")}
    plans = [(400, 1.0), (1500, 2.0), (3000, 5.0), (800, 0.5)][: args.runs]
    results = []
    for i, (ms, window) in enumerate(plans):
        path = workdir / f"run-{i}.yaml"
        path.write_text(
            EXPERIMENT.format(
                ms=ms,
                listen=listen,
                toxiproxy=lab.toxiproxy_url,
                rate=args.rate,
                warmup=args.lead_s,
                cooldown=round(max(WINDOWS) + STABILITY_S + 1.5, 3),
                window=window,
                stability=STABILITY_S,
                pause=round(ms / 1000.0 + 0.3, 3),
            )
        )
        started = time.monotonic()
        proc = subprocess.run(
            [str(BIN / "chaosrun"), "run", str(path), "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        wall = round(time.monotonic() - started, 2)
        try:
            summary = json.loads(proc.stdout)
        except ValueError:
            raise RuntimeError(
                f"chaosrun run exited {proc.returncode} without a JSON summary: {proc.stderr}"
            ) from None
        results.append(_run_result(i, ms, window, summary, upstream, proc.returncode, wall))
        _progress(results[-1])
    return results


def _run_result(
    i: int, ms: int, window: float, summary: dict[str, Any], upstream: str, code: int, wall: float
) -> dict[str, Any]:
    journal = json.loads(Path(summary["journal"]).read_text())
    section = journal.get("chaosrun") or {}
    recovery = section.get("recovery") or {}
    output = (journal.get("run") or [{}])[0].get("output") or {}
    start, end = float(output["start"]), float(output["end"])  # the dependency's own window
    stats = _get_json(f"http://{upstream}/_stats")
    arrivals = [(float(a["wall"]), not a["failed"]) for a in stats["arrivals"]]
    truth = truth_from_arrivals(start, end, arrivals, served_ok=end)
    brief = summary.get("recovery") or {}
    reported = {name: _ms(brief.get(name)) for name in FIGURES}
    truth_ms = _ms_figures(truth.figures)
    errors = {name: _sub(reported[name], truth_ms[name]) for name in FIGURES}
    # The bench's own evaluation of the run's timeline must give the run's figures.
    records = read_timeline(Path(summary["run_dir"]) / "timeline.csv")
    offline = _ms_figures(reported_figures(records, truth, window, kind="fail_for"))
    return {
        "target": "chaosrun-run",
        "i": i,
        "outage_ms": ms,
        "window_s": window,
        "exit_code": code,
        "verdict": summary.get("verdict"),
        "load_short": not summary.get("measurement_trusted", False),
        "journal_t_inject_minus_S_ms": _ms(_diff(recovery.get("t_inject"), start)),
        "journal_t_clear_minus_E_ms": _ms(_diff(recovery.get("t_clear"), end)),
        "truth_ms": truth_ms,
        "reported_ms": reported,
        "error_ms": errors,
        "bench_from_run_timeline_ms": offline,
        "wall_s": wall,
    }


def _sub(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a - b, 3)


def _diff(a: Any, b: float) -> float | None:
    return None if a is None else float(a) - b


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5.0) as response:
        return json.loads(response.read())


def _tail() -> float:
    # The pre-fix analysis recovers about one window after the outage, then needs stability_s.
    return max(WINDOWS) + STABILITY_S + 1.0


def _progress(trial: dict[str, Any]) -> None:
    print(_trial_line(trial), flush=True)


def _trial_line(trial: dict[str, Any]) -> str:
    """One line per trial (< 100 columns): errors in ms, reported - truth."""
    short = " short" if trial["load_short"] else ""
    if trial["target"] == "chaosrun-run":
        err = trial["error_ms"]
        return (
            f" chaosrun run #{trial['i']}  {trial['outage_ms']:>4} ms  window "
            f"{trial['window_s']:g} s  exit {trial['exit_code']}  rto err {_fmt(err['rto_s'])}  "
            f"ttd err {_fmt(err['ttd_s'])}  {trial['wall_s']:.1f} s{short}"
        )
    rto = " ".join(
        f"{float(w):g}s:{_fmt(trial['windows'][w]['error_ms']['rto_s'])}" for w in trial["windows"]
    )
    truth = trial["truth_ms"]
    return (
        f" {trial['target']:<8} #{trial['i']:<2} {trial['outage_ms']:>4} ms  truth after-clear "
        f"{_fmt(truth['recovery_after_clear_s']):>4}  rto err {rto} {trial['wall_s']:.0f}s{short}"
    )


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:+.0f}"


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def summarise(trials: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for target in ("lab", "external"):
        mine = [t for t in trials if t["target"] == target]
        if not mine:
            continue
        for window in WINDOWS:
            for name in FIGURES:
                errors = [t["windows"][str(window)]["error_ms"][name] for t in mine]
                values = [e for e in errors if e is not None]
                absolute = [abs(e) for e in values]
                row: dict[str, Any] = {
                    "target": target,
                    "window_s": window,
                    "figure": name,
                    "n": len(values),
                    "missing": len(errors) - len(values),
                    "median_ms": round(statistics.median(values), 1) if values else None,
                    "p95_abs_ms": round(_p95(absolute), 1) if values else None,
                    "max_abs_ms": round(max(absolute), 1) if values else None,
                }
                row["goal_met"] = bool(values) and not row["missing"] and row["p95_abs_ms"] <= 25
                rows.append(row)
    return rows


def render(rows: list[dict[str, Any]], trials: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    title = "RTO accuracy" + (f" ({meta['label']})" if meta.get("label") else "")
    lines = [
        title,
        f"reported - ground truth (ms); goal p95 |error| <= {GOAL_MS:g} ms",
        f"chaosrun: {meta['chaosrun']}",
        f"load {meta['rate']:g} req/s open loop: resolution {meta['interval_ms']:g} ms; "
        f"outages {meta['outage_ms'][0]}-{meta['outage_ms'][1]} ms; lead {meta['lead_s']:g} s",
        f"SLO availability 0.99 over windows {'/'.join(f'{w:g}' for w in WINDOWS)} s, "
        f"stability_s {STABILITY_S:g}",
    ]
    for target in ("lab", "external"):
        mine = [t for t in trials if t["target"] == target]
        if not mine:
            continue
        after = [t["truth_ms"]["recovery_after_clear_s"] for t in mine]
        after_known = [a for a in after if a is not None]
        short = sum(t["load_short"] for t in mine)
        note = f"{target}: {len(mine)} trials, load short in {short}"
        if target == "external" and after_known:
            note += (
                f"; truth after-clear median {statistics.median(after_known):.0f} ms, max "
                f"{max(after_known):.0f} ms"
            )
        lines.append(note)
        if target == "external":
            lines.append(_haproxy_note(mine))
    header = (
        f"{'target':<9}{'window':>7}  {'figure':<12}{'n':>4}{'miss':>6}{'median':>9}"
        f"{'p95|err|':>10}{'max|err|':>10}  goal"
    )
    lines += ["", header, "-" * len(header)]
    for row in rows:
        lines.append(
            f"{row['target']:<9}{row['window_s']:>6g}s  {SHORT[row['figure']]:<12}{row['n']:>4}"
            f"{row['missing']:>6}{_num(row['median_ms'], True):>9}{_num(row['p95_abs_ms']):>10}"
            f"{_num(row['max_abs_ms']):>10}  {'ok' if row['goal_met'] else 'MISS'}"
        )
    runs = [t for t in trials if t["target"] == "chaosrun-run"]
    if runs:
        lines += ["", "chaosrun run --json (catalog fail_for, load through its proxy):"]
        lines.append(
            f"{'outage':>7}{'window':>8}{'exit':>6}  {'truth rto':>10}{'reported':>10}{'error':>8}"
            f"{'ttd err':>9}{'after err':>10}  bench=run"
        )
        for run in runs:
            rep, err = run["reported_ms"], run["error_ms"]
            same = all(
                rep[n] is not None
                and run["bench_from_run_timeline_ms"][n] is not None
                and abs(rep[n] - run["bench_from_run_timeline_ms"][n]) <= 1.0
                for n in FIGURES
            )
            lines.append(
                f"{run['outage_ms']:>5}ms{run['window_s']:>7g}s{run['exit_code']:>6}  "
                f"{_num(run['truth_ms']['rto_s']):>10}{_num(rep['rto_s']):>10}"
                f"{_num(err['rto_s'], True):>8}{_num(err['ttd_s'], True):>9}"
                f"{_num(err['recovery_after_clear_s'], True):>10}  {'yes' if same else 'NO'}"
            )
    return "\n".join(lines)


def _haproxy_note(trials: list[dict[str, Any]]) -> str:
    """HAProxy's own log: when it took backends out of rotation and put them back."""
    down = [v for t in trials for v in t["haproxy"]["down_after_start_ms"].values()]
    up = [v for t in trials for v in t["haproxy"]["up_after_end_ms"].values()]
    both_down = sum(len(t["haproxy"]["down_after_start_ms"]) == 2 for t in trials)
    check = trials[0]["haproxy"]
    text = (
        f"  HAProxy (check inter {check['inter_ms']} ms, fall {check['fall']}, rise "
        f"{check['rise']}): both backends DOWN in {both_down}/{len(trials)} trials"
    )
    if down:
        text += f"\n  a backend marked DOWN at S+{statistics.median(down):.0f} ms (median)"
    if up:
        text += f", UP at E+{statistics.median(up):.0f} ms (median), max E+{max(up):.0f} ms"
    return text


def _num(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.1f}" if signed else f"{value:.1f}"


def describe_chaosrun() -> str:
    path = Path(chaosrun.measure.recovery.__file__)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    commit = subprocess.run(
        ["git", "-C", str(path.parent), "log", "-1", "--format=%h", "--", path.name],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    where = f"last commit {commit}" if commit else "not a git checkout"
    return f"{path.parents[2]} (measure/recovery.py sha256 {digest}, {where})"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=20, help="outages per target (20)")
    parser.add_argument("--rate", type=float, default=200.0, help="load, req/s (200)")
    parser.add_argument("--quick", action="store_true", help="6 trials per target, 1 run")
    parser.add_argument("--runs", type=int, default=3, help="real chaosrun runs (3; max 4)")
    parser.add_argument("--targets", default="lab,external", help="lab,external")
    parser.add_argument("--lead-s", type=float, default=max(WINDOWS), help="load before S")
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument("--label", default="", help="printed with the results (e.g. before)")
    parser.add_argument("--json", type=Path, default=None, help="write every figure here")
    parser.add_argument("--workdir", type=Path, default=None, help="keep timelines and logs here")
    parser.add_argument("--from-json", type=Path, default=None, help="print a saved result")
    args = parser.parse_args()
    if args.from_json is not None:
        saved = json.loads(args.from_json.read_text())
        for trial in saved["trials"]:
            print(_trial_line(trial))
        print()
        print(render(saved["summary"], saved["trials"], saved["meta"]))
        print(f"\nbench duration: {saved['meta']['duration_s']:.0f} s")
        return 0
    if args.quick:
        args.trials, args.runs = min(args.trials, 6), min(args.runs, 1)
    if not 0 < args.rate <= 1000 or args.trials < 1 or not 0 <= args.runs <= 4:
        parser.error("--rate must be in (0, 1000], --trials >= 1, --runs in 0..4")
    targets = [t for t in args.targets.split(",") if t]
    if unknown := set(targets) - {"lab", "external"}:
        parser.error(f"unknown targets {sorted(unknown)}")
    durations = outage_schedule(args.trials, 150, 5000, args.seed)
    meta: dict[str, Any] = {
        "label": args.label,
        "chaosrun": describe_chaosrun(),
        "rate": args.rate,
        "interval_ms": round(1000.0 / args.rate, 3),
        "outage_ms": [min(durations), max(durations)],
        "lead_s": args.lead_s,
        "tail_s": _tail(),
        "windows_s": list(WINDOWS),
        "stability_s": STABILITY_S,
        "availability": 0.99,
        "goal_p95_abs_ms": GOAL_MS,
    }
    print(
        f"RTO accuracy bench: {args.trials} trials per target, outages {durations} ms", flush=True
    )
    began = time.monotonic()
    trials: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="chaosrun-accuracy-") as tmp:
        workdir = Path(tmp) if args.workdir is None else args.workdir
        if "lab" in targets:
            trials += run_lab_trials(durations, workdir, args)
        else:
            args.runs = 0
        if "external" in targets:
            trials += run_external_trials(durations, workdir, args)
    meta["duration_s"] = round(time.monotonic() - began, 1)
    rows = summarise(trials)
    print()
    print(render(rows, trials, meta))
    print(f"\nbench duration: {meta['duration_s']:.0f} s", flush=True)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps({"meta": meta, "summary": rows, "trials": trials}, indent=2) + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
