"""The workspace's Prefect server process: Prefect's own `prefect server start`, with two changes to how it
answers.

Prefect's server keeps its database in SQLite, which lets one request write at a time. When two write at once,
SQLite may refuse one at once ("database is locked": a transaction that read before the other one wrote cannot
write after it), and Prefect's server answers that request 503, "try again". Its client waits 2 s before it
does, then 4, 8, 16, 32. Flow runs that start together (a check that runs three at once, or a learner's own
runs) then lose 2 s to a collision that lasted milliseconds: measured on workflow-flow, a check of 2.2 s took
4.1 s one time in two.

So, first, the requests that write take turns in the server (the others do not wait): two flow runs created
at the same moment no longer collide (with the header below alone, workflow-flow's three runs still collided
on creation in most checks, and waited 0.1-0.8 s each time). Second, writes the server makes on its own (events, its background
services) can still collide with a request: its 503 answers get a `Retry-After` header, which Prefect's client
obeys: a tenth of a second, longer when many requests collided in the last seconds (the way the client's own
wait grows), up to the client's 2 s. Nothing else changes: the requests, the answers and the client's number of
tries are Prefect's.
"""

from __future__ import annotations

import random
import sys
import time
from collections import deque

FIRST_WAIT = 0.1  # seconds, when nothing else collided recently
LONGEST_WAIT = 2.0  # Prefect's client's own first wait: never longer than it would have waited
WINDOW = 3.0  # seconds: collisions counted for the next wait


WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# POST routes of Prefect's API that only read (queries too long for a URL)
READ_ONLY_POSTS = ("/filter", "/count", "/paginate", "/history", "/lateness", "/concurrency_status")


def writes(scope) -> bool:
    """Does this HTTP request change Prefect's database? (A read that looks like a write only waits its turn.)"""
    path = scope.get("path") or ""
    return (scope.get("method") in WRITES and path.startswith("/api/")
            and not path.rstrip("/").endswith(READ_ONLY_POSTS))


class TakeTurns:
    """ASGI middleware: write requests take turns; every 503 answer without a ``Retry-After`` gets one."""

    def __init__(self, app, clock=time.monotonic):
        self.app = app
        self.clock = clock
        self.recent: deque[float] = deque()
        self._turn = None  # an asyncio.Lock, made in the server's event loop

    def wait(self) -> float:
        """How long the next client should wait: doubles with each collision in the last WINDOW seconds."""
        now = self.clock()
        while self.recent and now - self.recent[0] > WINDOW:
            self.recent.popleft()
        self.recent.append(now)
        base = FIRST_WAIT * 2 ** min(len(self.recent) - 1, 8)
        # spread, so that the clients that collided do not collide again when they try again
        return round(min(LONGEST_WAIT, base * random.uniform(1.0, 1.5)), 3)

    async def __call__(self, scope, receive, send):
        if scope.get("type") != "http":
            return await self.app(scope, receive, send)

        async def send_with_retry_after(message):
            if message.get("type") == "http.response.start" and message.get("status") == 503:
                headers = list(message.get("headers") or [])
                if not any(name.lower() == b"retry-after" for name, _ in headers):
                    headers.append((b"retry-after", str(self.wait()).encode()))
                    message = {**message, "headers": headers}
            await send(message)

        if not writes(scope):
            return await self.app(scope, receive, send_with_retry_after)
        if self._turn is None:
            import asyncio

            self._turn = asyncio.Lock()
        async with self._turn:
            return await self.app(scope, receive, send_with_retry_after)


def install() -> bool:
    """Make Prefect's server app factory return the app inside :class:`TakeTurns`. False (and the server as
    Prefect makes it) when this Prefect has no such factory."""
    try:
        from prefect.server.api import server as prefect_server
    except ImportError:
        return False
    make = getattr(prefect_server, "create_app", None)
    if make is None or getattr(make, "_flowcamp_retry_soon", False):
        return make is not None

    def create_app(*args, **kwargs):
        return TakeTurns(make(*args, **kwargs))

    create_app._flowcamp_retry_soon = True  # type: ignore[attr-defined]
    prefect_server.create_app = create_app
    return True


def main() -> int:
    """``prefect server start ...`` (the arguments in ``sys.argv[1:]``), with :func:`install` done first."""
    install()
    from prefect.cli import app

    sys.argv = ["prefect", *sys.argv[1:]]
    result = app()
    return result if isinstance(result, int) else 0
