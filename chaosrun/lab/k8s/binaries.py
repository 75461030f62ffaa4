"""Find the control plane's binaries, built by `make k8s-tools` (k8s/build.sh)."""

from __future__ import annotations

import os
from pathlib import Path

from chaosrun.errors import LabError

__all__ = ["BINARIES", "INSTALL_HINT", "find_k8s_binaries"]

BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
TOOLS_DIR = Path(__file__).resolve().parents[3] / ".tools" / "k8s" / "bin"
INSTALL_HINT = (
    "run 'make k8s-tools' (builds etcd, kube-apiserver, kube-controller-manager, kube-scheduler "
    "and kwok once per machine, ~12 min on 2 cores) or set CHAOSRUN_K8S_BIN to their directory"
)


def find_k8s_binaries() -> Path:
    """The directory holding every binary of BINARIES: $CHAOSRUN_K8S_BIN, else .tools/k8s/bin."""
    explicit = os.environ.get("CHAOSRUN_K8S_BIN")
    directory = Path(explicit) if explicit else TOOLS_DIR
    missing = [b for b in BINARIES if not os.access(directory / b, os.X_OK)]
    if missing:
        where = f"CHAOSRUN_K8S_BIN={explicit}" if explicit else str(directory)
        raise LabError(f"{', '.join(missing)} not found in {where}: {INSTALL_HINT}")
    return directory
