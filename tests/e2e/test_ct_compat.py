"""Chaos Toolkit experiments as people have them: run as `chaos run` would, never rewritten.

Real runs through the CLI: plain experiments start no lab, an experiment's own configuration
reaches its activities untouched, `--var`/`--var-file` and the rollback strategy mean what they
mean in `chaos run`, and a dry run names every system a run would touch.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from tests.e2e.conftest import REPO, run_cli

K8S = REPO / "tests" / "fixtures" / "good" / "ct_kubernetes.yaml"

# Prints its arguments as JSON: what a process provider really received.
ECHO = f"{sys.executable}"


def _plain(tmp_path: Path, body: str, name: str = "exp.yaml") -> Path:
    path = tmp_path / name
    path.write_text(
        "version: 1.0.0\ntitle: plain\ndescription: a plain Chaos Toolkit experiment\n" + body
    )
    return path


def _echo(name: str, *words: str) -> str:
    args = ", ".join(
        json.dumps(w) for w in ["-c", "import json,sys; print(json.dumps(sys.argv[1:]))", *words]
    )
    return (
        f"  - type: probe\n    name: {name}\n"
        f"    provider: {{type: process, path: {ECHO}, arguments: [{args}]}}\n"
    )


def _journal(result: Any) -> dict[str, Any]:
    summary = json.loads(result.stdout)
    return json.loads(Path(summary["journal"]).read_text())


def _outputs(journal: dict[str, Any]) -> dict[str, Any]:
    found = {}
    for run in [*journal.get("run", []), *journal.get("rollbacks", [])]:
        output = run.get("output")
        if isinstance(output, dict) and "stdout" in output:
            found[run["activity"]["name"]] = json.loads(output["stdout"])
    return found


def test_a_plain_experiment_runs_without_a_lab_and_with_its_own_configuration(
    tmp_path: Path,
) -> None:
    experiment = _plain(
        tmp_path,
        "configuration:\n  service_url: http://127.0.0.1:9/mine\n"
        "method:\n" + _echo("which-url", "${service_url}"),
    )
    result = run_cli(tmp_path, "run", str(experiment), "--json")
    assert result.returncode == 0, result.stderr
    journal = _journal(result)
    assert journal["chaosrun"]["target"] is None
    assert _outputs(journal) == {"which-url": ["http://127.0.0.1:9/mine"]}
    run_dir = Path(journal["chaosrun"]["run_dir"])
    assert not (run_dir / "lab").exists()  # no ephemeral lab was started
    sent = json.loads((run_dir / "experiment.json").read_text())
    assert sent["configuration"] == {"service_url": "http://127.0.0.1:9/mine"}


def test_chaosrun_keys_are_its_own_and_refused_in_the_experiment(tmp_path: Path) -> None:
    experiment = _plain(
        tmp_path,
        "configuration:\n  chaosrun_service_url: http://127.0.0.1:9\nmethod:\n" + _echo("x", "y"),
    )
    result = run_cli(tmp_path, "validate", str(experiment))
    assert result.returncode == 2
    assert result.stderr == (
        f"chaosrun: {experiment}:5: configuration.chaosrun_service_url: configuration keys "
        "starting with 'chaosrun_' are chaosrun's: it sets them to the run's target; rename "
        "'chaosrun_service_url'\n"
    )


def test_var_and_var_file_set_configuration_as_chaos_run_does(tmp_path: Path) -> None:
    experiment = _plain(
        tmp_path,
        "configuration:\n  greeting: hello\n  who: nobody\n  token: {type: env, key: CT_TOKEN}\n"
        "method:\n" + _echo("say", "${greeting}", "${who}", "${token}"),
    )
    (tmp_path / "vars.yaml").write_text("configuration:\n  who: world\n  greeting: hi\n")
    (tmp_path / "vars.env").write_text("# from a .env file\nCT_TOKEN=t0k\n")
    environ = {k: v for k, v in os.environ.items() if k != "CT_TOKEN"}
    refused = run_cli(tmp_path, "run", str(experiment), "--json", environ=environ)
    assert refused.returncode == 2  # CT_TOKEN unset and no default: Chaos Toolkit refuses too
    given = run_cli(tmp_path, "run", str(experiment), "--json", "--var", "token=v", environ=environ)
    assert given.returncode == 0, given.stderr  # as in chaos run, --var stands in for it
    assert _outputs(_journal(given)) == {"say": ["hello", "nobody", "v"]}
    result = run_cli(
        tmp_path,
        "run",
        str(experiment),
        "--json",
        "--var-file",
        str(tmp_path / "vars.yaml"),
        "--var-file",
        str(tmp_path / "vars.env"),
        "--var",
        "greeting=howdy",
        environ=environ,
    )
    assert result.returncode == 0, result.stderr
    assert _outputs(_journal(result)) == {"say": ["howdy", "world", "t0k"]}


def test_a_bad_var_is_one_line_and_exit_2(tmp_path: Path) -> None:
    experiment = _plain(tmp_path, "method:\n" + _echo("x", "y"))
    result = run_cli(tmp_path, "run", str(experiment), "--var", "n:int=ten")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "chaosrun: --var 'n:int=ten': cannot convert 'ten' to int: invalid literal for int() "
        "with base 10: 'ten'\n"
    )
    (tmp_path / "bad.yaml").write_text("configuration: [1]\n")
    result = run_cli(tmp_path, "run", str(experiment), "--var-file", str(tmp_path / "bad.yaml"))
    assert result.returncode == 2
    assert result.stderr == (
        f"chaosrun: --var-file {tmp_path / 'bad.yaml'}: configuration: expected a mapping\n"
    )


def test_the_rollback_strategy_is_the_experiments_then_the_command_lines(
    tmp_path: Path,
) -> None:
    experiment = _plain(
        tmp_path,
        "runtime:\n  rollbacks: {strategy: never}\n"
        "method:\n"
        + _echo("act", "a")
        + "rollbacks:\n"
        + _echo("undo", "u").replace("probe", "action"),
    )
    never = run_cli(tmp_path, "run", str(experiment), "--json")
    assert never.returncode == 0, never.stderr
    assert list(_outputs(_journal(never))) == ["act"]  # the file says never: not run
    always = run_cli(tmp_path, "run", str(experiment), "--json", "--rollback-strategy", "always")
    assert always.returncode == 0, always.stderr
    assert list(_outputs(_journal(always))) == ["act", "undo"]


def _kubeconfig(tmp_path: Path) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: prod\n"
        "contexts:\n"
        "  - {name: lab, context: {cluster: lab, user: me}}\n"
        "  - {name: prod, context: {cluster: prod, user: me}}\n"
        "clusters:\n"
        "  - {name: lab, cluster: {server: 'https://127.0.0.1:6443'}}\n"
        "  - {name: prod, cluster: {server: 'https://10.20.30.40:6443'}}\n"
        "users:\n  - {name: me, user: {token: x}}\n"
    )
    return path


def test_a_dry_run_of_a_kubernetes_experiment_names_its_api_server(tmp_path: Path) -> None:
    environ = {**os.environ, "KUBECONFIG": str(_kubeconfig(tmp_path))}
    result = run_cli(tmp_path, "run", "--dry-run", "--json", str(K8S), environ=environ)
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    systems = {(s["kind"], s["address"], s["via"]) for s in plan["systems"]}
    assert systems == {
        ("kubernetes", "https://127.0.0.1:6443", "playback-pods-running"),
        ("kubernetes", "https://127.0.0.1:6443", "terminate-one-playback-pod"),
        ("kubernetes", "https://127.0.0.1:6443", "back-to-three-replicas"),
    }
    assert plan["needs_target"] is False
    assert not (tmp_path / "runs").exists()


def test_a_kubernetes_api_server_off_loopback_is_refused_unless_allowed(tmp_path: Path) -> None:
    environ = {**os.environ, "KUBECONFIG": str(_kubeconfig(tmp_path))}
    text = K8S.read_text().replace("    KUBERNETES_CONTEXT: lab\n", "    KUBERNETES_NAMESPACE: x\n")
    experiment = tmp_path / "prod.yaml"
    experiment.write_text(text)  # no context given: the kube config's current one (prod)
    refused = run_cli(tmp_path, "run", "--dry-run", str(experiment), environ=environ)
    assert refused.returncode == 2
    assert refused.stderr.splitlines()[0] == (
        f"chaosrun: {experiment}:17: steady-state-hypothesis.probes[0].provider.module: the "
        "Kubernetes API server '10.20.30.40' is not loopback; pass --allow-target 10.20.30.40 "
        "to allow it"
    )
    assert len(refused.stderr.splitlines()) == 3  # one line per step that would call it
    allowed = run_cli(
        tmp_path,
        "run",
        "--dry-run",
        str(experiment),
        "--allow-target",
        "10.20.30.40",
        environ=environ,
    )
    assert allowed.returncode == 0, allowed.stderr
    assert "kubernetes https://10.20.30.40:6443" in " ".join(allowed.stdout.split())
