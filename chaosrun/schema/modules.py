"""Which modules a python provider may name, decided before anything is imported.

A python provider runs any function of any importable module in the worker: `module: os,
func: system` is a shell by another door. So a provider may name only:

- chaosrun's and chaoslib's own modules;
- the modules of installed Chaos Toolkit extensions (distributions named `chaostoolkit-*`,
  e.g. chaostoolkit-kubernetes -> `chaosk8s`);
- modules under a prefix the user allowed (`--allow-module PREFIX`: `mylib` allows `mylib` and
  `mylib.faults`, not `mylibrary`).

Modules that run commands or arbitrary code (`os`, `subprocess`, `shutil`, `builtins`, ...) are
refused even when a prefix would allow them. This keeps experiment files from running commands
through python providers; it does not sandbox the allowed modules themselves, nor process
providers (see the README).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from importlib.metadata import packages_distributions

__all__ = ["NEVER", "module_refusal"]

_OWN = ("chaosrun", "chaoslib")
NEVER = frozenset(
    {
        "builtins",
        "code",
        "codeop",
        "ctypes",
        "importlib",
        "multiprocessing",
        "os",
        "pickle",
        "posix",
        "pty",
        "runpy",
        "shutil",
        "subprocess",
        "sys",
    }
)


def module_refusal(module: str, allowed: Sequence[str] = ()) -> str | None:
    """None when `module` may be imported; else the sentence that says why not."""
    top = module.split(".", 1)[0]
    if top in NEVER:
        return (
            f"module '{module}' is never allowed: it runs commands or arbitrary code "
            "(use a Chaos Toolkit extension or your own module)"
        )
    if any(_under(module, prefix) for prefix in (*_OWN, *_extensions(), *allowed)):
        return None
    return (
        f"module '{module}' is not allowed: python providers may use chaosrun, chaoslib and "
        f"installed Chaos Toolkit extensions; allow it with --allow-module {top}"
    )


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


@functools.cache
def _extensions() -> tuple[str, ...]:
    """Top-level modules of installed `chaostoolkit-*` distributions (not chaostoolkit itself)."""
    found = []
    for top, distributions in packages_distributions().items():
        names = [d.lower().replace("_", "-") for d in distributions]
        if any(n.startswith("chaostoolkit-") and n != "chaostoolkit-lib" for n in names):
            found.append(top)
    return tuple(sorted(found))
