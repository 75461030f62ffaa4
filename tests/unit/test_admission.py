"""Error-budget admission: the burn-rate arithmetic, the decision, and the budget file."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaosrun.admission.burn import BurnLimit, Counts, burn_limit, burn_rate, decide
from chaosrun.admission.sources import admit, history_counts, promql_window
from chaosrun.admission.spec import BudgetPolicy, SloBudget, load_budget
from chaosrun.errors import InputError
from chaosrun.history.store import HistoryRow, append_run

LIMITS = (BurnLimit(0.02, 1.0), BurnLimit(0.05, 6.0))
NOW = 1_796_300_000.0


def test_the_sre_limits_for_a_30_day_window() -> None:
    assert burn_limit(LIMITS[0], 30) == pytest.approx(14.4)
    assert burn_limit(LIMITS[1], 30) == pytest.approx(6.0)
    assert burn_limit(BurnLimit(0.02, 1.0), 7) == pytest.approx(3.36)


def test_burn_rate_is_the_error_ratio_over_the_budget() -> None:
    assert burn_rate(Counts(1, 1000), 0.999) == pytest.approx(1.0)
    assert burn_rate(Counts(30, 1000), 0.99) == pytest.approx(3.0)
    assert burn_rate(Counts(0, 0), 0.999) == 0.0


def _decide(window: Counts, fast: Counts, slow: Counts) -> object:
    return decide("play", 0.99, 30, window, fast, slow, LIMITS, "history")


def test_admitted_with_budget_left_and_slow_burns() -> None:
    decision = _decide(Counts(50, 10_000), Counts(10, 1000), Counts(20, 1000))
    assert decision.admitted  # type: ignore[attr-defined]
    assert decision.budget_left == pytest.approx(0.5)  # type: ignore[attr-defined]
    assert decision.reason.startswith("admitted by SLO 'play' (history): 50% of the budget left")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("window", "fast", "slow", "said"),
    [
        (
            Counts(101, 10_000),
            Counts(0, 1),
            Counts(0, 1),
            "101% of the 30-day error budget is spent",
        ),
        (
            Counts(0, 10_000),
            Counts(145, 1000),
            Counts(0, 1),
            "fast burn 14.5x over 1 h (limit 14.4x)",
        ),
        (Counts(0, 10_000), Counts(0, 1), Counts(61, 1000), "slow burn 6.1x over 6 h (limit 6.0x)"),
    ],
)
def test_not_admitted_when_spent_or_burning_too_fast(
    window: Counts, fast: Counts, slow: Counts, said: str
) -> None:
    decision = _decide(window, fast, slow)
    assert not decision.admitted  # type: ignore[attr-defined]
    assert said in decision.reason  # type: ignore[attr-defined]
    assert decision.reason.startswith("not admitted by SLO 'play' (history): ")  # type: ignore[attr-defined]


def test_at_the_limit_is_still_admitted() -> None:
    assert _decide(Counts(99, 10_000), Counts(144, 1000), Counts(60, 1000)).admitted  # type: ignore[attr-defined]


def test_promql_windows() -> None:
    assert [promql_window(h) for h in (720, 1, 6, 0.5, 36)] == ["30d", "1h", "6h", "30m", "36h"]


def _row(at: float, failed: int, requests: int, target: str = "lab") -> HistoryRow:
    return HistoryRow("x.yaml", "x", "x.yaml", f"r{at}", None, at, 10.0, "passed", 0, None,
                      None, None, requests, failed, 0.99, 0.0, target)  # fmt: skip


def test_history_counts_its_target_within_each_window(tmp_path: Path) -> None:
    for row in (
        _row(NOW - 600, 30, 1000),  # 10 min ago
        _row(NOW - 3 * 3600, 10, 1000),  # 3 h ago
        _row(NOW - 2 * 86400, 5, 1000),  # 2 days ago
        _row(NOW - 600, 999, 1000, target="http://127.0.0.1:9/"),
    ):
        append_run(tmp_path, row)
    counts = history_counts(tmp_path, "lab", NOW, 720)
    assert counts(1) == Counts(30, 1000)
    assert counts(6) == Counts(40, 2000)
    assert counts(720) == Counts(45, 3000)


def test_admission_from_history_and_targets_without_slo(tmp_path: Path) -> None:
    append_run(tmp_path, _row(NOW - 600, 300, 1000))
    policy = BudgetPolicy((SloBudget("play", "lab", 0.99, 30),))
    decision = admit(policy, "lab", tmp_path, NOW)
    assert decision is not None and not decision.admitted
    assert "fast burn 30.0x" in decision.reason and decision.source == "history"
    assert admit(policy, "http://127.0.0.1:8080", tmp_path, NOW) is None


def test_an_unreadable_prometheus_fails_closed(tmp_path: Path) -> None:
    budget = tmp_path / "budget.yaml"
    budget.write_text(
        "slos:\n  - name: play\n    target: lab\n    objective: 0.999\n    prometheus:\n"
        "      url: http://127.0.0.1:9\n      errors: sum(increase(e[$window]))\n"
        "      total: sum(increase(t[$window]))\n"
    )
    decision = admit(load_budget(budget), "lab", tmp_path)
    assert decision is not None and not decision.admitted
    assert decision.reason.startswith("not admitted by SLO 'play': the budget could not be read")
    assert decision.budget_left is None


def test_a_budget_file_with_defaults(tmp_path: Path) -> None:
    budget = tmp_path / "budget.yaml"
    budget.write_text("slos:\n  - {name: play, target: lab, objective: 0.995}\n")
    policy = load_budget(budget)
    assert policy.slos == (SloBudget("play", "lab", 0.995, 30.0, None),)
    assert policy.fast_burn == LIMITS[0] and policy.slow_burn == LIMITS[1]


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("slo: []\n", "budget.yaml:1: slo: unknown key 'slo'; did you mean 'slos'?"),
        ("slos: []\n", "budget.yaml:1: slos: expected at least one SLO"),
        (
            "slos:\n  - {name: a, target: lab, objective: 1}\n",
            "budget.yaml:2: slos[0].objective: expected a share below 1 (no budget at 1)",
        ),
        (
            "slos:\n  - name: a\n    target: lab\n    objective: 0.99\n    window_day: 7\n",
            "budget.yaml:5: slos[0].window_day: unknown key 'window_day'; did you mean "
            "'window_days'?",
        ),
        (
            "slos:\n  - {name: a, target: lab, objective: 0.99}\n  - {name: b, target: lab, "
            "objective: 0.9}\n",
            "budget.yaml:3: slos[1].target: target 'lab' has more than one SLO",
        ),
        (
            "slos:\n  - name: a\n    target: lab\n    objective: 0.99\n    prometheus:\n"
            "      url: http://127.0.0.1:9090\n      errors: sum(e)\n"
            "      total: sum(t[$window])\n",
            "budget.yaml:7: slos[0].prometheus.errors: expected a PromQL query with $window in "
            "its range",
        ),
        (
            "slos:\n  - {name: a, target: lab, objective: 0.99}\nfast_burn: {share: 2}\n",
            "budget.yaml:3: fast_burn.share: expected a number at most 1, got 2",
        ),
    ],
)
def test_budget_file_problems_are_one_line_each(tmp_path: Path, text: str, said: str) -> None:
    budget = tmp_path / "budget.yaml"
    budget.write_text(text)
    with pytest.raises(InputError) as raised:
        load_budget(budget)
    assert str(raised.value) == f"{tmp_path}/{said}"


def test_the_documented_budget_file_is_valid() -> None:
    policy = load_budget(Path(__file__).parents[2] / "docs" / "ci" / "budget.yaml")
    assert [s.target for s in policy.slos] == ["lab"]


def test_burn_rate_edges() -> None:
    assert burn_rate(Counts(1, 1), 0.99) == pytest.approx(100.0)
    assert burn_rate(Counts(0, 1), 0.99) == 0.0


def test_a_budget_spent_exactly_is_spent() -> None:
    decision = _decide(Counts(100, 10_000), Counts(0, 1), Counts(0, 1))
    assert not decision.admitted  # type: ignore[attr-defined]
    assert decision.reason == (  # type: ignore[attr-defined]
        "not admitted by SLO 'play' (history): 100% of the 30-day error budget is spent"
    )


def test_a_burn_rate_equal_to_its_limit_is_admitted() -> None:
    limits = (BurnLimit(0.5, 360.0), BurnLimit(0.25, 180.0))  # both limits 1.0 for 30 days
    decision = decide("p", 0.5, 30, Counts(0, 10), Counts(5, 10), Counts(5, 10), limits, "h")
    assert (decision.fast_burn, decision.fast_limit) == (1.0, 1.0)
    assert (decision.slow_burn, decision.slow_limit) == (1.0, 1.0)
    assert decision.admitted


def test_every_figure_of_a_decision() -> None:
    decision = _decide(Counts(20, 10_000), Counts(200, 1000), Counts(70, 1000))
    assert decision.to_dict() == {  # type: ignore[attr-defined]
        "admitted": False,
        "slo": "play",
        "source": "history",
        "budget_left": 0.8,
        "fast_burn": 20.0,
        "slow_burn": 7.0,
        "fast_limit": 14.4,
        "slow_limit": 6.0,
        "reason": "not admitted by SLO 'play' (history): fast burn 20.0x over 1 h (limit 14.4x); "
        "slow burn 7.0x over 6 h (limit 6.0x)",
    }
    admitted = decide(
        "p", 0.99, 30, Counts(0, 1), Counts(1, 1000), Counts(2, 1000),
        (BurnLimit(0.02, 2.0), BurnLimit(0.05, 12.0)), "prometheus http://127.0.0.1:9090",
    )  # fmt: skip
    assert admitted.reason == (
        "admitted by SLO 'p' (prometheus http://127.0.0.1:9090): 100% of the budget left, "
        "burn 0.1x (2 h) and 0.2x (12 h)"
    )


def test_a_decision_without_figures_and_rounding() -> None:
    from chaosrun.admission.burn import Admission

    closed = Admission(False, "p", "prometheus http://127.0.0.1:9", "could not read")
    assert closed.to_dict() == {
        "admitted": False, "slo": "p", "source": "prometheus http://127.0.0.1:9",
        "budget_left": None, "fast_burn": None, "slow_burn": None, "fast_limit": None,
        "slow_limit": None, "reason": "could not read",
    }  # fmt: skip
    figures = Admission(True, "p", "h", "r", 0.123456, 1.23456, 2.34567, 14.4, 6.0).to_dict()
    assert (figures["budget_left"], figures["fast_burn"], figures["slow_burn"]) == (
        0.1235,
        1.235,
        2.346,
    )
