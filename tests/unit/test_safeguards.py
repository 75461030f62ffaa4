"""Stop conditions: parsing (exact one-line messages) and the pure evaluation over timelines."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaosrun.engine.safeguards import BreachClock, BudgetTally, SliMonitor, margin_for, observe
from chaosrun.engine.watchdog import ConnectionRefusals
from chaosrun.errors import InputError
from chaosrun.load import load_experiment
from chaosrun.model import ProbeGuard, SliGuard

from .timelines import T0, failed, ok, synthetic

HEAD = """title: t
description: d
extensions:
  - name: chaosrun
    load: {rate: 100, endpoints: [/api/play]}
    slo: {availability: 0.99}
    abort_when:
"""
TAIL = """method:
  - {type: probe, name: p, provider: {type: python, module: chaosrun.probes.sli, func: live_sli}}
"""


def _load(tmp_path: Path, guards: str, head: str = HEAD) -> tuple[object, ...]:
    path = tmp_path / "x.yaml"
    path.write_text(head + guards + TAIL)
    return load_experiment(path).chaosrun.abort_when


def _error(tmp_path: Path, guards: str, head: str = HEAD) -> str:
    with pytest.raises(InputError) as caught:
        _load(tmp_path, guards, head)
    return str(caught.value).replace(str(tmp_path) + "/", "")


def test_every_condition_parses_with_defaults_and_names(tmp_path: Path) -> None:
    guards = _load(
        tmp_path,
        "      - availability_below: 0.9\n"
        "      - {latency_ms_above: {p99: 800}, for_s: 0.5, window_s: 2, endpoint: /api/play}\n"
        "      - {error_budget_burned_above: 2, name: budget}\n"
        "      - probe: {type: probe, name: up, tolerance: 200,"
        " provider: {type: http, url: 'http://127.0.0.1:1/'}}\n"
        "        every_s: 0.5\n",
    )
    assert guards == (
        SliGuard("availability below 0.9", "availability", 0.9),
        SliGuard("p99 on /api/play above 800 ms", "p99", 800.0, 0.5, 2.0, "/api/play"),
        SliGuard("budget", "error_budget", 2.0),
        ProbeGuard(
            "probe up",
            {
                "type": "probe",
                "name": "up",
                "tolerance": 200,
                "provider": {"type": "http", "url": "http://127.0.0.1:1/"},
            },
            every_s=0.5,
        ),
    )


@pytest.mark.parametrize(
    ("guards", "message"),
    [
        (
            "      - {availability_below: 0.9, latency_ms_above: {p99: 1}}\n",
            "x.yaml:8: extensions[0].abort_when[0]: expected exactly one of availability_below, "
            "latency_ms_above, error_budget_burned_above, probe; found availability_below and "
            "latency_ms_above",
        ),
        (
            "      - {availabilty_below: 0.9}\n",
            "x.yaml:8: extensions[0].abort_when[0].availabilty_below: unknown key "
            "'availabilty_below'; did you mean 'availability_below'?",
        ),
        (
            "      - {availability_below: 95}\n",
            "x.yaml:8: extensions[0].abort_when[0].availability_below: expected a number at "
            "most 1, got 95",
        ),
        (
            "      - {latency_ms_above: {p98: 5}}\n",
            "x.yaml:8: extensions[0].abort_when[0].latency_ms_above.p98: unknown percentile "
            "'p98'; did you mean 'p99'?",
        ),
        (
            "      - {latency_ms_above: {p99: 5, p50: 1}}\n",
            "x.yaml:8: extensions[0].abort_when[0].latency_ms_above: expected exactly one "
            "percentile (one stop condition each), got 2",
        ),
        (
            "      - {availability_below: 0.9, for_s: -1}\n",
            "x.yaml:8: extensions[0].abort_when[0].for_s: expected a non-negative number, got -1",
        ),
        (
            "      - {probe: {type: action, name: a, provider: {type: python,"
            " module: chaosrun.probes.sli, func: live_sli}}}\n",
            "x.yaml:8: extensions[0].abort_when[0].probe.type: a safeguard runs a probe, not "
            "an action",
        ),
        (
            "      - {probe: {type: probe, name: a, provider: {type: python,"
            " module: chaosrun.probes.sli, func: live_sli}}}\n",
            "x.yaml:8: extensions[0].abort_when[0].probe: missing required key 'tolerance' "
            "(every hypothesis probe needs one)",
        ),
        (
            "      - {availability_below: 0.9}\n      - {availability_below: 0.9}\n",
            "x.yaml:9: extensions[0].abort_when[1]: duplicate safeguard name "
            "'availability below 0.9' (also extensions[0].abort_when[0])",
        ),
    ],
)
def test_bad_stop_conditions_get_one_exact_line(tmp_path: Path, guards: str, message: str) -> None:
    assert _error(tmp_path, guards) == message


def test_live_conditions_need_the_load_and_the_budget_needs_an_slo(tmp_path: Path) -> None:
    no_load = HEAD.replace("    load: {rate: 100, endpoints: [/api/play]}\n", "")
    assert _error(tmp_path, "      - availability_below: 0.9\n", no_load) == (
        "x.yaml:7: extensions[0].abort_when[0]: this stop condition reads the live load: "
        "declare 'load' too"
    )
    no_slo = HEAD.replace("    slo: {availability: 0.99}\n", "")
    assert _error(tmp_path, "      - error_budget_burned_above: 1\n", no_slo) == (
        "x.yaml:7: extensions[0].abort_when[0]: the error budget comes from the SLO: "
        "declare 'slo.availability' too"
    )


AVAILABILITY = SliGuard("floor", "availability", 0.9, for_s=0.5, window_s=1.0)


def test_availability_breaches_only_below_the_floor() -> None:
    outage = synthetic(100, 10, bad=lambda rel: 4.0 <= rel < 6.0)
    tally = BudgetTally(T0)
    healthy = observe(AVAILABILITY, outage, T0 + 3.5, 100, 0.99, tally)
    assert healthy.value == 1.0 and not healthy.breached
    during = observe(AVAILABILITY, outage, T0 + 5.6, 100, 0.99, tally)
    assert during.value == 0.0 and during.breached
    assert during.text == "availability 0.000 < 0.9 (100/100 failed in 1 s)"


def test_latency_counts_unanswered_requests_as_slower_than_the_threshold() -> None:
    guard = SliGuard("slow", "p99", 500.0, window_s=1.0)
    assert margin_for(guard) == pytest.approx(0.55)
    # Requests stop coming back at T0 + 5 (a blackhole): nothing in the timeline after that.
    answered = [r for r in synthetic(100, 10) if r.scheduled < T0 + 5.0]
    tally = BudgetTally(T0)
    before = observe(guard, answered, T0 + 4.9, 100, None, tally, load_started=T0)
    assert not before.breached
    stalled = observe(guard, answered, T0 + 6.6, 100, None, tally, load_started=T0)
    assert stalled.breached and stalled.value == 550.0
    assert stalled.text == "p99 550 ms > 500 ms (0 answered, 100 unanswered in 1 s)"


def test_the_window_before_the_load_started_is_not_unanswered() -> None:
    guard = SliGuard("slow", "p99", 500.0, window_s=1.0)
    records = synthetic(100, 1.0)  # the load began at T0; the window reaches back before it
    seen = observe(guard, records, T0 + 1.2, 100, None, BudgetTally(T0), load_started=T0)
    assert not seen.breached, seen.text


def test_error_budget_burn_over_the_run_so_far() -> None:
    guard = SliGuard("budget", "error_budget", 2.0)
    tally = BudgetTally(T0)
    tally.add([ok(T0 - 1)])  # before the experiment: not counted
    tally.add(synthetic(100, 10, bad=lambda rel: rel < 0.2))  # 20 of 1000 failed
    seen = observe(guard, [], T0 + 10, 100, 0.99, tally)
    assert seen.value == pytest.approx(2.0) and not seen.breached
    tally.add([failed(T0 + 10.5)])
    assert observe(guard, [], T0 + 11, 100, 0.99, tally).breached
    few = BudgetTally(T0)
    few.add([failed(T0)])
    assert observe(guard, [], T0 + 1, 100, 0.99, few).value is None  # 1 request: no budget yet


def test_breach_clock_needs_an_uninterrupted_breach() -> None:
    clock = BreachClock()
    assert clock.update("a", True, 10.0, 1.0) is None
    assert clock.update("a", True, 10.6, 1.0) is None
    assert clock.update("a", False, 10.8, 1.0) is None  # interrupted: starts again
    assert clock.update("a", True, 11.0, 1.0) is None
    assert clock.update("a", True, 12.0, 1.0) == 11.0
    assert BreachClock().update("b", True, 5.0, 0.0) == 5.0


def test_sli_monitor_fires_after_for_s_and_names_the_guard() -> None:
    monitor = SliMonitor((AVAILABILITY,), 100, 0.99, T0)
    outage = synthetic(100, 10, bad=lambda rel: rel >= 4.0)
    firing = None
    now = T0 + 1.0
    while firing is None and now < T0 + 10:
        fresh = [r for r in outage if now - 0.1 <= r.completed < now]
        firing = monitor.poll(now, fresh)
        now += 0.1
    assert firing is not None
    assert firing.safeguard == "floor" and firing.kind == "slo"
    # Over 10% of the window [now - 1.25, now - 0.25) fails from now = 4.35; then for_s = 0.5.
    assert T0 + 4.85 <= firing.at <= T0 + 5.0
    assert firing.reason.startswith("safeguard 'floor' fired: availability ")


def test_connection_refusals_fire_after_a_streak() -> None:
    refusals = ConnectionRefusals("http://127.0.0.1:1", refused_for_s=1.0)
    refusals.add([ok(T0), failed(T0 + 0.1), failed(T0 + 0.2), failed(T0 + 0.3)])
    assert refusals.poll(T0 + 0.9) is None
    firing = refusals.poll(T0 + 1.2)
    assert firing is not None and firing.kind == "target"
    assert firing.reason.startswith("target unreachable: http://127.0.0.1:1 refused every")
    refusals.add([ok(T0 + 1.3)])
    assert refusals.poll(T0 + 2.0) is None
