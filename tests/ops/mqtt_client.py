"""A tiny blocking MQTT test client on paho-mqtt (its network loop runs in a thread), over
TCP or WebSocket."""

from __future__ import annotations

import queue
import threading
import time
import uuid

import paho.mqtt.client as mqtt

TIMEOUT_S = 10.0


class AuthError(RuntimeError):
    """The broker refused the connection."""


class Client:
    """Connects on construction; every call waits for the broker's acknowledgement."""

    def __init__(
        self,
        port: int,
        username: str | None = None,
        password: str | None = None,
        host: str = "127.0.0.1",
        *,
        websocket: bool = False,
        client_id: str | None = None,
    ) -> None:
        self.messages: queue.Queue[tuple[str, bytes, bool]] = queue.Queue()
        # messages on other topics that a topic-specific wait passed over (kept, in order)
        self.backlog: list[tuple[str, bytes, bool]] = []
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        self._rc: object = None
        self._c = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id or f"ops-{username}-{uuid.uuid4().hex[:6]}",
            protocol=mqtt.MQTTv311,
            transport="websockets" if websocket else "tcp",
        )
        if websocket:  # MQTT over WebSocket, as the supervisor console speaks it
            self._c.ws_set_options(path="/mqtt")
        if username is not None:
            self._c.username_pw_set(username, password)
        self._c.on_connect = self._on_connect
        self._c.on_subscribe = lambda *a: self._subscribed.set()
        self._c.on_message = lambda _c, _u, m: self.messages.put((m.topic, m.payload, m.retain))
        self._c.connect(host, port, keepalive=30)
        self._c.loop_start()
        if not self._connected.wait(TIMEOUT_S):
            self.close()
            raise TimeoutError("no CONNACK")
        if self._rc != 0:
            self.close()
            raise AuthError(f"connection refused: {self._rc}")

    def _on_connect(self, _c, _u, _flags, rc, _props=None) -> None:
        self._rc = rc.value if hasattr(rc, "value") else rc
        self._connected.set()

    def subscribe(self, topic: str, qos: int = 1) -> None:
        self._subscribed.clear()
        self._c.subscribe(topic, qos)
        assert self._subscribed.wait(TIMEOUT_S), "no SUBACK"

    def publish(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False) -> None:
        info = self._c.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(TIMEOUT_S)
        assert info.is_published(), f"no PUBACK for {topic}"

    def next_message(self, timeout_s: float = TIMEOUT_S) -> tuple[str, bytes, bool]:
        return self.messages.get(timeout=timeout_s)

    def until(self, topic: str, timeout_s: float = TIMEOUT_S) -> list[tuple[str, bytes]]:
        """Every message received up to and including the first one on ``topic``."""
        seen: list[tuple[str, bytes]] = []
        while True:
            t, p, _ = self.messages.get(timeout=timeout_s)
            seen.append((t, p))
            if t == topic:
                return seen

    def take(self, n: int, timeout_s: float = TIMEOUT_S) -> list[tuple[str, bytes]]:
        """The next ``n`` messages, in arrival order."""
        return [self.messages.get(timeout=timeout_s)[:2] for _ in range(n)]

    def collect(self, n: int, timeout_s: float = TIMEOUT_S) -> list[tuple[str, bytes]]:
        """Up to the next ``n`` messages, as many as arrive within ``timeout_s`` in all (so
        an assertion on the result shows what arrived, not only that something did not)."""
        deadline = time.monotonic() + timeout_s
        out: list[tuple[str, bytes]] = []
        while len(out) < n and (left := deadline - time.monotonic()) > 0:
            try:
                out.append(self.messages.get(timeout=left)[:2])
            except queue.Empty:
                break
        return out

    def close(self) -> None:
        self._c.disconnect()
        self._c.loop_stop()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
