"""``staffer.bridge``: write a contact-center bridge to staffer in a few lines (contract §14).

::

    from staffer.bridge import Bridge

    async with Bridge("mqtts://broker:8883", "main", username="bridge-main",
                      password_file="/run/secrets/mqtt", ca_file="ca.pem") as b:
        await b.agent_state("a17", status="available", queue="email", skills=["email", "phone"])
        await b.site_snapshot({"phone": {"interval_s": 60, "offered": 14, "waiting": 3}})
        async for command in b.commands():
            for move in command.moves:
                await b.ack(command, move, "accepted")

Everything published is validated with the daemon's own codec first
(:class:`BridgePayloadError` otherwise). See docs/bridge-guide.md.
"""

from staffer.bridge.client import Bridge
from staffer.bridge.validate import BridgeConnectionError, BridgeError, BridgePayloadError
from staffer.codec.bridge_payloads import Command, PlanSummary
from staffer.core.types import AckStatus, AgentStatus, Move, QueueSnapshot

__all__ = [
    "AckStatus",
    "AgentStatus",
    "Bridge",
    "BridgeConnectionError",
    "BridgeError",
    "BridgePayloadError",
    "Command",
    "Move",
    "PlanSummary",
    "QueueSnapshot",
]
