"""chaosrun.checks.circuit_breaker at its edges: a service that does not say which endpoints use
the dependency, the sentences of a breaker never seen open, the account of a long history and
the sequence verdict without recorded transitions (pinned against surviving mutants)."""

from __future__ import annotations

import dataclasses

from chaosrun.checks.circuit_breaker import _traffic_kept_reaching, check_circuit_breaker
from chaosrun.checks.observation import Arrival, Observation, Verdict
from chaosrun.measure.timeline import RequestRecord
from tests.unit.test_check_breaker import EXPECT, FAULT, HEALTHY, T0, observation, verdicts

NEEDS_ENDPOINTS = (
    "not judged: the endpoints that use catalog (the service does not say): name them in "
    "expect.circuit_breaker.endpoints"
)


def _silent(obs: Observation, *, only: str | None = None) -> Observation:
    timeline = tuple(r for r in obs.timeline if only is None or r.endpoint == only)
    return dataclasses.replace(obs, endpoints_using={}, timeline=timeline)


def test_a_service_that_does_not_say_with_several_endpoints_judges_nothing() -> None:
    result = check_circuit_breaker(_silent(observation()), EXPECT)
    assert [(v.status, v.observed) for v in result] == [("not-judged", NEEDS_ENDPOINTS)] * 6
    assert result[2] == Verdict(
        "circuit_breaker.stops_traffic",
        False,
        "no arrival at catalog while open (after 100 ms grace)",
        NEEDS_ENDPOINTS,
        judged=False,
    )


def test_a_service_that_does_not_say_with_one_load_endpoint_uses_it() -> None:
    told = verdicts(_silent(observation(), only="/api/browse"))
    assert told == verdicts(dataclasses.replace(observation(), timeline=_only_browse()))
    assert all(v.passed for v in told.values())


def _only_browse() -> tuple[RequestRecord, ...]:
    return tuple(r for r in observation().timeline if r.endpoint == "/api/browse")


def test_the_expected_sentences_of_stops_traffic_and_sequence() -> None:
    v = verdicts(observation())
    assert v["stops_traffic"].expected == "no arrival at catalog while open (after 100 ms grace)"
    assert v["sequence"].expected == (
        "only closed->open, open->half-open, half-open->closed, half-open->open"
    )


def test_the_account_names_three_transitions_and_counts_the_rest() -> None:
    four = v_account(HEALTHY[:4])
    assert four == (
        "closed->open 0.300 s after, open->half-open 1.300 s after, half-open->open 1.600 s "
        "after injection, ... (4 in all)"
    )
    assert v_account(HEALTHY[:3]) == (
        "closed->open 0.300 s after, open->half-open 1.300 s after, half-open->open 1.600 s "
        "after injection"
    )


def v_account(transitions: tuple[tuple[float, str, str], ...]) -> str | None:
    return verdicts(observation(transitions))["opens"].account


def test_the_sentence_of_traffic_that_kept_reaching_counts_from_injection_to_clearing() -> None:
    snapshot = observation().dependencies["catalog"]
    at = [T0 + 1.0, T0 + 1.25, T0 + 2.0, T0 + 4.0]  # the first at injection, the last at clearing
    arrivals = tuple(Arrival(t, "/catalog", False) for t in at)
    calls = [T0 + 0.5, T0 + 1.0, T0 + 3.0, T0 + 4.0]
    why = _traffic_kept_reaching(
        dataclasses.replace(snapshot, arrivals=arrivals), calls, T0 + 1.0, T0 + 4.0
    )
    assert why == (
        "traffic kept reaching catalog through the fault: 3 arrivals for 2 requests using it, "
        "longest silence 2000 ms"
    )


def test_a_breaker_never_seen_open_explains_only_the_verdicts_that_failed() -> None:
    # The service recorded a 0.2 s open period with nothing reaching catalog in it: too short
    # to be seen from outside (MIN_SILENCE_S), yet stops_traffic holds on the service's claim;
    # the failing verdicts say why nothing was seen open, the passing one is left as it is.
    claimed = ((1.3, "closed", "open"), (1.5, "open", "half-open"), (1.52, "half-open", "closed"))

    def arrivals(_opens: list[tuple[float, float]]) -> list[float]:
        grid = [0.005 + 0.02 * i for i in range(500)]
        return [t for t in grid if not 1.3 <= t < 1.5]

    v = verdicts(observation(claimed, arrival_times=arrivals))
    assert (v["stops_traffic"].status, v["stops_traffic"].observed) == (
        "passed",
        "0 arrivals at catalog inside 1 open period (0.10 s after grace); 490 arrivals in all",
    )
    assert v["opens"].status == "failed"
    assert v["opens"].observed.endswith(
        "; traffic kept reaching catalog through the fault: "
        "140 arrivals for 150 requests using it, longest silence "
        "220 ms"
    )


def test_a_fault_never_cleared_counts_degraded_requests_to_the_end_of_the_observation() -> None:
    endless = dataclasses.replace(FAULT, cleared_at=None)
    v = verdicts(observation((), faults=(endless,)))
    assert v["opens"].observed.startswith(
        "breaker never opened (0 transitions) while 150 requests on /api/browse were degraded"
    )


def test_sequence_without_recorded_transitions_is_not_judged() -> None:
    obs = observation()
    sampled = dataclasses.replace(
        obs.dependencies["catalog"], account_source="resilience4j_circuitbreaker_state"
    )
    v = verdicts(dataclasses.replace(obs, dependencies={"catalog": sampled}))
    assert v["sequence"] == Verdict(
        "circuit_breaker.sequence",
        False,
        "only closed->open, open->half-open, half-open->closed, half-open->open",
        "not judged: the service's recorded transitions (resilience4j_circuitbreaker_state is "
        "sampled: a state between two samples is missed, so no illegal transition can be told)",
        judged=False,
        account=v["sequence"].account,
    )
    silent = dataclasses.replace(obs.dependencies["catalog"], has_account=False, transitions=())
    v = verdicts(dataclasses.replace(obs, dependencies={"catalog": silent}))
    assert v["sequence"] == Verdict(
        "circuit_breaker.sequence",
        False,
        "only closed->open, open->half-open, half-open->closed, half-open->open",
        "not judged: the service's breaker states (a breaker's transitions are not visible "
        "outside it)",
        judged=False,
    )
