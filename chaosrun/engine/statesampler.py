"""Sample breaker states from the service's Prometheus metrics while a run measures.

One thread per run polls each metrics URL every `INTERVAL_S` (each read bounded by
`READ_TIMEOUT_S`) and keeps, per dependency, the (time, state) samples whose state could be
read. A sample is stamped when its answer came back, so a transition is seen at most one
interval plus one read late. Failed reads are counted, never retried in a loop.
"""

from __future__ import annotations

import threading
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field

from chaosrun.record.breakerstate import StateSelector, current_state

__all__ = ["INTERVAL_S", "StateSampler", "Watched"]

INTERVAL_S = 0.1
READ_TIMEOUT_S = 0.5


@dataclass(frozen=True, slots=True)
class Watched:
    dependency: str
    url: str
    selector: StateSelector


@dataclass(slots=True)
class StateSampler:
    watched: tuple[Watched, ...]
    samples: dict[str, list[tuple[float, str]]] = field(default_factory=dict)
    reads: int = 0
    failed_reads: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name="chaosrun-state-sampler", daemon=True
        )
        self._thread.start()

    def stop(self) -> Mapping[str, list[tuple[float, str]]]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=READ_TIMEOUT_S + 1.0)
        return self.samples

    def _run(self) -> None:
        urls = sorted({w.url for w in self.watched})
        while not self._stop.is_set():
            began = time.monotonic()
            for url in urls:
                text = self._read(url)
                at = time.time()
                if text is None:
                    continue
                for w in self.watched:
                    state = current_state(text, w.selector) if w.url == url else None
                    if state is not None:
                        self.samples.setdefault(w.dependency, []).append((at, state))
            self._stop.wait(max(0.0, INTERVAL_S - (time.monotonic() - began)))

    def _read(self, url: str) -> str | None:
        self.reads += 1
        try:
            with urllib.request.urlopen(url, timeout=READ_TIMEOUT_S) as response:
                return bytes(response.read()).decode("utf-8", "replace")
        except (OSError, ValueError):
            self.failed_reads += 1
            return None
