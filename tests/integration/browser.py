"""Real-browser helpers: Debian's headless Chromium driven by Playwright, a mosquitto with a
WebSocket listener beside its TCP one that a test can stop and start again, the console
served by the daemon's HTTP server alone, and screenshots into docs/img.

Playwright never downloads a browser here: it drives ``/usr/bin/chromium`` (Debian's
``chromium`` package, installed by ``.ci/system-deps.sh``) with a fresh profile.
"""

from __future__ import annotations

import contextlib
import os
import struct
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from staffer import console
from staffer.adapters.http import HttpServer
from staffer.settings import Settings
from tests.conftest import Broker, free_port, start_mosquitto, wait_for_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WALLBOARD = {"width": 1600, "height": 1000}
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
SCRATCH_IMG = Path(os.environ.get("TMPDIR", "/tmp")) / "staffer-screenshots"
TIMEOUT_MS = 20_000  # per wait: generous for a loaded 2-core machine


@dataclass
class Page:
    """A Playwright page plus every error the page logged (console errors, uncaught
    exceptions, CSP violations), so a test can require a clean run."""

    page: Any
    errors: list[str] = field(default_factory=list)


@contextlib.asynccontextmanager
async def chromium_page(profile: Path) -> AsyncIterator[Page]:
    """A wallboard-sized page in headless Chromium with a fresh user data dir."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"{CHROMIUM} is missing: apt-get install chromium (see .ci/system-deps.sh)",
            pytrace=False,
        )
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.fail("playwright is not installed: pip install -e '.[dev]'", pytrace=False)
    async with async_playwright() as pw:
        context = await pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport=WALLBOARD,
        )
        try:
            context.set_default_timeout(TIMEOUT_MS)
            page = context.pages[0] if context.pages else await context.new_page()
            out = Page(page)
            page.on("console", lambda m: m.type == "error" and out.errors.append(m.text))
            page.on("pageerror", lambda e: out.errors.append(f"uncaught: {e}"))
            yield out
        finally:
            await context.close()


@dataclass
class WsBroker:
    """A private mosquitto: MQTT on ``port``, MQTT over WebSocket on ``ws_port`` (both
    fixed for its lifetime, so a restart comes back where the clients expect it)."""

    workdir: Path
    port: int = field(default_factory=free_port)
    ws_port: int = field(default_factory=free_port)
    host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.ws_port}"

    @contextlib.contextmanager
    def running(self) -> Iterator[Broker]:
        # Debian's mosquitto 2.0.11 will not start with a WebSocket listener alone.
        ws = f"listener {self.ws_port} {self.host}\nprotocol websockets\n"
        with start_mosquitto(self.workdir, extra_config=ws, port=self.port) as broker:
            wait_for_port(self.host, self.ws_port, timeout_s=10.0)
            yield broker


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


async def screenshot(page: Page, name: str) -> None:
    """Take a wallboard-size screenshot. It replaces docs/img/<name> only when
    STAFFER_SCREENSHOTS=1 (``make screenshots``), so a test run leaves the tree clean."""
    target = DOCS_IMG if os.environ.get("STAFFER_SCREENSHOTS") == "1" else SCRATCH_IMG
    path = target / name
    path.parent.mkdir(parents=True, exist_ok=True)
    await page.page.screenshot(path=str(path))
    assert png_size(path) == (WALLBOARD["width"], WALLBOARD["height"])


@contextlib.asynccontextmanager
async def console_only(settings: Settings) -> AsyncIterator[str]:
    """The daemon's HTTP server alone, serving the console (no daemon behind it)."""
    server = HttpServer(
        "127.0.0.1",
        0,
        exposition=lambda: b"",
        readiness=lambda: None,
        console_config=lambda: console.page_config(settings),
    )
    await server.start()
    try:
        yield server.url
    finally:
        await server.stop()
