"""chaosrun's validator against Chaos Toolkit's own (`ensure_experiment_is_valid`).

Every good fixture must pass both: chaosrun never accepts what Chaos Toolkit refuses. Of the bad
fixtures, those Chaos Toolkit accepts must be exactly the ones listed below, each with the reason
chaosrun is stricter, so that a new divergence fails this test until it is documented here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaosrun.load import validate_files

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# chaoslib deprecates mapping process arguments; chaosrun warns about them itself (test_load).
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# Safety rules: what chaosrun refuses although Chaos Toolkit would run it.
SAFETY_RULES = {
    "module_never_allowed.yaml": "python providers never name os, subprocess and the like",
    "process_shell_pipe.yaml": "shell syntax in process arguments needs --allow-shell",
    "process_shell_semicolon.yaml": "shell syntax in process arguments needs --allow-shell",
    "fault_argument_out_of_limits.yaml": "fault arguments stay within their kind's limits",
    "fault_argument_template_out_of_limits.yaml": "a ${name} fault argument within its limits",
    "control_module_not_allowed.yaml": "control modules follow the python module rule",
}

# The chaosrun extension block: Chaos Toolkit ignores it, chaosrun reads it.
EXTENSION_CHECKS = {
    name: "the chaosrun extension block, which Chaos Toolkit ignores"
    for name in (
        "bad_availability.yaml",
        "bool_as_number.yaml",
        "breaker_state_metric_not_a_selector.yaml",
        "chaosrun_block_misspelled_key.yaml",
        "deadline_too_long.yaml",
        "lab_and_url_target.yaml",
        "negative_latency_slo.yaml",
        "unknown_percentile.yaml",
        "unknown_variant.yaml",
        "url_target_bad_scheme.yaml",
        "url_target_missing_toxiproxy.yaml",
    )
}

# Accepted by Chaos Toolkit's validator, but fails, misbehaves or checks nothing when run.
FAILS_WHEN_RUN = {
    "argument_supplied_by_toolkit.yaml": "Chaos Toolkit supplies configuration itself",
    "bad_rollback_strategy.yaml": "an unknown strategy is silently the default one",
    "boolean_key.yaml": "YAML 1.1 reads the key `on` as true: not the key written",
    "duplicate_key.yaml": "YAML keeps the last value silently",
    "unquoted_date.yaml": "YAML reads the version as a date",
    "unsupported_tag.yaml": "a !!binary value is bytes, which no provider expects",
    "empty_list_tolerance.yaml": "a tolerance that can never match",
    "reversed_range_list.yaml": "a tolerance that can never match",
    "reversed_range_tolerance.yaml": "a tolerance that can never match",
    "float_for_int_argument.yaml": "the fault function rejects it at run time",
    "wrong_argument_type.yaml": "the fault function rejects it at run time",
    "method_empty_without_hypothesis.yaml": "no hypothesis and no method: checks nothing",
    "negative_pause.yaml": "time.sleep raises on a negative pause at run time",
    "process_arguments_nested.yaml": "a list value would be passed as its Python repr",
    "process_arguments_open_quote.yaml": "/bin/sh fails on the open quote at run time",
    "tags_not_list.yaml": "a string is read as a list of one-character tags",
    "tolerance_on_action.yaml": "Chaos Toolkit never checks a tolerance on an action",
    # What validates, runs (chaosrun.schema.preflight): each fails mid-run under Chaos Toolkit.
    "control_module_missing.yaml": "chaoslib logs a warning and runs without the control",
    "fault_argument_template_unresolved.yaml": "the ${name} is sent as written",
    "fault_argument_template_wrong_type.yaml": "a string where the fault needs an integer",
    "http_url_not_a_url.yaml": "requests raises MissingSchema in the worker",
    "http_url_template_not_a_url.yaml": "requests raises MissingSchema in the worker",
    "pauses_exceed_deadline.yaml": "the deadline interrupts the run in its pauses",
    "range_tolerance_without_target.yaml": "conversion from dict to Decimal: the worker dies",
    "target_on_scalar_probe.yaml": "chaoslib calls .get() on a string",
    "tolerance_target_not_a_key.yaml": "the tolerance reads a key the probe never returns",
}

NOT_GIVEN_TO_CHAOS_TOOLKIT = {"alias_bomb.yaml": "its expansion is exponential"}


@pytest.fixture(autouse=True)
def quiet_chaoslib() -> Iterator[None]:
    logging.disable(logging.CRITICAL)
    yield
    logging.disable(logging.NOTSET)


def chaos_toolkit_refusal(path: Path) -> str | None:
    """Why Chaos Toolkit refuses the file (its loader, then its validator), or None."""
    from chaoslib.experiment import ensure_experiment_is_valid
    from chaoslib.loader import load_experiment

    try:
        ensure_experiment_is_valid(load_experiment(str(path)))
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@pytest.mark.parametrize("path", sorted((FIXTURES / "good").iterdir()), ids=lambda p: p.name)
def test_chaos_toolkit_accepts_every_good_fixture(path: Path) -> None:
    assert validate_files([path]) == []
    assert chaos_toolkit_refusal(path) is None


def test_chaos_toolkit_accepts_only_the_documented_bad_fixtures() -> None:
    documented = {**SAFETY_RULES, **EXTENSION_CHECKS, **FAILS_WHEN_RUN}
    assert len(documented) == len(SAFETY_RULES) + len(EXTENSION_CHECKS) + len(FAILS_WHEN_RUN)
    paths = [
        path
        for path in sorted((FIXTURES / "bad").iterdir())
        if path.name not in NOT_GIVEN_TO_CHAOS_TOOLKIT
    ]
    assert all(validate_files([path]) for path in paths)
    accepted = {path.name for path in paths if chaos_toolkit_refusal(path) is None}
    assert accepted == set(documented)


def test_the_refusal_check_can_tell() -> None:
    assert chaos_toolkit_refusal(FIXTURES / "bad" / "missing_title.yaml") == (
        "InvalidExperiment: experiment requires a title"
    )
