"""`chaosrun ... --json` when Ctrl-C lands outside a run: still one JSON document, exit 130."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chaosrun import cli


def test_ctrl_c_outside_a_run_prints_one_error_document(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(*args: Any) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_validate", interrupted)
    assert cli.main(["validate", "--json", "experiments/latency-injection.yaml"]) == 130
    out, err = capsys.readouterr()
    assert err == "chaosrun: interrupted\n"
    doc = json.loads(out)
    assert (doc["schema"], doc["command"], doc["ok"], doc["exit_code"]) == (
        "chaosrun/error",
        "validate",
        False,
        130,
    )
    assert (doc["error"]["type"], doc["error"]["message"]) == ("Interrupted", "interrupted")
    assert cli.main(["validate", "experiments/latency-injection.yaml"]) == 130
    assert capsys.readouterr() == ("", "chaosrun: interrupted\n")
