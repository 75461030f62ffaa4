"""Free TCP ports on 127.0.0.1, below the Linux ephemeral range (Toxiproxy advice: < 32768)."""

from __future__ import annotations

import random
import socket

__all__ = ["free_ports", "is_listening"]

_LOW, _HIGH = 20000, 32767


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int, rng: random.Random | None = None) -> list[int]:
    """`count` distinct ports that are free right now (random, so parallel labs rarely collide)."""
    rng = rng or random.SystemRandom()
    chosen: list[int] = []
    for _ in range(count * 200):
        port = rng.randint(_LOW, _HIGH)
        if port not in chosen and _bindable(port):
            chosen.append(port)
            if len(chosen) == count:
                return chosen
    raise OSError(f"could not find {count} free ports in {_LOW}-{_HIGH}")


def is_listening(port: int, host: str = "127.0.0.1", timeout_s: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False
