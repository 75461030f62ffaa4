"""The k8s lab profile as data (`chaosrun.lab.profile`).

A real control plane on 127.0.0.1 -- etcd, kube-apiserver (TLS, client certificates, RBAC),
kube-controller-manager, kube-scheduler -- built by `make k8s-tools`; kwok, which makes four
simulated nodes in zones a and b Ready and takes their pods to Running; the gateway's
dependencies as lab processes, each behind its Toxiproxy proxy as in the streaming lab; and the
podhost (`chaosrun.lab.k8s.podhost`), which runs a real gateway process for each Running pod
and serves the gateway Service: the lab's entry. etcd and the API server are reached through
proxies too (``etcd``, ``kube-apiserver``), so the control plane's own links can be faulted.

Every client (the components, the podhost, chaosrun) uses ``{dir}/k8s/kubeconfig``: context
``chaosrun-lab``, namespace ``streaming``, a client certificate in ``system:masters``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from chaosrun.lab.k8s.app import GATEWAY_IMAGE, NAMESPACE, lab_objects
from chaosrun.lab.profile import (
    LabProfile,
    ProxySpec,
    Readiness,
    ServiceSpec,
    dependency_service,
    gateway_command,
)
from chaosrun.lab.topology import Topology

if TYPE_CHECKING:  # cryptography loads only when a k8s lab starts (lab.lab_up)
    from chaosrun.lab.k8s.pki import LabPki

__all__ = ["CONTEXT", "ENTRY", "KUBECONFIG", "k8s_profile", "k8s_proxies"]

CONTEXT = "chaosrun-lab"
KUBECONFIG = "k8s/kubeconfig"
ENTRY = "podhost"
_PKI = "k8s/pki"
_KWOK_CONFIG = Path(__file__).with_name("kwok.yaml")


def kubeconfig_template() -> str:
    pki = f"{{dir}}/{_PKI}"
    return "\n".join(
        [
            "apiVersion: v1",
            "kind: Config",
            "clusters:",
            f"- name: {CONTEXT}",
            "  cluster:",
            "    server: https://{proxy:kube-apiserver}",
            f"    certificate-authority: {pki}/ca.crt",
            "users:",
            "- name: chaosrun-admin",
            "  user:",
            f"    client-certificate: {pki}/admin.crt",
            f"    client-key: {pki}/admin.key",
            "contexts:",
            f"- name: {CONTEXT}",
            "  context:",
            f"    cluster: {CONTEXT}",
            "    user: chaosrun-admin",
            f"    namespace: {NAMESPACE}",
            f"current-context: {CONTEXT}",
            "",
        ]
    )


def _component(binaries: Path, name: str, *args: str) -> tuple[str, ...]:
    return (str(binaries / name), *args)


def k8s_profile(topology: Topology, variant: str, binaries: Path, pki: LabPki) -> LabProfile:
    pki_dir = f"{{dir}}/{_PKI}"
    kubeconfig = f"{{dir}}/{KUBECONFIG}"
    peer = "http://127.0.0.1:{port:peer}"
    etcd = ServiceSpec(
        "etcd",
        _component(
            binaries,
            "etcd",
            "--name=lab",
            "--data-dir={dir}/k8s/etcd",
            "--listen-client-urls=http://127.0.0.1:{port}",
            "--advertise-client-urls=http://127.0.0.1:{port}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=lab={peer}",
            "--unsafe-no-fsync",  # a lab's cluster state is thrown away with the lab
            "--log-level=warn",
        ),
        Readiness("http", "/health"),
        files=(*pki.files(_PKI), (KUBECONFIG, kubeconfig_template())),
        ports=("peer",),
    )
    apiserver = ServiceSpec(
        "kube-apiserver",
        _component(
            binaries,
            "kube-apiserver",
            "--etcd-servers=http://{proxy:etcd}",
            "--bind-address=127.0.0.1",
            "--secure-port={port}",
            "--advertise-address=127.0.0.1",
            # Its own endpoint would be 127.0.0.1, which the API server refuses to publish.
            "--endpoint-reconciler-type=none",
            f"--tls-cert-file={pki_dir}/apiserver.crt",
            f"--tls-private-key-file={pki_dir}/apiserver.key",
            f"--client-ca-file={pki_dir}/ca.crt",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki_dir}/sa.pub",
            f"--service-account-signing-key-file={pki_dir}/sa.key",
            "--service-cluster-ip-range=10.96.0.0/24",
            "--authorization-mode=RBAC",
            "--profiling=false",
        ),
        Readiness("https", "/readyz"),
        after=("etcd",),
    )
    delegated = (
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--leader-elect=false",
        "--bind-address=127.0.0.1",
        "--secure-port={port}",
        "--profiling=false",
    )
    controllers = ServiceSpec(
        "kube-controller-manager",
        _component(
            binaries,
            "kube-controller-manager",
            *delegated,
            f"--service-account-private-key-file={pki_dir}/sa.key",
            f"--root-ca-file={pki_dir}/ca.crt",
            "--use-service-account-credentials=false",
        ),
        Readiness("https", "/healthz"),
        after=("kube-apiserver",),
    )
    scheduler = ServiceSpec(
        "kube-scheduler",
        _component(binaries, "kube-scheduler", *delegated),
        Readiness("https", "/healthz"),
    )
    kwok = ServiceSpec(
        "kwok",
        _component(
            binaries,
            "kwok",
            f"--kubeconfig={kubeconfig}",
            "--config={dir}/k8s/kwok.yaml",
            "--server-address=127.0.0.1:{port}",
            "--manage-all-nodes=false",
            "--manage-nodes-with-label-selector=type=kwok",
            # Addresses that only label objects, never reached: pods are reached through the
            # podhost on 127.0.0.1. Reserved ranges (RFC 5737, RFC 2544), no private network.
            "--node-ip=192.0.2.1",
            "--cidr=198.18.0.1/16",
        ),
        Readiness("http", "/healthz"),
        files=(("k8s/kwok.yaml", _KWOK_CONFIG.read_text()),),
    )

    dependencies = [dependency_service(dep) for dep in topology.dependencies]
    names = {dep.name: dep.name for dep in topology.dependencies}
    pod_command = gateway_command(topology, "healthy", "{dir}/data/pods/$POD", names)
    pod_command = [("$PORT" if arg == "{port}" else arg) for arg in pod_command]
    images = json.dumps({GATEWAY_IMAGE: pod_command}, indent=2)
    podhost = ServiceSpec(
        ENTRY,
        (
            "{python}",
            "-m",
            "chaosrun.lab.k8s.podhost",
            f"--kubeconfig={kubeconfig}",
            f"--namespace={NAMESPACE}",
            "--images={dir}/k8s/images.json",
            "--apply={dir}/k8s/objects.yaml",
            "--serve=gateway={port}",
            "--admin-port={port:admin}",
            "--log-dir={dir}/logs/pods",
            "--data-dir={dir}/data/pods",
        ),
        Readiness("http", "/ready", port="admin"),
        files=(("k8s/images.json", images), ("k8s/objects.yaml", lab_objects(variant))),
        after=("kube-apiserver", *names),
        ports=("admin",),
    )
    services = (etcd, apiserver, controllers, scheduler, kwok, *dependencies, podhost)
    return LabProfile("k8s", services, k8s_proxies(topology), entry=ENTRY)


def k8s_proxies(topology: Topology) -> tuple[ProxySpec, ...]:
    """The control plane's links and the gateway's dependencies, each behind a proxy."""
    proxies = [ProxySpec("etcd", "etcd"), ProxySpec("kube-apiserver", "kube-apiserver")]
    proxies += [ProxySpec(dep.name, dep.name) for dep in topology.dependencies]
    return tuple(proxies)
