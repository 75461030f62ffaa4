"""The observers' page: read-only, served on 127.0.0.1 while a session runs.

`GET /` is one self-contained page (plotly.js inline) that polls `GET /state` every second and
shows the scenario, its fault state, the SLIs of the last seconds with a chart of the last 90 s,
and the observation log. Nothing else is served; any other method is refused (405). The server
runs on its own thread and event loop, and stops with the session.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from chaosrun.gameday.timeline import TIMELINE_FILE, read_events
from chaosrun.lab.ports import free_ports

__all__ = ["Feed", "ObserverServer", "observer_page"]


@dataclass
class Feed:
    """What the session shows now; written by the session's thread, read by the server's."""

    title: str
    scenario: Mapping[str, Any] | None = None
    live: Mapping[str, Any] = field(default_factory=dict)
    marks: Mapping[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def update(self, **changes: Any) -> None:
        with self.lock:
            for key, value in changes.items():
                setattr(self, key, value)

    def view(self, directory: Path) -> dict[str, Any]:
        with self.lock:
            data: dict[str, Any] = {
                "title": self.title,
                "scenario": dict(self.scenario) if self.scenario else None,
                "live": dict(self.live),
                "marks": dict(self.marks),
            }
        events = read_events(directory / TIMELINE_FILE)
        data["log"] = [
            {"t": e["t"], "scenario": e.get("scenario"), "event": e["event"], "text": e.get("text")}
            for e in events
            if e["event"] in ("observation", "action", "detected", "mitigated", "abort-requested",
                              "scenario-started", "scenario-ended")
        ][-60:]  # fmt: skip
        return data


_PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>%(title)s - observers</title>
<style>body{font:15px/1.45 system-ui,sans-serif;margin:20px auto;max-width:1000px;padding:0 16px}
.bar{display:flex;gap:24px;flex-wrap:wrap} .kv b{display:block;font-size:12px;color:#616161}
#faults.on{color:#c62828;font-weight:600} ol{padding-left:20px} .muted{color:#616161}</style>
<script>window.addEventListener('error',function(e){document.documentElement.setAttribute(
'data-errors','1')});</script>
<script>%(plotly)s</script></head><body>
<h1>%(title)s</h1>
<p class=muted>Read-only view of the game day, refreshed every second.</p>
<h2 id=scenario>waiting for the first scenario</h2>
<div class=bar>
<div class=kv><b>status</b><span id=status>-</span></div>
<div class=kv><b>faults in place</b><span id=faults>-</span></div>
<div class=kv><b>available (5 s)</b><span id=availability>-</span></div>
<div class=kv><b>p99 (5 s)</b><span id=p99>-</span></div>
<div class=kv><b>degraded (5 s)</b><span id=degraded>-</span></div>
</div>
<div id=chart style="height:320px"></div>
<h3>Log</h3><ol id=log></ol>
<script>
function pct(v){return v===null||v===undefined?'-':(100*v).toFixed(1)+' %%';}
function draw(s){
  var sc=s.scenario; document.getElementById('scenario').textContent=
    sc?sc.number+'. '+sc.name+' - '+sc.title:'waiting for the first scenario';
  document.getElementById('status').textContent=sc?sc.status:'-';
  var f=(s.live.faults||[]); var el=document.getElementById('faults');
  el.textContent=f.length?f.join(', '):'none'; el.className=f.length?'on':'';
  document.getElementById('availability').textContent=pct(s.live.availability);
  var p99=s.live.p99_ms; document.getElementById('p99').textContent=
    p99==null?'-':p99.toFixed(0)+' ms';
  document.getElementById('degraded').textContent=pct(s.live.degraded);
  var pts=s.live.series||[]; var t0=pts.length?pts[0][0]:0;
  Plotly.react('chart',[
    {x:pts.map(p=>p[0]-t0),y:pts.map(p=>p[1]===null?null:100*p[1]),name:'available %%',yaxis:'y'},
    {x:pts.map(p=>p[0]-t0),y:pts.map(p=>p[2]),name:'p99 ms',yaxis:'y2'}],
    {margin:{t:10,l:50,r:50,b:40},xaxis:{title:'seconds'},
     yaxis:{title:'available %%',range:[0,101]},
     yaxis2:{title:'p99 ms',overlaying:'y',side:'right',
       rangemode:'tozero'},
     legend:{orientation:'h'}},{displaylogo:false,responsive:true});
  var log=document.getElementById('log'); log.innerHTML='';
  (s.log||[]).forEach(function(e){var li=document.createElement('li');
    var at=new Date(e.t*1000).toISOString().substr(11,8);
    li.textContent=at+' '+(e.scenario?e.scenario+': ':'')+e.event+(e.text?' - '+e.text:'');
    log.appendChild(li);});
  document.documentElement.setAttribute('data-updated', String(Date.now()));
}
function poll(){fetch('state').then(r=>r.json()).then(draw).catch(function(e){
  document.getElementById('status').textContent='session not reachable';});}
poll(); setInterval(poll,1000);
</script></body></html>"""


def observer_page(title: str) -> str:
    import html

    from plotly.offline import get_plotlyjs

    return _PAGE % {"title": html.escape(title), "plotly": get_plotlyjs()}


class ObserverServer:
    def __init__(self, feed: Feed, directory: Path, port: int | None = None) -> None:
        self.feed = feed
        self.directory = directory
        self.port = port or free_ports(1)[0]
        self._page = observer_page(feed.title)
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    async def _index(self, request: web.Request) -> web.Response:
        return web.Response(text=self._page, content_type="text/html")

    async def _state(self, request: web.Request) -> web.Response:
        data = await asyncio.to_thread(self.feed.view, self.directory)
        return web.Response(text=json.dumps(data, default=str), content_type="application/json")

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/", self._index)
        app.router.add_get("/state", self._state)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    def start(self) -> ObserverServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            runner = self._runner
            asyncio.run_coroutine_threadsafe(runner.cleanup(), self._loop).result(timeout=10)
            self._runner = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
