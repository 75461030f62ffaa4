"""`--json`: whatever happens, exactly one JSON document on stdout, valid against
docs/chaosrun-output.schema.json; the human-readable errors on stderr stay as they were."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from chaosrun.lab.toxiproxy import ToxiproxyClient

from .conftest import REPO, is_clean, run_cli, start_cli, wait_for

SCHEMA_FILE = REPO / "docs" / "chaosrun-output.schema.json"
PROBE_ONLY = str(REPO / "tests" / "e2e" / "experiments" / "probe-only.yaml")
HELD = str(REPO / "tests" / "e2e" / "experiments" / "held-fault.yaml")
BAD = "title: t\ndescription: d\nmetod: []\n"
REMOTE = """title: remote target
description: an explicit target on TEST-NET-1; never contacted
extensions:
  - name: chaosrun
    target:
      service_url: http://192.0.2.1:8080
      toxiproxy_url: http://192.0.2.1:8474
method:
  - type: probe
    name: health
    provider: {type: http, url: "${chaosrun_service_url}/health", timeout: 2}
"""


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_FILE.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def the_document(
    result: subprocess.CompletedProcess[str], validator: Draft202012Validator
) -> dict[str, Any]:
    """stdout is one JSON document and nothing else, valid against the schema, whose
    exit_code is the process's."""
    assert "Traceback" not in result.stderr, result.stderr
    doc = json.loads(result.stdout)  # raises on anything before or after the document
    assert isinstance(doc, dict)
    assert [e.message for e in validator.iter_errors(doc)] == []
    assert doc["exit_code"] == result.returncode
    return doc


def test_validate_json_ok(tmp_path: Path, validator: Draft202012Validator) -> None:
    files = ["experiments/latency-injection.yaml", "experiments/dependency-failure.yaml"]
    result = run_cli(tmp_path, "validate", "--json", *files)
    assert (result.returncode, result.stderr) == (0, "")
    doc = the_document(result, validator)
    assert (doc["schema"], doc["command"], doc["ok"]) == ("chaosrun/validate", "validate", True)
    assert doc["files"] == [{"file": f, "ok": True, "errors": [], "warnings": []} for f in files]


def test_validate_json_bad_names_the_line_and_keeps_stderr(
    tmp_path: Path, validator: Draft202012Validator
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD)
    result = run_cli(tmp_path, "validate", "--json", str(bad), "experiments/bulkhead.yaml")
    assert result.returncode == 2
    message = f"{bad}:3: metod: unknown key 'metod'; did you mean 'method'?"
    assert result.stderr == f"chaosrun: {message}\n"
    doc = the_document(result, validator)
    assert [(f["file"], f["ok"]) for f in doc["files"]] == [
        (str(bad), False),
        ("experiments/bulkhead.yaml", True),
    ]
    (error,) = doc["files"][0]["errors"]
    assert (error["line"], error["key_path"], error["message"]) == (3, "metod", message)


def test_run_json_on_an_invalid_file_is_an_error_document(
    tmp_path: Path, validator: Draft202012Validator
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD)
    result = run_cli(tmp_path, "run", str(bad), "--json")
    assert result.returncode == 2
    message = f"{bad}:3: metod: unknown key 'metod'; did you mean 'method'?"
    assert result.stderr == f"chaosrun: {message}\n"
    doc = the_document(result, validator)
    assert (doc["schema"], doc["command"]) == ("chaosrun/error", "run")
    assert doc["error"] == {
        "type": "InputError",
        "message": message,
        "file": str(bad),
        "line": 3,
        "key_path": "metod",
        "expected": "unknown key 'metod'; did you mean 'method'?",
        "exit_code": 2,
    }
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("args", "command", "message"),
    [
        (
            ("run", "experiments/latency-injection.yaml", "--json", "--varia", "healthy"),
            "run",
            "unrecognized arguments: --varia healthy",
        ),
        # --json is an option of each command, not of chaosrun: still, a JSON document
        (
            ("--json", "lab", "status", "--jsn"),
            "lab status",
            "unrecognized arguments: --json --jsn",
        ),
        (("lab", "--json"), "lab", "the following arguments are required: ACTION"),
        (("run", "--json"), "run", "the following arguments are required: FILE"),
    ],
)
def test_a_usage_error_with_json_is_an_error_document(
    tmp_path: Path,
    validator: Draft202012Validator,
    args: tuple[str, ...],
    command: str,
    message: str,
) -> None:
    result = run_cli(tmp_path, *args)
    assert result.returncode == 2
    assert result.stderr.startswith(f"usage: chaosrun {command} [-h]")
    assert result.stderr.endswith(f"chaosrun {command}: error: {message}\n")
    doc = the_document(result, validator)
    assert (doc["command"], doc["error"]["type"], doc["error"]["message"]) == (
        command,
        "UsageError",
        message,
    )
    assert not (tmp_path / "runs").exists()


def test_a_bad_option_value_with_json_is_an_error_document(
    tmp_path: Path, validator: Draft202012Validator
) -> None:
    args = ("run", "experiments/latency-injection.yaml", "--json", "--variant", "nope")
    result = run_cli(tmp_path, *args)
    assert result.returncode == 2
    assert result.stderr.startswith("chaosrun: --variant: unknown variant 'nope'; known: ")
    doc = the_document(result, validator)
    assert doc["error"]["type"] == "UsageError"
    assert f"chaosrun: {doc['error']['message']}\n" == result.stderr


def test_every_refusal_of_a_target_is_listed(
    tmp_path: Path, validator: Draft202012Validator
) -> None:
    path = tmp_path / "remote.yaml"
    path.write_text(REMOTE)
    result = run_cli(tmp_path / "home", "run", str(path), "--json")
    assert result.returncode == 2
    doc = the_document(result, validator)
    assert [(e["line"], e["key_path"]) for e in doc["errors"]] == [
        (6, "extensions[0].target.service_url"),
        (7, "extensions[0].target.toxiproxy_url"),
    ]
    assert doc["error"] == doc["errors"][0]
    assert result.stderr.splitlines() == [f"chaosrun: {e['message']}" for e in doc["errors"]]
    assert not (tmp_path / "home").exists()


def test_dry_run_json_is_a_plan_document(tmp_path: Path, validator: Draft202012Validator) -> None:
    result = run_cli(tmp_path, "run", "experiments/latency-injection.yaml", "--dry-run", "--json")
    assert (result.returncode, result.stderr) == (0, "")
    doc = the_document(result, validator)
    assert (doc["schema"], doc["command"], doc["dry_run"]) == ("chaosrun/plan", "run", True)
    assert doc["target"]["kind"] == "ephemeral-lab"
    assert [(f["activity"], f["kind"], f["action"], f["proxy"]) for f in doc["faults"]] == [
        ("slow-down-catalog", "latency", "inject", "catalog"),
        ("restore-catalog", "latency", "revert", "catalog"),
        ("make-sure-catalog-is-restored", "latency", "revert", "catalog"),
    ]


def test_lab_status_without_a_lab_exits_3(tmp_path: Path, validator: Draft202012Validator) -> None:
    result = run_cli(tmp_path, "lab", "status", "--json")
    assert (result.returncode, result.stderr) == (3, "")
    doc = the_document(result, validator)
    assert (doc["schema"], doc["command"], doc["ok"], doc["running"]) == (
        "chaosrun/lab",
        "lab status",
        False,
        False,
    )
    text = run_cli(tmp_path, "lab", "status")
    assert (text.returncode, text.stdout) == (
        3,
        "no lab running (start one with 'chaosrun lab up')\n",
    )


def test_cleanup_json_with_nothing_to_clean(
    tmp_path: Path, validator: Draft202012Validator
) -> None:
    result = run_cli(tmp_path, "cleanup", "--json")
    assert (result.returncode, result.stderr) == (0, "")
    doc = the_document(result, validator)
    assert (doc["schema"], doc["command"], doc["runs"]) == ("chaosrun/cleanup", "cleanup", [])


def test_on_a_running_lab_status_up_and_a_run(
    lab: dict[str, Any], validator: Draft202012Validator
) -> None:
    home = lab["home"]
    status = run_cli(home, "lab", "status", "--json")
    assert status.returncode == 0, status.stderr
    doc = the_document(status, validator)
    assert (doc["command"], doc["running"]) == ("lab status", True)
    assert doc["toxiproxy_url"] == lab["toxiproxy_url"]
    assert doc["toxiproxy_url"].startswith("http://127.0.0.1:")
    assert lab["schema"] == "chaosrun/lab" and lab["command"] == "lab up"

    again = run_cli(home, "lab", "up", "--json")
    assert again.returncode == 3
    doc = the_document(again, validator)
    assert (doc["command"], doc["error"]["type"]) == ("lab up", "LabError")
    assert again.stderr == f"chaosrun: {doc['error']['message']}\n"

    run = run_cli(home, "run", PROBE_ONLY, "--json")
    assert run.returncode == 0, run.stderr
    doc = the_document(run, validator)
    assert (doc["schema"], doc["command"], doc["verdict"]) == ("chaosrun/run", "run", "passed")
    run_dir = home / "runs" / doc["run_id"]
    assert doc["run_dir"] == str(run_dir) and run_dir.is_dir()
    journal = json.loads(Path(doc["journal"]).read_text())
    assert journal["chaosrun"]["run_id"] == doc["run_id"]
    assert doc["target"]["toxiproxy_url"] == lab["toxiproxy_url"]


def test_ctrl_c_during_a_run_is_a_run_document_exiting_130(
    lab: dict[str, Any], validator: Draft202012Validator
) -> None:
    client = ToxiproxyClient(lab["toxiproxy_url"])
    proc = start_cli(lab["home"], "run", HELD, "--json")
    try:
        wait_for(lambda: not client.proxy("auth").enabled, 30, "auth proxy to go down")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    result = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    doc = the_document(result, validator)
    assert (doc["exit_code"], doc["verdict"], doc["status"]) == (130, "interrupted", "interrupted")
    assert is_clean(client)
