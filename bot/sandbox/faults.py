"""Failures a test can inject into the REST API: added latency and 5xx answers.

Gateway faults (a dropped connection, an invalid session) are on the gateway, since they act
on a live connection.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class _Failure:
    remaining: int
    status: int
    method: str | None
    route: str | None

    def matches(self, method: str, route: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.route is None or self.route == route
        )


class Faults:
    """Injected REST faults; ``latency`` is added before every REST answer."""

    def __init__(self) -> None:
        self.latency = 0.0
        self._failures: list[_Failure] = []

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 500,
        method: str | None = None,
        route: str | None = None,
    ) -> None:
        """Answer the next ``count`` matching requests with ``status``.

        ``route`` is the path template after ``/api/v10`` (``"/channels/{channel_id}/messages"``);
        None matches every route, as ``method`` None matches every method.
        """
        self._failures.append(_Failure(count, status, method and method.upper(), route))

    def take_failure(self, method: str, route: str) -> int | None:
        """The status to fail this request with, if a pending fault matches it."""
        for failure in self._failures:
            if failure.matches(method, route):
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.remove(failure)
                return failure.status
        return None

    def clear(self) -> None:
        """Remove every pending fault and the latency."""
        self.latency = 0.0
        self._failures.clear()
