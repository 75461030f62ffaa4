"""The k8s lab as data: its objects per variant, its keys, and the profile's wiring."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from chaosrun.lab.k8s.app import APP, NODES, ZONE_LABEL, app_objects, lab_objects
from chaosrun.lab.k8s.pki import make_pki
from chaosrun.lab.k8s.profile import ENTRY, k8s_profile
from chaosrun.lab.profile import expand
from chaosrun.lab.topology import DEFAULT_TOPOLOGY
from chaosrun.lab.variants import PROFILE_VARIANTS


def _kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def _pod_spec(variant: str) -> dict[str, Any]:
    (deployment,) = _kind(app_objects(variant), "Deployment")
    spec: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return spec


def test_the_healthy_app_has_every_defence() -> None:
    objects = app_objects("healthy")
    (deployment,) = _kind(objects, "Deployment")
    (budget,) = _kind(objects, "PodDisruptionBudget")
    assert deployment["spec"]["replicas"] == 4
    assert budget["spec"] == {"maxUnavailable": 1, "selector": {"matchLabels": {"app": APP}}}
    zone, host = _pod_spec("healthy")["topologySpreadConstraints"]
    assert (zone["topologyKey"], zone["whenUnsatisfiable"]) == (ZONE_LABEL, "DoNotSchedule")
    assert zone["nodeTaintsPolicy"] == "Honor"  # a cordoned zone does not block the move
    assert host["whenUnsatisfiable"] == "ScheduleAnyway"
    assert "nodeSelector" not in _pod_spec("healthy")


@pytest.mark.parametrize(
    ("variant", "lacks"),
    [("one-replica", "replicas"), ("no-pdb", "budget"), ("one-zone", "zones")],
)
def test_each_variant_lacks_exactly_one_defence(variant: str, lacks: str) -> None:
    objects = app_objects(variant)
    (deployment,) = _kind(objects, "Deployment")
    spec = _pod_spec(variant)
    keys = [c["topologyKey"] for c in spec["topologySpreadConstraints"]]
    assert (deployment["spec"]["replicas"] == 1) is (lacks == "replicas")
    assert (not _kind(objects, "PodDisruptionBudget")) is (lacks == "budget")
    assert (ZONE_LABEL not in keys) is (lacks == "zones")
    assert (spec.get("nodeSelector") == {ZONE_LABEL: "a"}) is (lacks == "zones")
    assert set(PROFILE_VARIANTS["k8s"]) == {"healthy", "one-replica", "no-pdb", "one-zone"}


def test_nodes_are_kwok_nodes_in_two_zones() -> None:
    docs = list(yaml.safe_load_all(lab_objects("healthy")))
    nodes = _kind(docs, "Node")
    zones = [n["metadata"]["labels"][ZONE_LABEL] for n in nodes]
    assert len(nodes) == len(NODES) and zones.count("a") == zones.count("b") == 2
    assert all(n["metadata"]["labels"]["type"] == "kwok" for n in nodes)
    assert docs.index(nodes[-1]) < docs.index(_kind(docs, "Deployment")[0])


def test_keys_chain_to_the_lab_ca() -> None:
    pki = make_pki()
    ca = x509.load_pem_x509_certificate(pki.ca_cert.encode())
    for pem in (pki.server_cert, pki.admin_cert):
        cert = x509.load_pem_x509_certificate(pem.encode())
        public = ca.public_key()
        assert isinstance(public, ec.EllipticCurvePublicKey)
        cert.verify_directly_issued_by(ca)
    admin = x509.load_pem_x509_certificate(pki.admin_cert.encode())
    assert "O=system:masters" in admin.subject.rfc4514_string()
    server = x509.load_pem_x509_certificate(pki.server_cert.encode())
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "127.0.0.1" in [str(ip) for ip in names.get_values_for_type(x509.IPAddress)]
    assert make_pki().ca_key != pki.ca_key  # fresh for every lab


def test_every_client_reaches_the_api_server_and_etcd_through_their_proxies() -> None:
    profile = k8s_profile(DEFAULT_TOPOLOGY, "healthy", Path("/bin8s"), make_pki())
    listens = {p.name: f"127.0.0.1:{4000 + i}" for i, p in enumerate(profile.proxies)}
    values = {"python": "py", "dir": "/l", "port": "1", "port:peer": "2", "port:admin": "3"}
    commands = {s.name: expand(s.command, values, listens) for s in profile.services}
    files = {n: expand((c,), values, listens)[0] for s in profile.services for n, c in s.files}
    assert f"--etcd-servers=http://{listens['etcd']}" in commands["kube-apiserver"]
    kubeconfig = yaml.safe_load(files["k8s/kubeconfig"])
    assert kubeconfig["clusters"][0]["cluster"]["server"] == f"https://{listens['kube-apiserver']}"
    for name in ("kube-controller-manager", "kube-scheduler", "kwok", ENTRY):
        assert "--kubeconfig=/l/k8s/kubeconfig" in commands[name], name
    assert profile.entry == ENTRY and "--serve=gateway=1" in commands[ENTRY]
    (argv,) = json.loads(files["k8s/images.json"]).values()
    assert argv[argv.index("--port") + 1] == "$PORT"
    for dep in DEFAULT_TOPOLOGY.dependencies:  # pods reach their dependencies through Toxiproxy
        assert f"{dep.name}=http://{listens[dep.name]}" in argv
    assert commands["etcd"][0] == "/bin8s/etcd"
