"""The supervisor console (contract §13): one static page that the daemon serves at
``GET /console``.

The page talks to the broker itself, over MQTT over WebSocket, with the supervisor's own
broker credentials typed into it, so the broker ACL and the ``{supervisor}`` identity
apply unchanged and the daemon's HTTP server stays read-only. This package is package
data (the page, its stylesheet and script, the vendored MQTT.js in ``vendor/``) plus the
read-only settings the page starts from (``/console/config.json``). See docs/console.md.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from staffer import __version__
from staffer.settings import Settings

PAGE = "index.html"
# Files served below /console/ (nothing else is): path -> Content-Type.
ASSETS: dict[str, str] = {
    "console.css": "text/css; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
    "render.js": "text/javascript; charset=utf-8",
    "vendor/mqtt.min.js": "text/javascript; charset=utf-8",
    "vendor/mqtt.LICENSE.md": "text/plain; charset=utf-8",
    "vendor/mqtt.THIRD-PARTY.txt": "text/plain; charset=utf-8",
}


def read(name: str) -> bytes:
    """One of the console's files (``PAGE`` or a key of ``ASSETS``)."""
    return resources.files(__name__).joinpath(name).read_bytes()


def page_config(settings: Settings) -> dict[str, Any]:
    """What the page needs to start: the default broker URL, the topic prefix, the sites
    (for the site picker), the planning interval (to judge a plan's age) and the default
    override lifetime (shown in the form)."""
    return {
        "mqtt_ws_url": settings.console.mqtt_ws_url,
        "topic_prefix": settings.mqtt.topic_prefix,
        "sites": [s.id for s in settings.sites],
        "interval_s": settings.planner.interval_s,
        "override_ttl_s": settings.planner.override_ttl_s,
        "version": __version__,
    }
