"""The gateway's play history: one line appended per answered play, in its data directory.

The file is opened for each line (append mode), as a log that survives rotation would be: a disk
filled or a tmpfs mounted over the directory meanwhile is met by the next write.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["PlayHistory"]

FILE_NAME = "play-history.log"


@dataclass(slots=True)
class PlayHistory:
    directory: Path | None
    written: int = 0
    dropped: int = 0
    last_error: str | None = None
    _path: Path | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if self.directory is not None:
            self._path = self.directory / FILE_NAME

    def append(self, endpoint: str, request_id: str) -> None:
        """Write one line; OSError (ENOSPC, EROFS, ...) propagates to the caller, counted."""
        if self._path is None:
            return
        line = f"{time.time():.6f} {request_id} {endpoint}\n"
        try:
            with open(self._path, "a", encoding="utf-8") as fh:
                fh.write(line)
        except OSError as exc:
            self.dropped += 1
            self.last_error = f"{type(exc).__name__}: {exc.strerror or exc}"
            raise
        self.written += 1

    def state(self) -> dict[str, Any]:
        return {
            "data_dir": None if self.directory is None else str(self.directory),
            "written": self.written,
            "dropped": self.dropped,
            "last_error": self.last_error,
        }
