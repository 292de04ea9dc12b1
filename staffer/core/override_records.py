"""Overrides as records: the store's rows and the audit entry of an expiry.

A record is a JSON-safe dict with the override's envelope, its ``action`` and its
``fields`` (`payload_fields`): the same shape the store has always written, so state
files of older versions load unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from staffer.core.override_actions import action_of, payload_fields, payload_from_fields
from staffer.core.types import AuditRecord, Override

EXPIRY_KIND = "override_expired"


def override_to_record(ov: Override) -> dict[str, Any]:
    """Override -> JSON-safe dict (POSIX seconds kept as floats); the store's row."""
    return {
        "override_id": ov.override_id,
        "site": ov.site,
        "supervisor": ov.supervisor,
        "action": action_of(ov.payload),
        "fields": payload_fields(ov.payload),
        "created_at": ov.created_at,
        "expires_at": ov.expires_at,
        "reason": ov.reason,
    }


def override_from_record(rec: Mapping[str, Any]) -> Override:
    """Inverse of ``override_to_record``; raises ValueError when a record is unusable."""
    try:
        payload = payload_from_fields(str(rec["action"]), dict(rec["fields"]))
        expires = rec.get("expires_at")
        return Override(
            override_id=str(rec["override_id"]),
            site=str(rec["site"]),
            supervisor=str(rec["supervisor"]),
            payload=payload,
            created_at=float(rec["created_at"]),
            expires_at=None if expires is None else float(expires),
            reason=str(rec.get("reason", "")),
        )
    except (KeyError, TypeError) as err:
        raise ValueError(f"bad override record: {err}") from None


def expiry_audit(ov: Override, now: float) -> AuditRecord:
    """Audit record for an override that ran out (actor ``system``)."""
    return AuditRecord(
        ts=now,
        site=ov.site,
        kind=EXPIRY_KIND,
        actor="system",
        payload={
            "override_id": ov.override_id,
            "action": action_of(ov.payload),
            "fields": payload_fields(ov.payload),
            "supervisor": ov.supervisor,
            "expires_at": ov.expires_at,
        },
    )
