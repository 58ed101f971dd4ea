"""Which Discord servers a process serves: its shards (``SHARD_COUNT``, ``SHARD_IDS``).

Discord puts a server on shard ``(guild_id >> 22) % shard_count``; a gateway connection per shard
receives that shard's servers, their events and their interactions. A process holding some of
the shards answers what they receive, and delivers the digests of their servers only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard Discord puts ``guild_id`` on."""
    return (guild_id >> 22) % shard_count


@dataclass(frozen=True, slots=True)
class Shards:
    """``ids`` of ``count`` shards (sorted, each below ``count``)."""

    count: int
    ids: tuple[int, ...]

    @property
    def all(self) -> bool:
        """Every shard: one process serves every server."""
        return len(self.ids) == self.count

    def owns(self, guild_id: int | None) -> bool:
        """Whether this process serves ``guild_id`` (no guild: shard 0's, as Discord's DMs)."""
        return (0 if guild_id is None else shard_of(guild_id, self.count)) in self.ids

    def describe(self) -> str:
        """``0-3,8 of 16``: the ids as ranges, and the count."""
        return f"{format_ranges(self.ids)} of {self.count}"


def parse_ranges(text: str) -> tuple[int, ...]:
    """``"0-3,8"`` as ``(0, 1, 2, 3, 8)``; raises ValueError naming the bad part."""
    ids: set[int] = set()
    for part in (item.strip() for item in text.split(",")):
        if not part:
            continue
        first, dash, last = part.partition("-")
        if not (_number(first) and (not dash or _number(last))):
            raise ValueError(f"{part[:20]!r} is not a shard id or a range such as 0-3")
        low, high = int(first), int(last) if dash else int(first)
        if low > high:
            raise ValueError(f"{part!r} goes down: write it low-high, such as 0-3")
        ids.update(range(low, high + 1))
    if not ids:
        raise ValueError("no shard ids")
    return tuple(sorted(ids))


def format_ranges(ids: Iterable[int]) -> str:
    """``(0, 1, 2, 3, 8)`` as ``"0-3,8"``."""
    runs: list[list[int]] = []
    for shard in sorted(ids):
        if runs and shard == runs[-1][1] + 1:
            runs[-1][1] = shard
        else:
            runs.append([shard, shard])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def _number(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 6
