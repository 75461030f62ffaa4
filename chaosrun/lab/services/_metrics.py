"""The gateway's Prometheus metrics, in a registry of its own (served on ``GET /metrics``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Enum, Gauge, Histogram

from chaosrun.lab.services._breaker import BREAKER_STATES

__all__ = ["GatewayMetrics"]

_LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2, 5)


class GatewayMetrics:
    """Every Prometheus metric of one gateway process, in its own registry."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.requests = Counter(
            "gateway_requests",
            "Requests by endpoint and status",
            ["endpoint", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "gateway_request_duration_seconds",
            "Request latency by endpoint",
            ["endpoint"],
            buckets=_LATENCY_BUCKETS_S,
            registry=r,
        )
        self.calls = Counter(
            "gateway_dependency_calls",
            "Dependency calls by outcome (ok, timeout, error, rejected, short_circuited)",
            ["dependency", "outcome"],
            registry=r,
        )
        self.breaker = Enum(
            "gateway_breaker_state",
            "Circuit breaker state",
            ["dependency"],
            states=list(BREAKER_STATES),
            registry=r,
        )
        self.in_flight = Gauge(
            "gateway_bulkhead_in_flight",
            "Calls holding a bulkhead slot",
            ["dependency"],
            registry=r,
        )
        self.rejected = Counter(
            "gateway_bulkhead_rejections",
            "Calls rejected by a full bulkhead",
            ["dependency"],
            registry=r,
        )
        self.retries = Counter("gateway_retries", "Retry attempts", ["dependency"], registry=r)
        self.timeouts = Counter(
            "gateway_timeouts", "Attempts that timed out", ["dependency"], registry=r
        )
        self.fallbacks = Counter(
            "gateway_fallbacks", "Fallback answers", ["dependency"], registry=r
        )
