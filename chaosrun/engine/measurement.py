"""Measurement around a run: load before the worker starts, snapshots after it ends.

begin: when the run judges resilience verdicts, record what reaches each dependency
       (`chaosrun.engine.recording`); start the open-loop load, let it warm up.
end:   keep the load running for the cooldown (recovery stays observable), stop it, end the
       recording, read the service's own account (``/state``, when it has one), then hand
       everything to the pure analysis.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaosrun.checks.observation import BreakerTransition, Observation, StoredWrites
from chaosrun.engine import undo
from chaosrun.engine.loadproc import LoadProcess, start_load
from chaosrun.engine.recording import Recording, end_recording, start_recording
from chaosrun.engine.statesampler import StateSampler, Watched
from chaosrun.engine.target import Target
from chaosrun.errors import LabError
from chaosrun.fetch import fetch_json
from chaosrun.measure.timeline import read_timeline
from chaosrun.model import Experiment
from chaosrun.record.breakerstate import parse_selector, transitions_from_samples
from chaosrun.record.read import read_recording

__all__ = ["Measurement", "begin_measurement", "breaker_accounts", "end_measurement"]

_FIRST_RECORD_TIMEOUT_S = 10.0


@dataclass(slots=True)
class Measurement:
    load: LoadProcess
    rate: float
    started_at: float  # the run's evidence begins here (a long-lived lab carries earlier runs)
    baseline_state: dict[str, Any]  # the service's /state at that moment ({} if unreadable)
    recording: Recording | None = None
    sampler: StateSampler | None = None


def _endpoints_using(target: Target, gateway_state: Any) -> dict[str, tuple[str, ...]]:
    if isinstance(gateway_state, dict) and isinstance(gateway_state.get("endpoints"), dict):
        return {k: tuple(v) for k, v in gateway_state["endpoints"].items()}
    return target.endpoints_using()


def _state_sampler(experiment: Experiment, target: Target) -> StateSampler | None:
    from chaosrun.checks.expectations import BreakerExpectation

    watched = []
    for e in experiment.chaosrun.expect:
        if isinstance(e, BreakerExpectation) and e.state_metric is not None:
            selector = parse_selector(e.state_metric)
            assert selector is not None  # validated with the experiment
            url = e.metrics_url or f"{target.service_url.rstrip('/')}/metrics"
            watched.append(Watched(e.dependency, url, selector))
    return StateSampler(tuple(watched)) if watched else None


def _read_back(experiment: Experiment, target: Target) -> StoredWrites | None:
    """The database read back after the run, when a writes expectation asks for it."""
    from chaosrun.checks.expectations import WritesExpectation
    from chaosrun.record.readback import read_back

    wanted = [e for e in experiment.chaosrun.expect if isinstance(e, WritesExpectation)]
    if not wanted or wanted[0].lost_max is None:
        return None
    expectation = wanted[0]
    addresses = expectation.sentinels or target.sentinels()
    if not addresses:
        problem = "the target names no Sentinel: give expect.writes.sentinels"
        return StoredWrites(frozenset(), "database", time.time(), problem)
    sentinels = [(a.rpartition(":")[0], int(a.rpartition(":")[2])) for a in addresses]
    return read_back(sentinels, expectation.master, expectation.key_prefix)


def breaker_accounts(
    sampler: StateSampler | None,
    samples: Mapping[str, list[tuple[float, str]]],
    unread: list[str],
) -> dict[str, tuple[tuple[BreakerTransition, ...], str]]:
    """Per dependency: the transitions its sampled states show, and the metric they came from;
    a named metric that matched nothing goes to `unread`, one line each."""
    if sampler is None:
        return {}
    accounts = {}
    for w in sampler.watched:
        found = samples.get(w.dependency, [])
        if not found:
            unread.append(
                f"state_metric of {w.dependency}: {w.selector} matched no series at {w.url} "
                f"({sampler.failed_reads} of {sampler.reads} reads failed)"
            )
            continue
        accounts[w.dependency] = (transitions_from_samples(found), str(w.selector))
    return accounts


def begin_measurement(
    experiment: Experiment, target: Target, run_dir: Path, on_event: Any
) -> Measurement | None:
    spec = experiment.chaosrun.load
    if spec is None:
        return None
    recording = (
        start_recording(target.toxiproxy_url, run_dir)
        if experiment.chaosrun.expect and target.toxiproxy_url
        else None
    )
    sampler = _state_sampler(experiment, target)
    started_at = time.time()
    baseline: Any = {}
    with contextlib.suppress(OSError, ValueError):
        baseline = fetch_json(f"{target.service_url}/state")
    budget = experiment.chaosrun.deadline_s + spec.warmup_s + spec.cooldown_s + 60.0
    try:
        load = start_load(spec, target.service_url, run_dir, budget)
        on_event(
            {
                "event": "load",
                "phase": "started",
                "rate": spec.rate,
                "endpoints": [p for p, _ in spec.endpoints],
            }
        )
        if sampler is not None:
            sampler.start()
        if not load.wait_first_records(_FIRST_RECORD_TIMEOUT_S):
            load.stop()
            raise LabError(
                f"the load process recorded no request within {_FIRST_RECORD_TIMEOUT_S:g} s; "
                f"see {run_dir / 'load.log'}"
            )
    except BaseException:  # nothing measured: the recording and the sampler end here
        if sampler is not None:
            sampler.stop()
        if recording is not None:
            end_recording(recording)
        raise
    time.sleep(spec.warmup_s)
    return Measurement(
        load,
        spec.rate,
        started_at,
        baseline if isinstance(baseline, dict) else {},
        recording,
        sampler,
    )


def _timeline_marks(observation: Observation) -> dict[str, Any]:
    """What reports draw over the timeline: each fault window, and each breaker's transitions
    as the service tells them (its own account: shown, never the evidence of a verdict)."""
    return {
        "fault_windows": [
            {
                "kind": f.kind,
                "target": f.target,
                "injected_at": round(f.injected_at, 6),
                "cleared_at": None if f.cleared_at is None else round(f.cleared_at, 6),
            }
            for f in observation.faults
        ],
        "breakers": {
            name: [
                {"at": round(t.at, 6), "from": t.from_state, "to": t.to_state}
                for t in dependency.transitions
            ]
            for name, dependency in observation.dependencies.items()
            if dependency.breaker_enabled or dependency.transitions
        },
    }


def end_measurement(
    measurement: Measurement,
    experiment: Experiment,
    target: Target,
    run_dir: Path,
    interrupted: Callable[[], bool],
    on_event: Any,
    method_ran: bool = True,
) -> dict[str, Any]:
    """`interrupted` cuts the cooldown short (Ctrl-C must not wait for it); without
    `method_ran` no verdict is judged (there was nothing to judge)."""
    spec = experiment.chaosrun.load
    assert spec is not None
    problems: list[str] = []
    try:
        if not interrupted() and spec.cooldown_s > 0:
            on_event({"event": "load", "phase": "cooldown", "seconds": spec.cooldown_s})
            ends = time.monotonic() + spec.cooldown_s
            while not interrupted() and (left := ends - time.monotonic()) > 0:
                time.sleep(min(left, 0.05))
        load_summary = measurement.load.stop()
    finally:
        samples = measurement.sampler.stop() if measurement.sampler is not None else {}
        if measurement.recording is not None:
            problems += end_recording(measurement.recording)
    gateway_state: Any = None
    try:
        gateway_state = fetch_json(f"{target.service_url}/state")
    except (OSError, ValueError) as exc:
        problems.append(f"the service's own account (/state) unavailable: {exc}")
    recorded = {}
    if measurement.recording is not None:
        try:
            with open(measurement.recording.path, encoding="utf-8", errors="replace") as lines:
                recorded = read_recording(lines)
        except OSError as exc:
            problems.append(f"the recording of what reached the dependencies is unreadable: {exc}")
    unread: list[str] = []
    accounts = breaker_accounts(measurement.sampler, samples, unread)
    from chaosrun.checks.evaluate import evaluate
    from chaosrun.checks.gather import build_observation

    stored = _read_back(experiment, target)
    observation = build_observation(
        timeline=read_timeline(measurement.load.timeline),
        faults=undo.fault_windows(run_dir / "undo.log"),
        gateway_state=gateway_state if isinstance(gateway_state, dict) else {},
        dependency_stats={},
        endpoints_using=_endpoints_using(target, gateway_state),
        since=measurement.started_at,
        baseline_state=measurement.baseline_state,
        recorded=recorded,
        breaker_accounts=accounts,
        stored=stored,
    )
    result = evaluate(
        observation,
        experiment.chaosrun,
        load_summary,
        method_ran=method_ran,
        interrupted=interrupted(),
    )
    result["measurement_problems"] = problems
    result.update(_timeline_marks(observation))
    result["measurement_notes"] = [*result["measurement_notes"], *unread]  # shown to the user
    on_event({"event": "measured", **result})
    return result
