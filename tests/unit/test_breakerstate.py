"""chaosrun.record.breakerstate: a breaker's state read from the service's Prometheus metrics."""

from __future__ import annotations

import pytest

from chaosrun.checks.observation import BreakerTransition
from chaosrun.record.breakerstate import (
    StateSelector,
    current_state,
    parse_selector,
    transitions_from_samples,
)

ENUM = """\
# HELP gateway_breaker_state Circuit breaker state
# TYPE gateway_breaker_state stateset
gateway_breaker_state{dependency="catalog",gateway_breaker_state="closed"} 0.0
gateway_breaker_state{dependency="catalog",gateway_breaker_state="open"} 1.0
gateway_breaker_state{dependency="catalog",gateway_breaker_state="half-open"} 0.0
gateway_breaker_state{dependency="auth",gateway_breaker_state="closed"} 1.0
gateway_breaker_state{dependency="auth",gateway_breaker_state="open"} 0.0
"""

RESILIENCE4J = """\
# HELP resilience4j_circuitbreaker_state The states of the circuit breaker
# TYPE resilience4j_circuitbreaker_state gauge
resilience4j_circuitbreaker_state{name="catalog",state="closed",} 0.0
resilience4j_circuitbreaker_state{name="catalog",state="half_open",} 1.0
resilience4j_circuitbreaker_state{name="catalog",state="open",} 0.0
resilience4j_circuitbreaker_state{name="catalog",state="forced_open",} 0.0
resilience4j_circuitbreaker_state{name="auth",state="forced_open",} 1.0
"""


def test_selectors_parse_with_and_without_labels_and_bad_ones_are_refused() -> None:
    assert parse_selector('resilience4j_circuitbreaker_state{name="catalog"}') == StateSelector(
        "resilience4j_circuitbreaker_state", {"name": "catalog"}
    )
    assert parse_selector(' m { a = "1", b="x\\"y" } ') == StateSelector(
        "m", {"a": "1", "b": 'x\\"y'}
    )
    assert parse_selector("gateway_breaker_state") == StateSelector("gateway_breaker_state", {})
    for bad in ("", "1metric", "m{a=1}", 'm{a="1"', "m x"):
        assert parse_selector(bad) is None, bad
    assert str(parse_selector('m{a="1",b="2"}')) == 'm{a="1",b="2"}'
    assert str(StateSelector("m", {})) == "m"


@pytest.mark.parametrize(
    ("text", "selector", "state"),
    [
        (ENUM, 'gateway_breaker_state{dependency="catalog"}', "open"),
        (ENUM, 'gateway_breaker_state{dependency="auth"}', "closed"),
        (RESILIENCE4J, 'resilience4j_circuitbreaker_state{name="catalog"}', "half-open"),
        (RESILIENCE4J, 'resilience4j_circuitbreaker_state{name="auth"}', "open"),
        (RESILIENCE4J, 'resilience4j_circuitbreaker_state{name="search"}', None),
        (ENUM, 'other_metric{dependency="catalog"}', None),
        ("this is { not prometheus", "m", None),
    ],
)
def test_the_current_state_is_the_series_at_1(text: str, selector: str, state: str | None) -> None:
    parsed = parse_selector(selector)
    assert parsed is not None
    assert current_state(text, parsed) == state


def test_transitions_are_the_samples_that_saw_a_new_state() -> None:
    samples = [(1.0, "closed"), (1.1, "closed"), (1.2, "open"), (1.3, "open"), (2.3, "half-open")]
    samples += [(2.4, "closed")]
    assert transitions_from_samples(samples) == (
        BreakerTransition(1.2, "closed", "open"),
        BreakerTransition(2.3, "open", "half-open"),
        BreakerTransition(2.4, "half-open", "closed"),
    )
    assert transitions_from_samples([]) == ()
    assert transitions_from_samples([(1.0, "open")]) == ()
