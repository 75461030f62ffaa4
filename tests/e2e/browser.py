"""A real headless browser (Debian's chromium) for the HTML reports: the DOM after scripts ran,
every console message, and a screenshot checked to be more than a blank page."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

__all__ = ["Rendered", "chromium", "ink_share", "render", "render_address"]

_CONSOLE = re.compile(r":INFO:CONSOLE[^\]]*\] (.*)")


def chromium() -> str:
    """The browser; `make test` installs it (apt-get) when it is missing."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise AssertionError("chromium is not installed: run `make setup` (apt-get install chromium)")


@dataclass(frozen=True, slots=True)
class Rendered:
    dom: str
    console: tuple[str, ...]  # every console message and uncaught error, as chromium logs them
    screenshot: Path

    def attribute(self, name: str) -> str | None:
        found = re.search(rf"<html[^>]*\s{name}=\"([^\"]*)\"", self.dom)
        return found.group(1) if found else None


def _browser(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",  # root in CI
            "--disable-gpu",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=8000",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def render(page: Path, screenshot: Path, width: int = 1200, height: int = 1800) -> Rendered:
    return render_address(page.resolve().as_uri(), screenshot, width, height)


def render_address(url: str, screenshot: Path, width: int = 1200, height: int = 1800) -> Rendered:
    """A page served over HTTP (or a file:// URL)."""
    dumped = _browser("--dump-dom", url)
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    console = tuple(m.group(1) for m in _CONSOLE.finditer(dumped.stderr))
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    shot = _browser(f"--window-size={width},{height}", f"--screenshot={screenshot}", url)
    assert shot.returncode == 0 and screenshot.exists(), shot.stderr[-2000:]
    return Rendered(dumped.stdout, console, screenshot)


def ink_share(png: Path) -> tuple[float, int]:
    """The share of pixels that are not (near) white, and how many distinct colours there are:
    a blank or an all-one-colour page is near (0, 1)."""
    with Image.open(png) as image:
        raw = image.convert("RGB").resize((300, 450)).tobytes()
    pixels = [tuple(raw[i : i + 3]) for i in range(0, len(raw), 3)]
    colours = set(pixels)
    inked = sum(1 for pixel in pixels if min(pixel) < 235)
    return inked / len(pixels), len(colours)
