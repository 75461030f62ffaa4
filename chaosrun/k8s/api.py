"""Which cluster a step talks to, and a client for it.

chaosk8s picks its cluster from KUBECONFIG (else ~/.kube/config) and a context from
KUBERNETES_CONTEXT in the step's secrets or the environment; `Cluster` records that choice so
that a revert made later, by another process (the supervisor, `chaosrun cleanup`), talks to the
same API server.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubernetes import client, config  # type: ignore[import-untyped]

__all__ = ["REQUEST_TIMEOUT_S", "Cluster", "cluster_of"]

REQUEST_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class Cluster:
    kubeconfig: str  # the file's path ("" in a pod)
    context: str | None = None  # None: its current context
    in_cluster: bool = False  # in a pod (CHAOSTOOLKIT_IN_POD=true): its service account

    def to_params(self) -> dict[str, Any]:
        return {
            "kubeconfig": self.kubeconfig,
            "context": self.context,
            "in_cluster": self.in_cluster,
        }

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Cluster:
        context = params.get("context")
        return cls(
            str(params["kubeconfig"]),
            str(context) if context else None,
            bool(params.get("in_cluster")),
        )

    def exists(self) -> bool:
        """Whether its kube config is still there (a lab's cluster goes with its directory)."""
        return self.in_cluster or os.path.isfile(self.kubeconfig)

    def client(self) -> Any:
        """An API client; a call that cannot connect is tried once more, not urllib3's three
        times more (a revert must give up on a dead API server within its timeout)."""
        configuration = client.Configuration()
        if self.in_cluster:
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        else:
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=self.kubeconfig,
                context=self.context,
                client_configuration=configuration,
            )
        configuration.retries = 1
        return client.ApiClient(configuration)

    def core(self) -> Any:
        return client.CoreV1Api(self.client())


def cluster_of(
    secrets: Mapping[str, Any] | None, environ: Mapping[str, str] | None = None
) -> Cluster:
    """The cluster chaosk8s's `create_k8s_api_client(secrets)` talks to: in a pod
    (CHAOSTOOLKIT_IN_POD=true) its own, else KUBECONFIG's (or ~/.kube/config's) context."""
    env = os.environ if environ is None else environ
    if env.get("CHAOSTOOLKIT_IN_POD") == "true":
        return Cluster("", None, in_cluster=True)
    kubeconfig = os.path.expanduser(env.get("KUBECONFIG", "~/.kube/config"))
    context = (secrets or {}).get("KUBERNETES_CONTEXT") or env.get("KUBERNETES_CONTEXT")
    return Cluster(kubeconfig, str(context) if context else None)
