"""Lone-template arguments converted to the declared type, as the worker does at run time."""

from __future__ import annotations

import pytest

from chaosrun.engine.convert import Unconvertible, convert, convert_arguments, lone_template
from chaosrun.faults.latency import inject


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        ("800", "int", 800),
        (" -3 ", "int", -3),
        (800, "int", 800),
        ("0.5", "float", 0.5),
        (1, "float", 1),
        ("true", "bool", True),
        ("No", "bool", False),
        (False, "bool", False),
        ("catalog", "str", "catalog"),
        (None, None, None),
    ],
)
def test_strings_that_spell_the_type_are_converted(
    value: object, kind: str | None, expected: object
) -> None:
    converted = convert(value, kind)
    assert converted == expected
    assert type(converted) is type(expected)


@pytest.mark.parametrize(
    ("value", "kind", "message"),
    [
        ("8.5", "int", "expected an integer"),
        ("fast", "int", "expected an integer"),
        (True, "int", "expected an integer"),
        (2.0, "int", "expected an integer"),
        ("nan", "float", "expected a number"),
        ("inf", "float", "expected a number"),
        ("maybe", "bool", "expected a boolean"),
        (1, "bool", "expected a boolean"),
        (5, "str", "expected a string"),
    ],
)
def test_values_that_do_not_spell_the_type_are_refused(
    value: object, kind: str, message: str
) -> None:
    with pytest.raises(Unconvertible, match=f"^{message}$"):
        convert(value, kind)


def test_none_passes_only_where_the_parameter_allows_it() -> None:
    assert convert(None, "int", optional=True) is None
    with pytest.raises(Unconvertible):
        convert(None, "int")


def test_only_lone_templates_that_came_out_as_strings_are_converted() -> None:
    raw = {
        "proxy": "${proxy}",
        "latency_ms": "${latency}",
        "jitter_ms": "${jitter}",
        "toxicity": "${toxicity}",
        "stream": "down${stream}",
    }
    filled = {
        "proxy": "catalog",
        "latency_ms": "800",
        "jitter_ms": "lots",
        "toxicity": "0.5",
        "stream": "downstream",
    }
    assert convert_arguments(inject, raw, filled) == {
        "proxy": "catalog",  # declared str
        "latency_ms": 800,
        "jitter_ms": "lots",  # left for the function to refuse, as without chaosrun
        "toxicity": 0.5,
        "stream": "downstream",  # not a lone template: a string by construction
    }


@pytest.mark.parametrize(
    ("value", "name"),
    [("${a}", "a"), ("${a_1}", "a_1"), ("$a", None), ("x${a}", None), ("${a}${b}", None)],
)
def test_lone_template(value: object, name: str | None) -> None:
    assert lone_template(value) == name
