"""A recording TCP relay: what reaches a dependency, seen from outside it.

    python -m chaosrun.record.relay --route NAME=PORT=HOST:PORT [--route ...] --out FILE

For each route, listens on 127.0.0.1:PORT and relays every connection byte for byte to
HOST:PORT. Each HTTP/1.x exchange is recorded (`chaosrun.record.tap`) as one JSON line in FILE:
the route, connection, when the request started and the response ended, method, path, the
chaosrun request id and attempt headers, status. Connections are recorded too (`{"open": ...}` /
`{"close": ...}` lines), so traffic that is not HTTP is still counted. Prints `READY` once every
route listens; SIGTERM or SIGINT -> the open connections are closed, the file flushed, exit 0.

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
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from chaosrun.measure.load import event_loop_factory
from chaosrun.record.tap import Exchange, HttpTap

__all__ = ["Route", "main", "relay_argv"]

_CHUNK = 65536


@dataclass(frozen=True, slots=True)
class Route:
    """Listen on 127.0.0.1:`port`, relay to `upstream` (HOST:PORT); records name it `name`."""

    name: str
    port: int
    upstream: str

    @property
    def argument(self) -> str:
        return f"{self.name}={self.port}={self.upstream}"


class _Recorder:
    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.connections = 0
        self.tasks: set[asyncio.Task[None]] = set()

    def write(self, record: dict[str, object]) -> None:
        self.out.write(json.dumps(record, separators=(",", ":")) + "\n")
        self.out.flush()

    def exchanges(self, route: str, done: list[Exchange]) -> None:
        for exchange in done:
            self.write({"route": route, **exchange.to_json()})

    async def handle(
        self,
        route: str,
        upstream: tuple[str, int],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.connections += 1
        number = self.connections
        tap = HttpTap(number, time.time)
        self.write({"route": route, "open": number, "at": round(time.time(), 6)})
        try:
            up_reader, up_writer = await asyncio.open_connection(*upstream)
        except OSError as exc:
            at = round(time.time(), 6)
            self.write({"route": route, "close": number, "at": at, "error": str(exc)})
            writer.close()
            return
        try:
            await asyncio.gather(
                self._pump(reader, up_writer, tap.from_client),
                self._pump(
                    up_reader, writer, lambda data: self.exchanges(route, tap.from_upstream(data))
                ),
            )
        finally:
            self.exchanges(route, tap.closed())
            self.write({"route": route, "close": number, "at": round(time.time(), 6)})
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


async def _serve(routes: Mapping[str, tuple[int, tuple[str, int]]], out: IO[str]) -> None:
    recorder = _Recorder(out)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    def handler(
        route: str, upstream: tuple[str, int]
    ) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            recorder.tasks.add(task)
            try:
                await recorder.handle(route, upstream, reader, writer)
            finally:
                recorder.tasks.discard(task)

        return handle

    servers = [
        await asyncio.start_server(handler(name, up), "127.0.0.1", port, reuse_address=True)
        for name, (port, up) in routes.items()
    ]
    print("READY " + " ".join(f"{n}={p}" for n, (p, _) in routes.items()), flush=True)
    await stop.wait()
    for server in servers:
        server.close()
    for task in list(recorder.tasks):
        task.cancel()
    await asyncio.gather(*recorder.tasks, return_exceptions=True)


def relay_argv(routes: list[Route], out: str | Path) -> list[str]:
    """The command line that starts one relay process serving every route."""
    argv = [sys.executable, "-m", "chaosrun.record.relay", "--out", str(out)]
    for route in routes:
        argv += ["--route", route.argument]
    return argv


def _route(text: str) -> tuple[str, int, tuple[str, int]]:
    name, _, rest = text.partition("=")
    port, _, upstream = rest.partition("=")
    host, _, up_port = upstream.rpartition(":")
    if not name or not port.isdigit() or not host or not up_port.isdigit():
        raise argparse.ArgumentTypeError(f"expected NAME=PORT=HOST:PORT, got {text!r}")
    return name, int(port), (host, int(up_port))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaosrun.record.relay")
    parser.add_argument("--route", type=_route, action="append", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    routes = {name: (port, upstream) for name, port, upstream in args.route}
    _, factory = event_loop_factory("auto")  # uvloop: see bench/recorder.py for the figures
    with open(args.out, "a", encoding="utf-8") as out, asyncio.Runner(loop_factory=factory) as run:
        run.run(_serve(routes, out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
