"""Failures a test can inject into the REST API: added latency, 5xx answers, held requests.

Gateway faults (a dropped connection, an invalid session) are on the gateway, since they act
on a live connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass
class _Failure:
    remaining: int
    status: int
    method: str | None
    route: str | None
    stored: bool = False

    def matches(self, method: str, route: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.route is None or self.route == route
        )


@dataclass(eq=False)
class HeldRequest:
    """A request the sandbox holds at the edge until the test lets it go.

    ``arrived`` is set when the request is held: before it is handled, or, with
    ``after_handling``, once it took effect (a message stored) but before it is answered. Then
    :meth:`release` lets it go on as usual, :meth:`drop` ends it unhandled (503) — or, when it
    was already handled, answers 503 in place of the real answer.
    """

    method: str | None
    route: str | None
    params: Mapping[str, str]
    skip: int
    after_handling: bool
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _decided: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    _dropped: bool = field(default=False, repr=False)

    def matches(self, method: str, route: str, params: Mapping[str, str]) -> bool:
        return (
            (self.method is None or self.method == method)
            and (self.route is None or self.route == route)
            and all(params.get(key) == value for key, value in self.params.items())
        )

    def release(self) -> None:
        """Let the held request go on (answered as it would have been)."""
        self._decided.set()

    def drop(self) -> None:
        """End the held request with a 503 (unhandled, if it was held before handling)."""
        self._dropped = True
        self._decided.set()

    async def wait_for_decision(self) -> bool:
        """Called by the server: mark the request held, wait; True to go on, False if dropped."""
        self.arrived.set()
        await self._decided.wait()
        return not self._dropped


class Faults:
    """Injected REST faults; ``latency`` is added before every REST answer."""

    def __init__(self) -> None:
        self.latency = 0.0
        self._failures: list[_Failure] = []
        self._holds: list[HeldRequest] = []

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 500,
        method: str | None = None,
        route: str | None = None,
        stored: bool = False,
    ) -> None:
        """Answer the next ``count`` matching requests with ``status``.

        ``route`` is the path template after ``/api/v10`` (``"/channels/{channel_id}/messages"``);
        None matches every route, as ``method`` None matches every method. With ``stored`` the
        request takes effect first (the message is posted) and only the answer is the failure,
        as when Discord fails after committing.
        """
        self._failures.append(_Failure(count, status, method and method.upper(), route, stored))

    def take_failure(self, method: str, route: str) -> int | None:
        """The status to fail this request with before handling it, if a pending fault matches."""
        failure = self._take(method, route, stored=False)
        return None if failure is None else failure.status

    def take_failure_after_handling(self, method: str, route: str) -> int | None:
        """The status to answer this request with once it took effect (``stored`` faults)."""
        failure = self._take(method, route, stored=True)
        return None if failure is None else failure.status

    def _take(self, method: str, route: str, *, stored: bool) -> _Failure | None:
        for failure in self._failures:
            if failure.stored == stored and failure.matches(method, route):
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.remove(failure)
                return failure
        return None

    def hold_next(
        self,
        method: str | None = None,
        route: str | None = None,
        *,
        params: Mapping[str, int | str] | None = None,
        skip: int = 0,
        after_handling: bool = False,
    ) -> HeldRequest:
        """Hold the next matching request after letting ``skip`` of them through.

        ``params`` narrows the match to path parameters (``{"channel_id": channel.id}``).
        Await ``held.arrived.wait()`` to learn it arrived, then ``release()`` or ``drop()`` it.
        """
        wanted = {key: str(value) for key, value in (params or {}).items()}
        held = HeldRequest(method and method.upper(), route, wanted, skip, after_handling)
        self._holds.append(held)
        return held

    def take_hold(
        self, method: str, route: str, params: Mapping[str, str] | None = None
    ) -> HeldRequest | None:
        """The hold this request falls under, if any (each hold takes one request)."""
        for held in self._holds:
            if held.matches(method, route, params or {}):
                if held.skip > 0:
                    held.skip -= 1
                    continue
                self._holds.remove(held)
                return held
        return None

    def clear(self) -> None:
        """Remove every pending fault and the latency; held requests are released."""
        self.latency = 0.0
        self._failures.clear()
        for held in self._holds:
            held.release()
        self._holds.clear()
