"""The project's words, each defined once (contract §1-§4, §10).

Every other module imports these names; the tuples are derived from the ``Literal``
types, so adding a word is a one-line change here (as ``"approve"`` joined ``Mode``):

>>> MODES
('auto', 'approve', 'shadow', 'manual')
>>> "voice" in CHANNELS and "offline" in AGENT_STATUSES
True

Pure: no imports beyond ``typing``, so settings, codec, core and adapters can all use it.
"""

from __future__ import annotations

from typing import Literal, get_args

Channel = Literal["voice", "chat", "email"]
"""A queue's kind: real-time voice and chat, deferred email."""

Mode = Literal["auto", "approve", "shadow", "manual"]
"""How a site's plans take effect (contract §4 ``mode``, §9 ``approve``)."""

Clock = Literal["wall", "event"]
"""``[planner] clock``: plan on wall time, or on the inbound messages' ``ts``."""

AgentStatus = Literal["available", "busy", "wrap_up", "break", "offline"]
"""An agent's reported status (contract §3.2)."""

AckStatus = Literal["accepted", "rejected", "done"]
"""A bridge's answer to one move of a command (contract §10)."""

Policy = Literal["static", "threshold", "staffer"]
"""A staffing policy of the simulator (``staffer simulate --policy``)."""

MessageKind = Literal["queue_metrics", "site_metrics", "agent_state", "override", "move_ack"]
"""The inbound message kinds, one per inbound topic shape (contract §2)."""

CHANNELS: tuple[Channel, ...] = get_args(Channel)
MODES: tuple[Mode, ...] = get_args(Mode)
CLOCKS: tuple[Clock, ...] = get_args(Clock)
AGENT_STATUSES: tuple[AgentStatus, ...] = get_args(AgentStatus)
ACK_STATUSES: tuple[AckStatus, ...] = get_args(AckStatus)
MESSAGE_KINDS: tuple[MessageKind, ...] = get_args(MessageKind)
PROPOSING_MODES: frozenset[Mode] = frozenset({"approve", "shadow"})
"""Modes whose plans publish their moves as proposals (contract §9; read-only in shadow)."""
POLICIES: tuple[Policy, ...] = get_args(Policy)

STORAGE = "storage"
"""Reply code (contract §4): the state database could not record the request, so nothing
was done; retrying later (the same id) is safe. Also ``staffer_storage_ok``'s subject."""

STAFFED_STATUSES: frozenset[AgentStatus] = frozenset({"available", "busy", "wrap_up"})
"""Statuses that count as staffed (contract §3.2)."""

MOVABLE_FIRST: tuple[AgentStatus, ...] = ("available", "wrap_up", "busy")
"""The order in which the planner prefers to move staffed agents."""

__all__ = [
    "ACK_STATUSES",
    "AGENT_STATUSES",
    "CHANNELS",
    "CLOCKS",
    "MESSAGE_KINDS",
    "MODES",
    "MOVABLE_FIRST",
    "POLICIES",
    "PROPOSING_MODES",
    "STAFFED_STATUSES",
    "STORAGE",
    "AckStatus",
    "AgentStatus",
    "Channel",
    "Clock",
    "MessageKind",
    "Mode",
    "Policy",
]


MAX_SEGMENT_CHARS = 256  # our own bound on one variable topic level (an id)


def valid_segment(segment: str) -> bool:
    """True when ``segment`` can be one level of a concrete topic name: what a site, agent
    or queue id may be (contract §2)."""
    return (
        isinstance(segment, str)
        and 0 < len(segment) <= MAX_SEGMENT_CHARS
        and "+" not in segment
        and "#" not in segment
        and "/" not in segment
        and "\x00" not in segment
    )
