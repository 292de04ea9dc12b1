"""Which sites a replica owns: a stable hash of the site id modulo the shard count.

Several daemons can share one broker by splitting the sites between them. The hash
is CRC-32 of the UTF-8 id, never Python's ``hash`` (salted per process), so every
replica and every restart agree on the split.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from typing import Literal

_ORDINAL = re.compile(r"-(\d+)$")


def shard_of(site_id: str, shard_count: int) -> int:
    """The shard index (0-based) that owns ``site_id`` among ``shard_count`` shards."""
    if shard_count < 1:
        raise ValueError("shard_count must be >= 1")
    return zlib.crc32(site_id.encode("utf-8")) % shard_count


def owns(site_id: str, shard_index: int, shard_count: int) -> bool:
    """True when the replica ``shard_index`` of ``shard_count`` owns ``site_id``."""
    if not 0 <= shard_index < shard_count:
        raise ValueError(f"shard_index {shard_index} outside [0, {shard_count})")
    return shard_of(site_id, shard_count) == shard_index


def owned_sites(site_ids: Iterable[str], shard_index: int, shard_count: int) -> list[str]:
    """The subset of ``site_ids`` this replica owns, in their original order."""
    return [s for s in site_ids if owns(s, shard_index, shard_count)]


def resolve_shard_index(setting: int | Literal["auto"], hostname: str) -> int:
    """The configured index, or with ``"auto"`` the StatefulSet pod ordinal of ``hostname``.

    ``staffer-3`` -> 3; a fully qualified ``staffer-3.staffer.ns.svc`` works too.
    Raises ValueError when ``"auto"`` is set and the hostname carries no ordinal.
    """
    if setting != "auto":
        if isinstance(setting, bool) or not isinstance(setting, int) or setting < 0:
            raise ValueError(
                f"shard_index must be a non-negative integer or 'auto', got {setting!r}"
            )
        return setting
    short = hostname.split(".", 1)[0]
    match = _ORDINAL.search(short)
    if match is None:
        raise ValueError(
            f"shard_index = 'auto' needs a hostname ending in -<ordinal>, got {hostname!r}"
        )
    return int(match.group(1))
