"""Checks one exercise of a workspace: preflight, then the exercise's kind grades it.

This is the one place that decides a check needs the Prefect server, and starts it if so.
"""

from __future__ import annotations

import time

from flowcamp import proc, server, services
from flowcamp.course import Exercise
from flowcamp.kinds import kind_of
from flowcamp.kinds.base import OnWait
from flowcamp.results import Result, Status
from flowcamp.workspace import Workspace

FLOWCAMP_PROBLEM = "This is a flowcamp problem, not yours; please report it."


def run_check(ws: Workspace, ex: Exercise, server_url: str | None = None, on_wait: OnWait | None = None) -> Result:
    """Check one exercise. Never raises for a learner's mistake: every problem becomes a Result."""
    started = time.monotonic()
    proc.trace(f"runner: check {ex.id}")
    kind = kind_of(ex)
    result = kind.preflight(ws, ex)
    if result is None:
        try:
            with services.in_use(ws, f"check {ex.id}"):  # the idle watchdog leaves the server and worker alone
                result = _grade(ws, ex, kind, server_url, on_wait)
        except Exception as e:  # noqa: BLE001 - flowcamp's own failure: say so plainly
            result = Result(ex.id, Status.ERROR, f"flowcamp could not run the checks: {type(e).__name__}: {e}. "
                                                 + FLOWCAMP_PROBLEM)
    result.duration = time.monotonic() - started
    if result.max_score is None:
        result.max_score = ex.points
    return result


def _grade(ws: Workspace, ex: Exercise, kind, server_url: str | None, on_wait: OnWait | None) -> Result:
    if kind.needs_server and server_url is None:
        server_url = _server(ws, on_wait)
    if kind.needs_server and not server_url:
        return Result(ex.id, Status.ERROR, "The local Prefect server could not start; `uv run flowcamp server status` "
                                           "and its log say why.")
    return kind.grade(ws, ex, server_url)


def _server(ws: Workspace, on_wait: OnWait | None) -> str | None:
    if on_wait and not server.status(ws).running:
        on_wait("Starting your local Prefect server: this takes 10 to 60 seconds, once. Later checks reuse it.")
    try:  # start() finds a running server at once (and records the use), or waits for one another check starts
        url = server.start(ws, on_wait=(lambda t: on_wait(f"Starting your local Prefect server... {t:.0f} s"))
                            if on_wait else None,
                            on_locked=(lambda t: on_wait("Your Prefect server is being started by another flowcamp "
                                                         f"command; waiting for it... {t:.0f} s"))
                            if on_wait else None)
        from flowcamp.localrun import sync_prefect_toml

        sync_prefect_toml(ws, url)  # so the learner's own runs find this server too
        return url
    except server.ServerError as e:
        if on_wait:
            on_wait(str(e))
        return None
