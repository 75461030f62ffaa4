"""A breaker's state as the service itself exports it in Prometheus text format (pure).

Two conventions are read, one series per state with value 1 for the current one:
- prometheus_client's `Enum`: the state in a label named like the metric
  (``gateway_breaker_state{dependency="catalog",gateway_breaker_state="open"} 1``);
- resilience4j (Micrometer): the state in a label ``state``
  (``resilience4j_circuitbreaker_state{name="catalog",state="half_open"} 1``).

A selector names the metric and the labels that pick one breaker:
``resilience4j_circuitbreaker_state{name="catalog"}``. States are normalised to closed, open,
half-open (resilience4j's forced_open counts as open); others (disabled, metrics_only) are kept
as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

from chaosrun.checks.observation import BreakerTransition

__all__ = ["StateSelector", "current_state", "parse_selector", "transitions_from_samples"]

_SELECTOR = re.compile(r"\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{(.*)\})?\s*")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')
_NORMAL = {"half_open": "half-open", "forced_open": "open"}


@dataclass(frozen=True, slots=True)
class StateSelector:
    metric: str
    labels: Mapping[str, str]

    def __str__(self) -> str:
        inner = ",".join(f'{k}="{v}"' for k, v in self.labels.items())
        return f"{self.metric}{{{inner}}}" if inner else self.metric


def parse_selector(text: str) -> StateSelector | None:
    """``name{label="value",...}`` -> StateSelector; None when it is not one."""
    match = _SELECTOR.fullmatch(text)
    if match is None:
        return None
    labels: dict[str, str] = {}
    inner = match.group(2) or ""
    position = 0
    while position < len(inner.rstrip()):
        label = _LABEL.match(inner, position)
        if label is None:
            return None
        labels[label.group(1)] = label.group(2)
        position = label.end()
    return StateSelector(match.group(1), labels)


def current_state(exposition: str, selector: StateSelector) -> str | None:
    """The state whose series is 1 for the selected breaker; None when none is (or the text is
    not the Prometheus format)."""
    # Only the metric's own lines are parsed: a service's whole exposition, read every 100 ms,
    # would cost the supervisor more than the sample is worth.
    lines = "\n".join(x for x in exposition.splitlines() if x.startswith(selector.metric))
    try:
        families = list(text_string_to_metric_families(lines + "\n"))
    except ValueError:
        return None
    for family in families:
        for sample in family.samples:
            if sample.name != selector.metric or sample.value != 1:
                continue
            if any(sample.labels.get(k) != v for k, v in selector.labels.items()):
                continue
            state = sample.labels.get(selector.metric) or sample.labels.get("state")
            if state:
                return _NORMAL.get(state, state)
    return None


def transitions_from_samples(samples: Iterable[tuple[float, str]]) -> tuple[BreakerTransition, ...]:
    """(time, state) samples in time order -> a transition at each sample that saw a new state
    (at most one polling interval after the real one)."""
    found: list[BreakerTransition] = []
    previous: str | None = None
    for at, state in samples:
        if previous is not None and state != previous:
            found.append(BreakerTransition(at, previous, state))
        previous = state
    return tuple(found)
