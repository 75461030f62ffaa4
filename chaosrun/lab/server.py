"""Find the Toxiproxy server binary."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from chaosrun.errors import LabError

__all__ = ["INSTALL_HINT", "TOOLS_DIR", "find_toxiproxy_server"]

TOOLS_DIR = Path(__file__).resolve().parents[2] / ".tools" / "bin"
INSTALL_HINT = (
    "toxiproxy-server not found: run 'make setup' (go install "
    "github.com/Shopify/toxiproxy/v2/cmd/server@v2.12.0 into .tools/bin) "
    "or set TOXIPROXY_SERVER=/path/to/toxiproxy-server"
)


def find_toxiproxy_server() -> Path:
    """$TOXIPROXY_SERVER, then PATH, then the project tools dir."""
    explicit = os.environ.get("TOXIPROXY_SERVER")
    if explicit:
        path = Path(explicit)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise LabError(f"TOXIPROXY_SERVER={explicit} is not an executable file; {INSTALL_HINT}")
    on_path = shutil.which("toxiproxy-server")
    if on_path:
        return Path(on_path)
    local = TOOLS_DIR / "toxiproxy-server"
    if local.is_file() and os.access(local, os.X_OK):
        return local
    raise LabError(INSTALL_HINT)
