"""The k8s lab's stand-in for a kubelet and kube-proxy: real processes behind simulated pods.

kwok simulates the nodes: it takes a scheduled pod to Running and a deleted one away, but runs
nothing. This process runs something: for each Running pod of the namespace on a node, the
command its container image names (``--images``: image -> argv, with ``$PORT`` and ``$POD``;
the container's ``args`` follow) on a free port of 127.0.0.1. It stops that process (SIGTERM,
SIGKILL after the pod's grace) once the pod is terminating, evicted or deleted, and starts it
again when it exits while its pod runs (restartPolicy Always, backoff 0.1 s doubling to 2 s);
stopping honours the container's preStop sleep (out of the Service first, then SIGTERM).
A process is ready once it answers ``GET /health`` -- the container's readiness probe, run as
a kubelet runs it (after initialDelaySeconds, every periodSeconds) -- and the pod's Ready
condition then says so in the API server (kwok leaves it False: see kwok.yaml), so
EndpointSlices and PodDisruptionBudgets see what a kubelet would have reported.

Each ``--serve SERVICE=PORT`` is that Service as a client sees it (an L7 load balancer, as an
ingress would be): every request goes round-robin to the next endpoint that the Service's
EndpointSlices (kept by kube-controller-manager from the API server's pods) call ready and
whose process is ready; with none, 503. So a pod kill, a drain or an eviction reaches the
client exactly as the control plane carries it out.

``--apply FILE`` creates the objects of FILE that do not exist yet (nodes, the app) first.
``--admin-port`` serves ``/ready`` (200 once every pod of the namespace runs a ready process
and each served Service has an endpoint) and ``/pods`` (JSON: pod -> port, ready, pid).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import datetime
import itertools
import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from aiohttp import web
from kubernetes import client, config, utils, watch  # type: ignore[import-untyped]

from chaosrun.lab.ports import free_ports
from chaosrun.lab.profile import Readiness
from chaosrun.lab.readiness import is_ready

__all__ = ["main"]

log = logging.getLogger("chaosrun.lab.k8s.podhost")

PROBE_INTERVAL_S = 0.05
HEALTH = Readiness("http", "/health")  # the gateway container's readiness probe
WATCH_TIMEOUT_S = 30
REQUEST_TIMEOUT_S = 5.0
BACKOFF_FIRST_S = 0.1
BACKOFF_MAX_S = 2.0
UPSTREAM_TIMEOUT_S = 30.0
SERVICE_LABEL = "kubernetes.io/service-name"
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "te",
    "trailer",
    "content-length",
    "host",
}
_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)
_prctl = _libc.prctl


def _die_with_parent() -> None:
    """Runs in the forked child before exec: a podhost killed outright takes its pods along."""
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


@dataclass(slots=True)
class PodProcess:
    """The process behind one pod."""

    uid: str
    name: str
    container: str
    image: str
    argv: list[str]
    grace_s: float
    initial_delay_s: float = 0.0
    period_s: float = 10.0
    pre_stop_s: float = 0.0  # lifecycle.preStop.sleep: out of the Service first, then SIGTERM
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    ready: bool = False
    starts: int = 0
    next_start: float = 0.0
    backoff_s: float = BACKOFF_FIRST_S
    started_at: float = 0.0  # monotonic, of the current process
    next_probe: float = 0.0


@dataclass(slots=True)
class Endpoints:
    """A Service's endpoints per EndpointSlice: slice name -> [(pod uid, ready)]."""

    slices: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)

    def ready_uids(self) -> list[str]:
        found = [uid for entries in self.slices.values() for uid, ready in entries if ready]
        return sorted(set(found))


class PodHost:
    """Pod processes and Service endpoints, shared by the watch threads and the proxies."""

    def __init__(
        self,
        namespace: str,
        images: dict[str, list[str]],
        log_dir: Path,
        data_dir: Path,
        report: Callable[[PodProcess], None] = lambda _: None,
    ) -> None:
        self.report = report  # tells the API server a pod's readiness changed
        self.namespace = namespace
        self.images = images
        self.log_dir = log_dir
        self.data_dir = data_dir
        self.lock = threading.Lock()
        self.pods: dict[str, PodProcess] = {}
        self.endpoints: dict[str, Endpoints] = {}
        self.running_uids: set[str] = set()  # pods the API server says run, not terminating
        self.counters: dict[str, Iterator[int]] = {}
        self.stopping = False

    # -- pods (called from the kubelet thread only, which owns every child process) --

    def pod_event(self, kind: str, pod: Any) -> None:
        uid = pod.metadata.uid
        terminating = pod.metadata.deletion_timestamp is not None
        phase = pod.status.phase if pod.status else None
        runs = kind != "DELETED" and not terminating and phase == "Running"
        with self.lock:
            if runs and pod.spec.node_name:
                self.running_uids.add(uid)
            else:
                self.running_uids.discard(uid)
        if runs and pod.spec.node_name and uid not in self.pods:
            self._admit(pod)
        elif not runs and uid in self.pods:
            self._terminate(uid)

    def forget_missing(self, present: set[str]) -> None:
        """After a relist: pods gone while the watch was down are stopped."""
        for uid in [u for u in self.pods if u not in present]:
            self._terminate(uid)
        with self.lock:
            self.running_uids &= present

    def _admit(self, pod: Any) -> None:
        image = pod.spec.containers[0].image
        template = self.images.get(image)
        if template is None:
            log.warning("pod %s: no command for image %s; not run", pod.metadata.name, image)
            return
        container = pod.spec.containers[0]
        grace = pod.spec.termination_grace_period_seconds
        name = pod.metadata.name
        argv = [a.replace("$POD", name) for a in [*template, *(container.args or [])]]
        probe = container.readiness_probe
        process = PodProcess(
            pod.metadata.uid,
            name,
            container.name,
            image,
            argv,
            float(2 if grace is None else grace),
            float(probe.initial_delay_seconds or 0) if probe else 0.0,
            float(probe.period_seconds or 10) if probe else 10.0,
            _pre_stop_sleep(container),
        )
        self.pods[process.uid] = process
        self._start(process)

    def _start(self, process: PodProcess) -> None:
        process.port = free_ports(1)[0]
        (self.data_dir / process.name).mkdir(parents=True, exist_ok=True)
        argv = [a.replace("$PORT", str(process.port)) for a in process.argv]
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{process.name}.log"
        with open(log_path, "ab") as out:
            process.proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                close_fds=True,
                preexec_fn=_die_with_parent,  # only a prctl call between fork and exec
            )
        process.starts += 1
        process.started_at = time.monotonic()
        process.next_probe = process.started_at + process.initial_delay_s
        log.info("pod %s: started pid %d on port %d", process.name, process.proc.pid, process.port)

    def _terminate(self, uid: str) -> None:
        with self.lock:
            process = self.pods.pop(uid)
            process.ready = False
        log.info("pod %s: terminating", process.name)
        if process.proc is not None:
            args = (process.proc, process.grace_s, process.pre_stop_s)
            threading.Thread(target=_stop, args=args, daemon=True).start()

    def keep_running(self, now: float) -> None:
        """Start again, after a backoff, a pod's process that exited while its pod runs."""
        for process in list(self.pods.values()):
            if process.proc is None or process.proc.poll() is None:
                continue
            if process.ready or process.next_start == 0.0:
                was_ready = process.ready
                with self.lock:
                    process.ready = False
                log.info("pod %s: process exited (%s)", process.name, process.proc.returncode)
                if was_ready:
                    self.report(process)
                process.next_start = now + process.backoff_s
                process.backoff_s = min(process.backoff_s * 2, BACKOFF_MAX_S)
            elif now >= process.next_start:
                process.next_start = 0.0
                self._start(process)

    # -- readiness (the probe thread) --

    def probe(self, now: float) -> None:
        """The readiness probe of each pod not ready yet: first after its initialDelaySeconds,
        then every periodSeconds, as a kubelet runs it."""
        for process in list(self.pods.values()):
            if process.ready or process.proc is None or process.proc.poll() is not None:
                continue
            if now < process.next_probe:
                continue
            process.next_probe = now + process.period_s
            if is_ready(HEALTH, "127.0.0.1", process.port):
                with self.lock:
                    if process.uid not in self.pods:
                        continue
                    process.ready = True
                    process.backoff_s = BACKOFF_FIRST_S
                log.info("pod %s: ready", process.name)
                self.report(process)

    # -- endpoints (the EndpointSlice watch thread) --

    def slice_event(self, kind: str, item: Any) -> None:
        labels = item.metadata.labels or {}
        service = labels.get(SERVICE_LABEL)
        if service is None:
            return
        entries = []
        for endpoint in item.endpoints or []:
            ref = endpoint.target_ref
            if ref is None or ref.kind != "Pod":
                continue
            conditions = endpoint.conditions
            ready = bool(conditions and conditions.ready and not conditions.terminating)
            entries.append((ref.uid, ready))
        with self.lock:
            slices = self.endpoints.setdefault(service, Endpoints()).slices
            if kind == "DELETED":
                slices.pop(item.metadata.name, None)
            else:
                slices[item.metadata.name] = entries

    def reset_slices(self) -> None:
        with self.lock:
            self.endpoints.clear()

    # -- what the proxies and /ready read --

    def backends(self, service: str) -> list[int]:
        with self.lock:
            endpoints = self.endpoints.get(service)
            if endpoints is None:
                return []
            ready = [self.pods.get(uid) for uid in endpoints.ready_uids()]
            return [p.port for p in ready if p is not None and p.ready]

    def next_backend(self, service: str) -> int | None:
        ports = self.backends(service)
        if not ports:
            return None
        counter = self.counters.setdefault(service, itertools.count())
        return ports[next(counter) % len(ports)]

    def is_ready(self, services: Sequence[str]) -> bool:
        with self.lock:
            running = set(self.running_uids)
            ready = {uid for uid, p in self.pods.items() if p.ready}
        return bool(running) and running <= ready and all(self.backends(s) for s in services)

    def describe(self) -> dict[str, Any]:
        with self.lock:
            return {
                p.name: {
                    "uid": p.uid,
                    "port": p.port,
                    "ready": p.ready,
                    "pid": p.proc.pid if p.proc else None,
                    "starts": p.starts,
                }
                for p in self.pods.values()
            }

    def stop_all(self) -> None:
        with self.lock:
            processes = list(self.pods.values())
            self.pods.clear()
        running = [(p.proc, p.grace_s) for p in processes if p.proc and p.proc.poll() is None]
        for proc, _ in running:  # all asked at once, as a node shutting down would
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        for proc, grace_s in running:
            _stop(proc, grace_s)


def pod_status(process: PodProcess, now: str) -> dict[str, Any]:
    """The status patch that says whether `process`'s pod is ready (as a kubelet reports it)."""
    ready = "True" if process.ready else "False"
    state: dict[str, Any] = {"running": {"startedAt": now}}
    return {
        "status": {
            "conditions": [
                {"type": "Ready", "status": ready, "lastTransitionTime": now},
                {"type": "ContainersReady", "status": ready, "lastTransitionTime": now},
            ],
            "containerStatuses": [
                {
                    "name": process.container,
                    "image": process.image,
                    "imageID": "",
                    "ready": process.ready,
                    "started": True,
                    "restartCount": max(process.starts - 1, 0),
                    "state": state,
                }
            ],
        }
    }


def _reporter(core: Any, namespace: str) -> Callable[[PodProcess], None]:
    def report(process: PodProcess) -> None:
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        try:
            core.patch_namespaced_pod_status(
                process.name,
                namespace,
                pod_status(process, now),
                _request_timeout=REQUEST_TIMEOUT_S,
            )
        except Exception as exc:
            log.warning("pod %s: readiness not reported: %s", process.name, exc)

    return report


def _pre_stop_sleep(container: Any) -> float:
    hook = container.lifecycle.pre_stop if container.lifecycle else None
    sleep = getattr(hook, "sleep", None) if hook else None
    return float(sleep.seconds) if sleep is not None and sleep.seconds else 0.0


def _stop(proc: subprocess.Popen[bytes], grace_s: float, pre_stop_s: float = 0.0) -> None:
    """As a kubelet stops a container: the preStop sleep (the pod is already out of the
    Service: requests in flight finish), then SIGTERM, then SIGKILL once the grace is over."""
    if pre_stop_s:
        time.sleep(min(pre_stop_s, grace_s))
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=max(grace_s - pre_stop_s, 0.1))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def follow(
    lister: Callable[..., Any],
    on_event: Callable[[str, Any], None],
    on_relist: Callable[[list[Any]], None],
    namespace: str,
    stopping: Callable[[], bool],
) -> None:
    """List, hand every item over, then watch from that version; list again after any error
    (a 410 Gone, the API server out of reach) -- forever, until `stopping()`."""
    while not stopping():
        try:
            listed = lister(namespace, _request_timeout=REQUEST_TIMEOUT_S)
            on_relist(listed.items)
            for item in listed.items:
                on_event("ADDED", item)
            version = listed.metadata.resource_version
            stream = watch.Watch().stream(  # type: ignore[no-untyped-call]
                lister,
                namespace,
                resource_version=version,
                timeout_seconds=WATCH_TIMEOUT_S,
                _request_timeout=WATCH_TIMEOUT_S + REQUEST_TIMEOUT_S,
            )
            for event in stream:
                if event["type"] == "ERROR":
                    break
                on_event(event["type"], event["object"])
        except Exception as exc:
            log.warning("watch %s: %s; listing again", lister.__name__, exc)
            time.sleep(0.2)


def apply(api: Any, path: Path, nodes_ready_s: float = 20.0) -> int:
    """Create each object of `path` that does not exist yet; the number created. Nodes first,
    and the rest once they are Ready: kwok gives a pod its IP from its node's, so a pod that
    runs before kwok knows its node would have none -- and no endpoint."""
    documents = [d for d in yaml.safe_load_all(path.read_text()) if d]
    nodes = [d for d in documents if d.get("kind") == "Node"]
    created = _create(api, nodes)
    names = {n["metadata"]["name"] for n in nodes}
    core = client.CoreV1Api(api)
    deadline = time.monotonic() + nodes_ready_s
    while names - _ready_nodes(core):
        if time.monotonic() > deadline:
            raise RuntimeError(f"nodes not Ready after {nodes_ready_s:g} s: {sorted(names)}")
        time.sleep(0.05)
    return created + _create(api, [d for d in documents if d.get("kind") != "Node"])


def _ready_nodes(core: Any) -> set[str]:
    ready = set()
    for node in core.list_node(_request_timeout=REQUEST_TIMEOUT_S).items:
        conditions = node.status.conditions or [] if node.status else []
        if any(c.type == "Ready" and c.status == "True" for c in conditions):
            ready.add(node.metadata.name)
    return ready


def _create(api: Any, documents: list[dict[str, Any]]) -> int:
    created = 0
    for document in documents:
        try:
            utils.create_from_dict(api, document)  # type: ignore[no-untyped-call]
            created += 1
        except utils.FailToCreateError as exc:
            if any(getattr(e, "status", None) != 409 for e in exc.api_exceptions):
                raise
    return created


async def _serve(host: PodHost, serve: dict[str, int], admin_port: int) -> None:
    session = aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=UPSTREAM_TIMEOUT_S),
        connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=30.0),
        auto_decompress=False,
    )
    runners: list[web.AppRunner] = []

    def proxy_for(service: str) -> Callable[[web.Request], Any]:
        async def handle(request: web.Request) -> web.StreamResponse:
            port = host.next_backend(service)
            if port is None:
                return web.Response(status=503, text=f"service {service}: no ready endpoint\n")
            headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
            try:
                async with session.request(
                    request.method,
                    f"http://127.0.0.1:{port}{request.rel_url}",
                    headers=headers,
                    data=await request.read(),
                    allow_redirects=False,
                ) as upstream:
                    body = await upstream.read()
                    out = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP}
                    return web.Response(status=upstream.status, body=body, headers=out)
            except (aiohttp.ClientError, TimeoutError) as exc:
                return web.Response(status=502, text=f"service {service}: {exc}\n")

        return handle

    async def ready(_: web.Request) -> web.Response:
        ok = host.is_ready(list(serve))
        return web.Response(status=200 if ok else 503, text="ready\n" if ok else "not ready\n")

    async def pods(_: web.Request) -> web.Response:
        return web.json_response(host.describe())

    for service, port in serve.items():
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", proxy_for(service))
        runners.append(await _listen(app, port))
    admin = web.Application()
    admin.router.add_get("/ready", ready)
    admin.router.add_get("/pods", pods)
    runners.append(await _listen(admin, admin_port))

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    sys.stdout.write("READY\n")
    sys.stdout.flush()
    await stop.wait()
    host.stopping = True
    for runner in runners:
        await runner.cleanup()
    await session.close()


async def _listen(app: web.Application, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=2048).start()
    return runner


def _kubelet(host: PodHost, events: queue.Queue[tuple[str, Any, Any]]) -> None:
    """Every change to the pod processes happens in this thread, which lives as long as the
    process: a child's PR_SET_PDEATHSIG follows the thread that forked it."""
    while not host.stopping:
        try:
            try:
                what, kind, item = events.get(timeout=PROBE_INTERVAL_S)
                if what == "relist":
                    host.forget_missing(item)
                else:
                    host.pod_event(kind, item)
            except queue.Empty:
                pass
            now = time.monotonic()
            host.keep_running(now)
            host.probe(now)
        except Exception:
            log.exception("kubelet: carrying on")
            time.sleep(PROBE_INTERVAL_S)


def _parse_serve(values: list[str]) -> dict[str, int]:
    serve = {}
    for value in values:
        name, _, port = value.partition("=")
        serve[name] = int(port)
    return serve


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaosrun.lab.k8s.podhost")
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--images", required=True, help="JSON: image -> argv ($PORT, $POD)")
    parser.add_argument("--apply", default=None, help="YAML objects to create when missing")
    parser.add_argument("--serve", action="append", default=[], metavar="SERVICE=PORT")
    parser.add_argument("--admin-port", type=int, required=True)
    parser.add_argument("--log-dir", required=True)
    parser.add_argument("--data-dir", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr
    )
    api = config.new_client_from_config(config_file=args.kubeconfig)  # type: ignore[no-untyped-call]
    if args.apply:
        log.info("created %d objects", apply(api, Path(args.apply)))
    images = json.loads(Path(args.images).read_text())
    core, discovery = client.CoreV1Api(api), client.DiscoveryV1Api(api)
    report = _reporter(core, args.namespace)
    host = PodHost(args.namespace, images, Path(args.log_dir), Path(args.data_dir), report)

    events: queue.Queue[tuple[str, Any, Any]] = queue.Queue()

    def pods_relist(items: list[Any]) -> None:
        events.put(("relist", None, {p.metadata.uid for p in items}))

    def pod_event(kind: str, pod: Any) -> None:
        events.put(("event", kind, pod))

    threading.Thread(target=_kubelet, args=(host, events), daemon=True).start()
    pods = threading.Thread(
        target=follow,
        args=(
            core.list_namespaced_pod,
            pod_event,
            pods_relist,
            args.namespace,
            lambda: host.stopping,
        ),
        daemon=True,
    )
    pods.start()

    def slices_relist(_: list[Any]) -> None:
        host.reset_slices()

    slices = threading.Thread(
        target=follow,
        args=(
            discovery.list_namespaced_endpoint_slice,
            host.slice_event,
            slices_relist,
            args.namespace,
            lambda: host.stopping,
        ),
        daemon=True,
    )
    slices.start()
    try:
        asyncio.run(_serve(host, _parse_serve(args.serve), args.admin_port))
    finally:
        host.stopping = True
        host.stop_all()
    logging.shutdown()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
