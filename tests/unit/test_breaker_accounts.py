"""The breaker accounts a run hands to the verdicts, from the states it sampled (measurement)."""

from __future__ import annotations

from chaosrun.checks.observation import BreakerTransition
from chaosrun.engine.measurement import breaker_accounts
from chaosrun.engine.statesampler import StateSampler, Watched
from chaosrun.record.breakerstate import parse_selector


def _sampler() -> StateSampler:
    catalog = parse_selector('m{dependency="catalog"}')
    auth = parse_selector('m{dependency="auth"}')
    assert catalog is not None and auth is not None
    sampler = StateSampler(
        (
            Watched("catalog", "http://127.0.0.1:1/metrics", catalog),
            Watched("auth", "http://127.0.0.1:1/metrics", auth),
        )
    )
    sampler.reads, sampler.failed_reads = 40, 2
    return sampler


def test_sampled_states_become_an_account_and_a_metric_that_matched_nothing_is_said() -> None:
    unread: list[str] = []
    samples = {"catalog": [(1.0, "closed"), (1.1, "open"), (2.1, "half-open"), (2.2, "closed")]}
    accounts = breaker_accounts(_sampler(), samples, unread)
    assert accounts == {
        "catalog": (
            (
                BreakerTransition(1.1, "closed", "open"),
                BreakerTransition(2.1, "open", "half-open"),
                BreakerTransition(2.2, "half-open", "closed"),
            ),
            'm{dependency="catalog"}',
        )
    }
    assert unread == [
        'state_metric of auth: m{dependency="auth"} matched no series at '
        "http://127.0.0.1:1/metrics (2 of 40 reads failed)"
    ]


def test_no_sampler_no_account() -> None:
    unread: list[str] = []
    assert breaker_accounts(None, {}, unread) == {}
    assert unread == []
