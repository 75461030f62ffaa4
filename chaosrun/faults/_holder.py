"""A connection holder: ``python -m chaosrun.faults._holder --to HOST:PORT --connections N
--path /x --tag T [--max-s 600]``.

Opens N TCP connections to HOST:PORT and sends on each the start of an HTTP request that never
ends (a request line, then one more header line per connection every second, never the blank
line that would finish it), as a slowloris does: a worker-per-connection server keeps a worker
on each. A connection the server closes is opened again. Prints ``HOLDING N`` once N are open;
exits by itself after ``--max-s`` whatever happens, else on SIGTERM/SIGKILL. `--tag` only marks
its command line (the undo entry that owns it). Started by `chaosrun.faults.hold_connections`.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import time

TRICKLE_S = 1.0
CONNECT_TIMEOUT_S = 2.0


def _open(host: str, port: int, path: str) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S)
    sock.setblocking(False)
    sock.send(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nX-Chaosrun-Held: 1\r\n".encode())
    return sock


def _closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(4096) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="chaosrun.faults._holder")
    parser.add_argument("--to", required=True)
    parser.add_argument("--connections", type=int, required=True)
    parser.add_argument("--path", default="/")
    parser.add_argument("--tag", default="")
    parser.add_argument("--max-s", type=float, default=600.0)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    host, _, port_text = args.to.rpartition(":")
    port = int(port_text)
    deadline = time.monotonic() + args.max_s
    held = [_open(host, port, args.path) for _ in range(args.connections)]
    print(f"HOLDING {len(held)}", flush=True)
    beat = 0
    while time.monotonic() < deadline:
        time.sleep(TRICKLE_S)
        beat += 1
        for i, sock in enumerate(held):
            try:
                if _closed(sock):
                    raise OSError("closed by the server")
                sock.send(f"X-Chaosrun-Hold-{beat}: 1\r\n".encode())
            except OSError:
                sock.close()
                try:
                    held[i] = _open(host, port, args.path)
                except OSError as exc:
                    print(f"reopen failed: {exc}", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
