"""The workspace's Prefect server lets writes take turns, and tells a client that collided on SQLite to try again
soon (flowcamp.serverapp)."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import httpx
import pytest

from flowcamp import serverapp


def _app(statuses, headers=()):
    """A stand-in for Prefect's app: answers each request with the next status."""
    seen = []

    async def app(scope, receive, send):
        seen.append(scope["type"])
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": statuses.pop(0), "headers": list(headers)})
        await send({"type": "http.response.body", "body": b"{}"})

    return app, seen


def _get(app, path="/api/admin/version"):
    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            return await client.get(path)

    return asyncio.run(go())


def test_a_503_answer_says_when_to_try_again():
    app, _ = _app([503])
    answer = _get(serverapp.TakeTurns(app))
    assert answer.status_code == 503
    assert serverapp.FIRST_WAIT <= float(answer.headers["retry-after"]) <= serverapp.FIRST_WAIT * 1.5


def test_other_answers_and_a_servers_own_retry_after_are_left_alone():
    app, _ = _app([200, 503], headers=[])
    wrapped = serverapp.TakeTurns(app)
    assert "retry-after" not in _get(wrapped).headers
    app, _ = _app([503], headers=[(b"Retry-After", b"7")])
    assert _get(serverapp.TakeTurns(app)).headers["retry-after"] == "7"


def test_the_wait_grows_with_collisions_close_together_and_resets_after():
    now = [100.0]
    wrapped = serverapp.TakeTurns(None, clock=lambda: now[0])
    waits = [wrapped.wait() for _ in range(8)]
    assert waits[0] < 2 * serverapp.FIRST_WAIT
    assert waits[3] >= 8 * serverapp.FIRST_WAIT  # 0.1, 0.2, 0.4, 0.8 ...
    assert max(waits) <= serverapp.LONGEST_WAIT  # never longer than Prefect's client would wait anyway
    now[0] += serverapp.WINDOW + 1
    assert wrapped.wait() < 2 * serverapp.FIRST_WAIT


def _overlap_app():
    """A stand-in whose every request takes a moment: it records how many were inside it at once, by path."""
    inside, most = [0], {}

    async def app(scope, receive, send):
        inside[0] += 1
        most[scope["path"]] = max(most.get(scope["path"], 0), inside[0])
        await asyncio.sleep(0.02)
        inside[0] -= 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    return app, most


def _at_once(app, requests):
    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            answers = await asyncio.gather(*(client.request(method, path) for method, path in requests))
        return [a.status_code for a in answers]

    return asyncio.run(go())


def test_writes_take_turns_and_reads_do_not_wait():
    app, most = _overlap_app()
    wrapped = serverapp.TakeTurns(app)
    assert _at_once(wrapped, [("POST", "/api/flow_runs/")] * 3) == [200] * 3
    assert most["/api/flow_runs/"] == 1  # never two creations inside Prefect's app at once
    assert _at_once(wrapped, [("POST", "/api/flow_runs/filter")] * 3 + [("GET", "/api/flows/x")] * 2) == [200] * 5
    assert most["/api/flow_runs/filter"] == 3 and most["/api/flows/x"] >= 2  # reads run together


@pytest.mark.parametrize("method, path, write", [
    ("POST", "/api/flow_runs/", True), ("PATCH", "/api/flow_runs/1", True), ("DELETE", "/api/flow_runs/1", True),
    ("POST", "/api/logs/", True), ("POST", "/api/flow_runs/1/set_state", True),
    ("POST", "/api/task_runs/filter", False), ("POST", "/api/flow_runs/count", False),
    ("POST", "/api/ui/flow_runs/history/", False), ("GET", "/api/flow_runs/1", False),
    ("POST", "/not-the-api/", False),
])
def test_which_requests_write(method, path, write):
    assert serverapp.writes({"method": method, "path": path}) is write


def test_lifespan_and_websockets_pass_through():
    app, seen = _app([])
    asyncio.run(serverapp.TakeTurns(app)({"type": "lifespan"}, None, None))
    assert seen == ["lifespan"]


def test_prefects_client_waits_as_told(monkeypatch):
    """Prefect's own client, against a server that collides once: it tries again after the header's wait,
    not its own 2 s."""
    import prefect.client.base as base

    waited = []

    async def sleep(seconds):
        waited.append(seconds)

    monkeypatch.setattr(base.anyio, "sleep", sleep)
    app, _ = _app([503, 200])

    async def go():
        client = base.PrefectHttpxAsyncClient(transport=httpx.ASGITransport(app=serverapp.TakeTurns(app)),
                                              base_url="http://test")
        async with client:
            return await client.get("/api/admin/version")

    assert asyncio.run(go()).status_code == 200
    assert len(waited) == 1 and waited[0] < 1.0, waited


@pytest.mark.slow
def test_the_server_flowcamp_starts_is_wrapped():
    """install() in a fresh Python: Prefect's app factory then returns the app inside TakeTurns, once."""
    code = ("from flowcamp import serverapp\n"
            "assert serverapp.install() and serverapp.install()\n"
            "from prefect.server.api import server\n"
            "app = server.create_app(final=True, webserver_only=True)\n"
            "assert isinstance(app, serverapp.TakeTurns), type(app)\n"
            "assert not isinstance(app.app, serverapp.TakeTurns)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
