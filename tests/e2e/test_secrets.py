"""Secrets reach the activities but never the journal, the run's files or the console.

The experiment (experiments/with-secrets.yaml) uses an inline secret, an env secret and an
env-typed configuration value; every activity hands them back (probe outputs, an HTTP echo, an
exception message, the substituted title, a dynamic-configuration probe). The activities below are
what it calls: the validator and the worker import them from this module.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import logging
import socketserver
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from secrets import token_hex
from typing import Any

import pytest

from .conftest import REPO, run_cli

EXPERIMENT = str(REPO / "tests" / "e2e" / "experiments" / "with-secrets.yaml")
INLINE_TOKEN = "inline-7f3Kq9ZxWm2v"  # as written in with-secrets.yaml
MASK = "***"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --- the experiment's activities ----------------------------------------------------------------


def greeting(name: str) -> str:
    """A dynamic configuration probe: chaoslib copies every resolved secret into its provider."""
    return f"hello {name}"


def echo_line(text: str) -> str:
    return f"received {text}"


def digest_secrets(
    inline: str, env: str, config: str, secrets: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Digests prove what the probe received; the echoes are what redaction must catch."""
    print(f"digest-secrets got {inline} {env}", flush=True)  # worker.out
    print("and", config, file=sys.stderr)
    logging.getLogger("tests.secrets").warning("the env token is %s", env)  # worker.log
    return {
        "sha256": {"inline": _sha256(inline), "env": _sha256(env), "config": _sha256(config)},
        "echo": {"inline": inline, "env": env, "config": config},
        "scoped": secrets,
    }


def fail_with(token: str, key: str) -> None:
    raise ValueError(f"refused token {token} with key {key}")


# --- the test -----------------------------------------------------------------------------------


class _Echo(http.server.BaseHTTPRequestHandler):
    """GET -> the request's credential headers as JSON; each request is recorded."""

    received: list[dict[str, str]]

    def do_GET(self) -> None:
        names = ("Authorization", "X-Api-Key", "X-Inline")
        headers = {name: self.headers.get(name, "") for name in names}
        self.received.append(headers)
        body = json.dumps({name.lower(): value for name, value in headers.items()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


@pytest.fixture
def echo() -> Iterator[tuple[str, list[dict[str, str]]]]:
    received: list[dict[str, str]] = []
    handler = type("Echo", (_Echo,), {"received": received})
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/echo", received
    finally:
        server.shutdown()
        server.server_close()


def _runs(journal: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {run["activity"]["name"]: run for run in journal["run"]}


def _leaks(blob: bytes, values: list[str]) -> list[str]:
    return [value for value in values if value.encode() in blob]


def test_secrets_reach_activities_but_not_journals_logs_or_console(
    lab: dict[str, Any],
    echo: tuple[str, list[dict[str, str]]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, received = echo
    env_token, config_key = f"env-{token_hex(12)}", f"cfg-{token_hex(12)}"
    monkeypatch.setenv("CHAOSRUN_TEST_ECHO_URL", url)
    monkeypatch.setenv("CHAOSRUN_TEST_ENV_TOKEN", env_token)
    monkeypatch.setenv("CHAOSRUN_TEST_CONFIG_KEY", config_key)
    monkeypatch.setenv("COLUMNS", "1000")  # rich must not fold a value across table lines
    values = [INLINE_TOKEN, env_token, config_key]
    copy = tmp_path / "journal-copy.json"

    # its method has an action that fails on purpose (its error quotes secrets): not a pass
    allow = ("--allow-module", "tests.e2e.test_secrets")  # its activities live in this module
    plain = run_cli(lab["home"], "run", EXPERIMENT, *allow, "--journal-path", str(copy))
    assert plain.returncode == 1, plain.stdout + plain.stderr
    as_json = run_cli(lab["home"], "run", EXPERIMENT, *allow, "--json")
    assert as_json.returncode == 1, as_json.stdout + as_json.stderr

    # The activities really received every secret, resolved.
    expected = {"Authorization": f"Bearer {env_token}", "X-Api-Key": config_key}
    assert received == [{**expected, "X-Inline": INLINE_TOKEN}] * 2
    summary = json.loads(as_json.stdout)
    for journal in (json.loads(copy.read_text()), json.loads(Path(summary["journal"]).read_text())):
        runs = _runs(journal)
        output = runs["digest-secrets"]["output"]
        assert output["sha256"] == {
            "inline": _sha256(INLINE_TOKEN),
            "env": _sha256(env_token),
            "config": _sha256(config_key),
        }
        # ... and what they handed back is masked, wherever it went.
        assert output["echo"] == {"inline": MASK, "env": MASK, "config": MASK}
        assert output["scoped"] == {"inline_token": MASK, "env_token": MASK}
        body = runs["http-echo"]["output"]["body"]
        assert body == {"authorization": f"Bearer {MASK}", "x-api-key": MASK, "x-inline": MASK}
        failure = runs["leaky-failure"]
        assert failure["status"] == "failed"
        assert failure["exception"][-1].strip().endswith(f"refused token {MASK} with key {MASK}")
        (probe,) = journal["steady_states"]["before"]["probes"]
        assert (probe["output"], probe["tolerance_met"]) == (f"received {MASK}", True)
        document = journal["experiment"]
        assert document["title"] == f"Secrets stay secret ({MASK})"
        assert document["secrets"]["demo"] == {
            "inline_token": MASK,
            "env_token": {"type": "env", "key": "CHAOSRUN_TEST_ENV_TOKEN"},
        }
        dynamic = document["configuration"]["greeting"]["provider"]["secrets"]
        assert dynamic == {"demo": {"inline_token": MASK, "env_token": MASK}}
    assert summary["title"] == f"Secrets stay secret ({MASK})"
    assert summary["verdict"] == "failed"
    assert summary["reason"].startswith("the method failed: action 'leaky-failure' failed: ")
    assert summary["reason"].endswith(f"refused token {MASK} with key {MASK}")
    assert f"refused token {MASK} with key {MASK}" in plain.stdout

    # Nothing anywhere: every file of the home (runs and lab), the --journal copy, the console.
    run_dirs = [Path(json.loads(copy.read_text())["chaosrun"]["run_dir"]), Path(summary["run_dir"])]
    for run_dir in run_dirs:
        for name in ("experiment.json", "journal.json", "worker-journal.json", "events.jsonl"):
            assert (run_dir / name).stat().st_size > 0, name
        out = (run_dir / "worker.out").read_text()
        assert f"digest-secrets got {MASK} {MASK}\n" in out and f"and {MASK}\n" in out
        log = (run_dir / "worker.log").read_text()
        assert f"WARNING tests.secrets the env token is {MASK}" in log
        assert f"Running experiment: Secrets stay secret ({MASK})" in log
        assert f"ValueError: refused token {MASK} with key {MASK}" in log
    files = [p for p in lab["home"].rglob("*") if p.is_file()]
    assert len(files) > 10
    leaks = {str(p): _leaks(p.read_bytes(), values) for p in [*files, copy]}
    streams = {
        "plain stdout": plain.stdout,
        "plain stderr": plain.stderr,
        "--json stdout": as_json.stdout,
        "--json stderr": as_json.stderr,
    }
    leaks.update({name: _leaks(text.encode(), values) for name, text in streams.items()})
    assert {where: found for where, found in leaks.items() if found} == {}
