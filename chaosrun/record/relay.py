"""A recording TCP relay: what reaches a dependency, seen from outside it.

    python -m chaosrun.record.relay --port N --upstream HOST:PORT --out FILE

Listens on 127.0.0.1:N and relays every connection byte for byte to the upstream. Each HTTP/1.x
exchange is recorded (`chaosrun.record.tap`) as one JSON line in FILE: connection, when the
request started and the response ended, method, path, the chaosrun request id and attempt
headers, status. Connections are recorded too (`{"open": ...}` / `{"close": ...}` lines), so
traffic that is not HTTP is still counted. Prints `READY <port>` once listening; SIGTERM or
SIGINT -> the open connections are closed, the file flushed, exit 0.

Placed between Toxiproxy and a dependency's upstream, it records what the service under test
sent to the dependency without the cooperation of either.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from chaosrun.measure.load import event_loop_factory
from chaosrun.record.tap import Exchange, HttpTap

__all__ = ["main", "relay_argv"]

_CHUNK = 65536


class _Recorder:
    def __init__(self, upstream: tuple[str, int], out: IO[str]) -> None:
        self.upstream = upstream
        self.out = out
        self.connections = 0
        self.tasks: set[asyncio.Task[None]] = set()

    def write(self, record: dict[str, object]) -> None:
        self.out.write(json.dumps(record, separators=(",", ":")) + "\n")
        self.out.flush()

    def exchanges(self, done: list[Exchange]) -> None:
        for exchange in done:
            self.write(exchange.to_json())

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        tap = HttpTap(number, time.time)
        self.write({"open": number, "at": round(time.time(), 6)})
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError as exc:
            self.write({"close": number, "at": round(time.time(), 6), "error": str(exc)})
            writer.close()
            return
        try:
            await asyncio.gather(
                self._pump(reader, up_writer, tap.from_client),
                self._pump(up_reader, writer, lambda data: self.exchanges(tap.from_upstream(data))),
            )
        finally:
            self.exchanges(tap.closed())
            self.write({"close": number, "at": round(time.time(), 6)})
            for w in (writer, up_writer):
                with contextlib.suppress(Exception):
                    w.close()

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        seen: Callable[[bytes], object],
    ) -> None:
        try:
            while data := await reader.read(_CHUNK):
                writer.write(data)  # relay first: the tap never delays the bytes
                seen(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                if writer.can_write_eof():
                    writer.write_eof()


async def _serve(port: int, upstream: tuple[str, int], out: IO[str]) -> None:
    recorder = _Recorder(upstream, out)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        recorder.tasks.add(task)
        try:
            await recorder.handle(reader, writer)
        finally:
            recorder.tasks.discard(task)

    server = await asyncio.start_server(handle, "127.0.0.1", port, reuse_address=True)
    print(f"READY {port}", flush=True)
    async with server:
        await stop.wait()
        server.close()
        for task in list(recorder.tasks):
            task.cancel()
        await asyncio.gather(*recorder.tasks, return_exceptions=True)


def relay_argv(port: int, upstream: str, out: str | Path) -> list[str]:
    """The command line that starts a relay on 127.0.0.1:`port` to `upstream` (HOST:PORT)."""
    return [
        sys.executable,
        "-m",
        "chaosrun.record.relay",
        "--port",
        str(port),
        "--upstream",
        upstream,
        "--out",
        str(out),
    ]


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaosrun.record.relay")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", type=_host_port, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    _, factory = event_loop_factory("auto")  # uvloop: see bench/recorder.py for the figures
    with open(args.out, "a", encoding="utf-8") as out, asyncio.Runner(loop_factory=factory) as run:
        run.run(_serve(args.port, args.upstream, out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
