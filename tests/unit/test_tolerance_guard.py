"""A tolerance Chaos Toolkit cannot apply to a probe's value is not met; the worker lives on."""

from __future__ import annotations

import chaoslib.hypothesis
import pytest

from chaosrun.engine import tolerance_guard

RANGE = {"type": "range", "range": [0, 500], "target": "p99_ms"}


def test_a_value_the_tolerance_cannot_read_is_not_met(monkeypatch: pytest.MonkeyPatch) -> None:
    original = chaoslib.hypothesis.within_tolerance
    with pytest.raises(TypeError):  # what chaoslib 1.44 does on a window without requests
        original(RANGE, {"p99_ms": None})
    monkeypatch.setattr(chaoslib.hypothesis, "within_tolerance", original)  # undone after
    tolerance_guard.install()
    tolerance_guard.install()  # once only
    guarded = chaoslib.hypothesis.within_tolerance
    assert guarded is not original
    assert guarded(RANGE, {"p99_ms": None}) is False
    assert guarded({"type": "regex", "pattern": "^ok"}, {"body": "ok"}) is False
    assert guarded(RANGE, {"p99_ms": 120.5}) is True
    assert guarded(RANGE, {"p99_ms": 900}) is False
