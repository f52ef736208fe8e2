"""Render an HTML page in headless Chromium with every network request refused; return the final DOM.

Chromium is Debian's ``chromium`` package (`make install` installs it, best effort, as root). Host names
resolve nowhere and any request would go to a proxy on a closed port, so a page that needs the network
(a script from a CDN) renders nothing. ``--virtual-time-budget`` lets the page's scripts run to the end
before ``--dump-dom`` prints the DOM.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
OFFLINE_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
    "--virtual-time-budget=15000",
]


def render_offline(page: Path, profile: Path, timeout: float = 120) -> str:
    """The DOM of ``page`` after its scripts ran, offline, in a fresh profile ``profile``."""
    assert CHROMIUM is not None
    result = subprocess.run(
        [CHROMIUM, *OFFLINE_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.resolve().as_uri()],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0 and "<body" in result.stdout, result.stderr[-3000:]
    return result.stdout


def aria_labels(dom: str) -> list[str]:
    """The aria-label of every element: Vega's SVG renderer describes axes, titles and each point so."""
    return re.findall(r'aria-label="([^"]*)"', dom)
