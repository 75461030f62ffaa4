"""What a run will touch: the Kubernetes API server as chaosk8s picks it, runtime precedence."""

from __future__ import annotations

import pytest

from chaosrun.engine.options import RunOptions, resolve_runtime
from chaosrun.engine.reach import kube_api_server
from chaosrun.errors import UsageError
from chaosrun.schema.runvars import parse_vars

CONFIG = """
current-context: a
contexts:
  - {name: a, context: {cluster: ca}}
  - {name: b, context: {cluster: cb}}
  - {name: broken, context: {cluster: missing}}
clusters:
  - {name: ca, cluster: {server: 'https://127.0.0.1:6443'}}
  - {name: cb, cluster: {server: 'https://10.0.0.2:443'}}
"""


def _reader(files: dict[str, str]):  # type: ignore[no-untyped-def]
    return files.get


def test_the_kube_config_and_context_in_effect_name_the_api_server() -> None:
    files = {"/k/config": CONFIG}
    env = {"KUBECONFIG": "/k/config"}
    assert kube_api_server(env, {}, _reader(files)) == (
        "https://127.0.0.1:6443",
        "kube config /k/config, current context 'a'",
    )
    by_env = {**env, "KUBERNETES_CONTEXT": "b"}
    assert kube_api_server(by_env, {}, _reader(files))[0] == "https://10.0.0.2:443"
    # the provider's secrets win over the environment, as in chaosk8s
    secrets = {"KUBERNETES_CONTEXT": "a"}
    assert kube_api_server(by_env, secrets, _reader(files))[0] == "https://127.0.0.1:6443"
    assert kube_api_server({**env, "KUBERNETES_CONTEXT": "broken"}, {}, _reader(files)) == (
        None,
        "kube config /k/config, context 'broken': cluster 'missing' has no server",
    )
    assert kube_api_server({**env, "KUBERNETES_CONTEXT": "zz"}, {}, _reader(files)) == (
        None,
        "kube config /k/config, context 'zz' not found",
    )


def test_without_a_kube_config_in_pod_host_or_chaosk8s_default() -> None:
    none = _reader({})
    pod = {
        "KUBECONFIG": "/nope",
        "CHAOSTOOLKIT_IN_POD": "true",
        "KUBERNETES_SERVICE_HOST": "10.96.0.1",
    }
    assert kube_api_server(pod, {}, none) == ("https://10.96.0.1:443", "in-cluster configuration")
    host = {"KUBECONFIG": "/nope", "KUBERNETES_HOST": "https://127.0.0.2:8443"}
    assert kube_api_server(host, {}, none)[0] == "https://127.0.0.2:8443"
    assert kube_api_server({"KUBECONFIG": "/nope"}, {}, none)[0] == "http://localhost"


@pytest.mark.parametrize(
    ("document", "options", "expected"),
    [
        ({}, RunOptions(), ("always", "default")),
        ({"runtime": {"rollbacks": {"strategy": "never"}}}, RunOptions(), ("never", "default")),
        (
            {"runtime": {"rollbacks": {"strategy": "never"}}},
            RunOptions(rollback_strategy="deviated"),
            ("deviated", "default"),
        ),
        (
            {},
            RunOptions(settings={"runtime": {"rollbacks": {"strategy": "default"}}}),
            ("default", "default"),
        ),
        (
            {"runtime": {"hypothesis": {"strategy": "continuously"}}},
            RunOptions(settings={"runtime": {"hypothesis": {"strategy": "after-method-only"}}}),
            ("always", "continuously"),
        ),
    ],
)
def test_runtime_precedence_is_settings_then_experiment_then_command_line(
    document: dict[str, object], options: RunOptions, expected: tuple[str, str]
) -> None:
    runtime = resolve_runtime(document, options)
    assert (runtime.rollback_strategy, runtime.hypothesis_strategy) == expected


def test_vars_are_typed_as_chaos_run_types_them() -> None:
    parsed = parse_vars(["a=1", "b:int=2", "c:float=0.5", "d:bool=no", "e:json=[1]", "f=x=y"], [])
    assert dict(parsed.configuration) == {
        "a": "1",
        "b": 2,
        "c": 0.5,
        "d": False,
        "e": [1],
        "f": "x=y",
    }
    for bad, message in (
        ("novalue", "--var: expected KEY=VALUE or KEY:TYPE=VALUE, got 'novalue'"),
        (
            "k:list=1",
            "--var 'k:list=1': unknown type 'list'; expected one of str, string, int, "
            "integer, float, number, bool, json, bytes",
        ),
    ):
        with pytest.raises(UsageError) as caught:
            parse_vars([bad], [])
        assert str(caught.value) == message
