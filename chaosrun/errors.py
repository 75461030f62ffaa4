"""One exception tree for everything a user can cause; each class carries its exit code."""

from __future__ import annotations

__all__ = [
    "EXIT_ABORTED",
    "EXIT_DEVIATED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_UNAVAILABLE",
    "EXIT_USAGE",
    "ChaosrunError",
    "InputError",
    "LabError",
    "TargetBusy",
    "ToxiproxyError",
    "ToxiproxyUnreachable",
    "UsageError",
]

EXIT_OK = 0
EXIT_DEVIATED = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3
EXIT_ABORTED = 4
EXIT_INTERRUPTED = 130


class ChaosrunError(Exception):
    """Base of every error chaosrun reports to a user as one line."""

    exit_code = EXIT_UNAVAILABLE


class UsageError(ChaosrunError):
    exit_code = EXIT_USAGE


class InputError(ChaosrunError):
    """Invalid experiment input: names the file, the key path and the line."""

    exit_code = EXIT_USAGE

    def __init__(self, file: str, key_path: str, line: int | None, expected: str) -> None:
        self.file = file
        self.key_path = key_path
        self.line = line
        self.expected = expected
        where = f"{file}:{line}" if line is not None else file
        path = f" {key_path}:" if key_path else ""
        super().__init__(f"{where}:{path} {expected}")


class LabError(ChaosrunError):
    """The lab (or a target) could not be started, found or stopped."""


class TargetBusy(ChaosrunError):
    """Another run holds the lock on this lab or Toxiproxy server."""

    def __init__(self, message: str, holder: str = "") -> None:
        self.holder = holder
        super().__init__(message)


class ToxiproxyError(ChaosrunError):
    """The Toxiproxy API answered with an error."""

    def __init__(self, message: str, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


class ToxiproxyUnreachable(ToxiproxyError):
    """The Toxiproxy API did not answer in time or refused the connection."""
