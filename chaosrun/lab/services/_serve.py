"""What every lab service shares: listen, announce readiness, stop fast on a signal."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from typing import NoReturn

from aiohttp import web

from chaosrun.lab.services._slots import ConnectionSlots, SlottedSite

__all__ = ["exit_now", "run_service", "serve", "setup_logging"]

log = logging.getLogger("chaosrun.lab.services")
_SHUTDOWN_S = 0.8


async def serve(
    app: web.Application,
    host: str,
    port: int,
    *,
    cancel_on_disconnect: bool,
    slots: ConnectionSlots | None = None,
) -> None:
    """Listen, print ``READY <port>``, run until SIGTERM/SIGINT, then stop within ~1 s.

    Requests still in flight at the signal get 0.1 s to finish, then are cancelled. With
    `slots`, connections beyond its limit wait unread (see `_slots`).
    """
    runner = web.AppRunner(
        app,
        access_log=None,
        handle_signals=False,
        shutdown_timeout=0.1,
        handler_cancellation=cancel_on_disconnect,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await runner.setup()
    try:
        site = (
            web.TCPSite(runner, host, port, backlog=2048)
            if slots is None
            else SlottedSite(runner, host, port, slots)
        )
        await site.start()
        bound = runner.addresses[0][1]
        log.info("listening on %s:%d", host, bound)
        sys.stdout.write(f"READY {bound}\n")
        sys.stdout.flush()
        await stop.wait()
        log.info("stopping")
    finally:
        try:
            async with asyncio.timeout(_SHUTDOWN_S):
                await runner.cleanup()
        except TimeoutError:
            log.warning("cleanup took longer than %.1f s; exiting anyway", _SHUTDOWN_S)


def exit_now(code: int) -> NoReturn:
    """Flush logs and leave without interpreter finalization.

    Everything that matters (listening socket, client sessions) is closed by `serve` already;
    tearing down the interpreter costs another 0.1-0.25 s here, and several times that on a loaded
    box, which would break the "gone within a second of SIGTERM" promise.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def setup_logging(name: str) -> None:
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format=f"%(asctime)s {name}[%(process)d] %(levelname)s %(message)s",
    )


def run_service(
    app: web.Application,
    host: str,
    port: int,
    *,
    cancel_on_disconnect: bool,
    slots: ConnectionSlots | None = None,
) -> int:
    """Serve until a signal; exit code 3 when the port cannot be bound."""
    try:
        asyncio.run(serve(app, host, port, cancel_on_disconnect=cancel_on_disconnect, slots=slots))
    except OSError as exc:
        log.error("cannot listen on %s:%d: %s", host, port, exc)
        return 3
    return 0
