"""chaosrun.measure.percentile: the nearest-rank percentile used for exact figures."""

from __future__ import annotations

from chaosrun.measure.percentile import nearest_rank


def test_rank_is_ceil_of_q_times_n_and_at_least_one() -> None:
    values = [10.0, 20.0, 30.0]
    assert nearest_rank(values, 0.0) == 10.0  # ceil(0 * 3) = 0, clamped to rank 1
    assert nearest_rank(values, 1 / 3) == 10.0  # ceil(1.0) = 1
    assert nearest_rank(values, 0.34) == 20.0  # ceil(1.02) = 2
    assert nearest_rank(values, 1.0) == 30.0  # ceil(3.0) = 3
    assert nearest_rank([10.0, 20.0], 0.5) == 10.0  # ceil(1.0) = 1, not the upper neighbour


def test_float_noise_in_q_times_n_does_not_move_the_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert 0.07 * 100 == 7.000000000000001  # the product the epsilon is there for
    assert nearest_rank(values, 0.07) == 7.0


def test_empty_and_integer_values() -> None:
    assert nearest_rank([], 0.5) == 0.0
    got = nearest_rank([1, 2, 3], 0.5)
    assert (got, type(got)) == (2.0, float)
