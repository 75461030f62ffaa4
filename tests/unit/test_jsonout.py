"""The --json documents (chaosrun.report.jsonout) against docs/chaosrun-output.schema.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from chaosrun.engine.reconcile import Reconciled
from chaosrun.errors import InputError, LabError, TargetBusy, UsageError
from chaosrun.report.jsonout import (
    SCHEMA_VERSION,
    cleanup_document,
    document,
    error_document,
    lab_document,
    validate_document,
)

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "chaosrun-output.schema.json"


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_FILE.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _problems(validator: Draft202012Validator, doc: dict[str, Any]) -> list[str]:
    return [error.message for error in validator.iter_errors(json.loads(json.dumps(doc)))]


BAD = InputError("bad.yaml", "metod", 3, "unknown key 'metod'; did you mean 'method'?")


def test_validate_document_puts_each_problem_under_its_file(
    validator: Draft202012Validator,
) -> None:
    doc = validate_document(["bad.yaml", "good.yaml"], [BAD], 2)
    assert _problems(validator, doc) == []
    assert doc["schema"] == "chaosrun/validate" and doc["schema_version"] == SCHEMA_VERSION
    assert (doc["command"], doc["ok"], doc["exit_code"]) == ("validate", False, 2)
    assert doc["files"] == [
        {
            "file": "bad.yaml",
            "ok": False,
            "errors": [
                {
                    "type": "InputError",
                    "message": "bad.yaml:3: metod: unknown key 'metod'; did you mean 'method'?",
                    "file": "bad.yaml",
                    "line": 3,
                    "key_path": "metod",
                    "expected": "unknown key 'metod'; did you mean 'method'?",
                    "exit_code": 2,
                }
            ],
            "warnings": [],
        },
        {"file": "good.yaml", "ok": True, "errors": [], "warnings": []},
    ]


def test_validate_document_lists_warnings_without_failing_the_file(
    validator: Draft202012Validator,
) -> None:
    warning = InputError("good.yaml", "", None, "no rollbacks")  # any Located will do
    doc = validate_document(["good.yaml"], [], 0, warnings=[warning])
    assert _problems(validator, doc) == []
    assert doc["files"] == [
        {
            "file": "good.yaml",
            "ok": True,
            "errors": [],
            "warnings": [
                {
                    "message": "good.yaml: no rollbacks",
                    "file": "good.yaml",
                    "line": None,
                    "key_path": None,
                }
            ],
        }
    ]


def test_an_error_document_keeps_every_refusal_in_order_and_the_first_ones_exit_code(
    validator: Draft202012Validator,
) -> None:
    second = InputError("x.yaml", "method[0].provider.url", 9, "host 'a' is not loopback")
    doc = error_document("run", [BAD, second])
    assert _problems(validator, doc) == []
    assert (doc["schema"], doc["ok"], doc["exit_code"]) == ("chaosrun/error", False, 2)
    assert doc["error"] == doc["errors"][0]
    assert [(e["line"], e["key_path"]) for e in doc["errors"]] == [
        (3, "metod"),
        (9, "method[0].provider.url"),
    ]


@pytest.mark.parametrize(
    ("error", "kind", "message", "exit_code"),
    [
        (LabError("a lab is already running"), "LabError", "a lab is already running", 3),
        (TargetBusy("the lab is in use by run x"), "TargetBusy", "the lab is in use by run x", 3),
        (UsageError("unrecognized arguments: --jsn"), "UsageError", None, 2),
        (KeyboardInterrupt(), "Interrupted", "interrupted", 130),
    ],
)
def test_an_error_without_a_place_has_null_location(
    validator: Draft202012Validator,
    error: Exception,
    kind: str,
    message: str | None,
    exit_code: int,
) -> None:
    doc = error_document(None, [error])  # type: ignore[list-item]
    assert _problems(validator, doc) == []
    assert doc["exit_code"] == exit_code
    assert doc["error"] == {
        "type": kind,
        "message": message or str(error),
        "file": None,
        "line": None,
        "key_path": None,
        "expected": None,
        "exit_code": exit_code,
    }


def test_lab_and_cleanup_documents(validator: Draft202012Validator) -> None:
    down = lab_document("lab status", None, 3)
    assert _problems(validator, down) == []
    assert (down["running"], down["ok"]) == (False, False)
    endpoints = {
        "variant": "healthy",
        "profile": "streaming",
        "toxiproxy_url": "http://127.0.0.1:8474",
        "toxiproxy_regions": {"a": "http://127.0.0.1:8474"},
        "service_url": "http://127.0.0.1:8080",
        "proxies": {"auth": {"listen": "127.0.0.1:1", "upstream": "127.0.0.1:2", "region": "a"}},
        "processes": {"toxiproxy": 42},
        "directory": "/tmp/lab",
    }
    assert _problems(validator, lab_document("lab up", endpoints, 0)) == []
    runs = [Reconciled(Path("/tmp/runs/r1"), 2, 1, ("boom",), True, 0)]
    cleanup = cleanup_document(runs, 3)
    assert _problems(validator, cleanup) == []
    assert cleanup["runs"] == [
        {
            "run_dir": "/tmp/runs/r1",
            "active": 2,
            "reverted": 1,
            "pending": 0,
            "stopped_lab": True,
            "errors": ["boom"],
        }
    ]


def test_the_schema_rejects_a_document_without_schema_version(
    validator: Draft202012Validator,
) -> None:
    doc = lab_document("lab status", None, 3)
    del doc["schema_version"]
    assert _problems(validator, doc) != []


LAB_DOWN = lab_document("lab status", None, 3)
LAB_ERROR = error_document("lab up", [LabError("a lab is already running")])


@pytest.mark.parametrize(
    ("doc", "change"),
    [
        (LAB_DOWN, {"schema_version": 2}),  # another version
        (LAB_DOWN, {"ok": True}),  # ok while exit_code is 3
        (LAB_DOWN, {"toxiproxy_api": "http://127.0.0.1:8474"}),  # an undocumented field
        (LAB_DOWN, {"schema": "chaosrun/labs"}),  # an unknown kind
        (LAB_DOWN, {"command": "cleanup"}),  # a lab document from another command
        (LAB_ERROR, {"exit_code": 0, "ok": True}),  # an error that exits 0
        (LAB_ERROR, {"errors": []}),  # an error document without its errors
    ],
)
def test_the_schema_rejects_what_it_does_not_document(
    validator: Draft202012Validator, doc: dict[str, Any], change: dict[str, Any]
) -> None:
    assert _problems(validator, doc) == []
    assert _problems(validator, {**doc, **change}) != []


def test_a_document_cannot_redefine_its_head() -> None:
    with pytest.raises(ValueError, match="redefine the document head"):
        document("run", "run", 0, {"exit_code": 1})
    with pytest.raises(ValueError, match="redefine the document head"):
        document("run", "run", 0, {"schema": "chaosrun/plan"})
    assert document("run", "run", 1, {"exit_code": 1})["exit_code"] == 1


def test_an_error_document_needs_an_error() -> None:
    with pytest.raises(ValueError, match="at least one error"):
        error_document("run", [])


def test_suite_document_follows_the_schema(validator: Draft202012Validator) -> None:
    from chaosrun.report.jsonout import suite_document
    from tests.unit.test_suite_reports import _suite

    suite = _suite()
    doc = suite_document(suite, "/home/suites/20261203-070000")
    assert _problems(validator, doc) == []
    assert doc["exit_code"] == 1 and doc["ok"] is False
    assert [r["state"] for r in doc["results"]] == [
        "passed",
        "failed",
        "not-judged",
        "skipped",
        "error",
    ]
    unknown_state = {**doc["results"][0], "state": "fine"}
    assert _problems(validator, {**doc, "results": [unknown_state]}) != []
