"""The HTTP connection cap within one accept batch (issue 14, item 10)."""

from __future__ import annotations

from typing import Any

from staffer.adapters.http_guard import CappedFactory


class _Handler:
    """Like aiohttp's RequestHandler: ``force_close`` drops the transport at once, but the
    handler stays in ``server.connections`` until its ``connection_lost`` runs later."""

    def __init__(self) -> None:
        self.transport: object | None = object()
        self._request_in_progress = False
        self.closed = 0

    def force_close(self) -> None:
        self.closed += 1
        self.transport = None


class _Server:
    def __init__(self, n: int) -> None:
        self.connections = [_Handler() for _ in range(n)]

    def __call__(self) -> Any:
        return "protocol"


def test_each_connection_over_the_cap_in_one_batch_closes_another_idle_one() -> None:
    server = _Server(4)
    server.connections[0]._request_in_progress = True  # busy: never closed for a newcomer
    refused: list[str] = []
    factory = CappedFactory(server, refused.append, cap=4)  # type: ignore[arg-type]
    for _ in range(3):  # three accepts before any connection_lost has run
        assert factory() == "protocol"
    assert [h.closed for h in server.connections] == [0, 1, 1, 1]  # before: [0, 3, 0, 0]
    assert refused == ["too_many_connections"] * 3
