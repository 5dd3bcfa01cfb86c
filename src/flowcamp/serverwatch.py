"""The Prefect server's idle watchdog: a detached process that stops the workspace's server (and every other
service flowcamp started for it) once nothing has used it for FLOWCAMP_SERVER_IDLE_MINUTES. "Use" is a check,
a command, an open client connection (a web UI page, a flow, a script), or a flow run that is active or due
soon. :mod:`flowcamp.server` starts it with the server.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
from pathlib import Path

from flowcamp import proc, services
from flowcamp.server import (DEFAULT_POLL_SECONDS, POLL_ENV, SERVER, WATCHDOG, _env_number, _log_file, _say,
                             _service_env, _start_lock, _stop_legacy, _stopping, _write_state, idle_minutes,
                             prefect_home, server_url)
from flowcamp.workspace import Workspace


def ensure_watchdog(ws: Workspace) -> None:
    """Start an idle watchdog for the running server unless one watches it (or idle stops are off). It is
    registered at once, so a `stop` a moment later finds it; a duplicate ends by itself (see watchdog_main)."""
    minutes, server = idle_minutes(), services.service(ws, SERVER)
    if minutes <= 0 or not services.alive(server):
        return
    watchdog = services.service(ws, WATCHDOG)
    if services.alive(watchdog) and watchdog.get("watches") == server["pid"]:  # type: ignore[union-attr]
        return
    services.stop_services(ws, names=(WATCHDOG,))  # one left watching a server that is gone
    poll = _env_number(POLL_ENV, DEFAULT_POLL_SECONDS) or DEFAULT_POLL_SECONDS
    code = "from flowcamp.serverwatch import watchdog_main\nwatchdog_main(sys.argv[1], *map(float, sys.argv[2:]))\n"
    child = proc.start_detached(proc.python_code(code) + [str(ws.root), str(server["pid"]), str(minutes * 60),
                                                          str(poll)],
                                env=_service_env(ws), log=_log_file(ws, "watchdog"), cwd=ws.state_dir)
    services.register_service(ws, WATCHDOG, child.pid, watches=server["pid"])


def watchdog_main(root: str, server_pid: float, idle_seconds: float, poll: float) -> None:
    """The watchdog process: every ``poll`` seconds, look at the server ``server_pid``; stop it (and every other
    registered service) once the workspace has been idle ``idle_seconds``; end when that server is gone."""
    ws = Workspace(Path(root), None)  # type: ignore[arg-type] - the server needs only the workspace's folders
    me, watches = os.getpid(), int(server_pid)

    def watched() -> bool:
        entry = services.service(ws, SERVER)
        return services.alive(entry) and entry["pid"] == watches  # type: ignore[index]

    single = proc.FileLock(prefect_home(ws) / "watchdog.lock")
    if not single.acquire(timeout=2 * poll + 5) or not watched():  # another one watches; or too late
        services.unregister_service(ws, WATCHDOG, me)
        return
    services.register_service(ws, WATCHDOG, me, watches=watches)
    _say(f"watchdog: watching server {watches}; stops it after {idle_seconds / 60:g} minutes idle "
         f"(looks every {poll:g} s)")
    try:
        _say("watchdog: " + services.watch_idle(ws, idle_seconds, poll, watched=watched, busy=lambda: _busy(ws),
                                                stop_when_idle=lambda: _stop_if_idle(ws, idle_seconds), say=_say))
    finally:
        services.unregister_service(ws, WATCHDOG, me)
        single.release()


def _stop_if_idle(ws: Workspace, idle_seconds: float) -> bool:
    """Stop every service of the workspace but the watchdog, if it is still idle. Under the start lock, with the
    ``stopping`` marker written before the last look: a check's :func:`start` touches the heartbeat before it
    looks for the marker, so either this sees its use, or it sees the marker and waits for the lock."""
    lock = _start_lock(ws)
    if not lock.acquire(timeout=0):
        return False  # being started: in use
    try:
        _stopping(ws).write_text(str(os.getpid()), encoding="utf-8")
        used = services.last_used(ws) or 0.0
        if time.time() - used < idle_seconds or services.active_users(ws) or _busy(ws):
            return False
        services.stop_services(ws, exclude=(WATCHDOG,))
        _stop_legacy(ws)
        _write_state(ws, note=f"stopped by itself after {idle_seconds / 60:g} minutes without use")
        return True
    finally:
        _stopping(ws).unlink(missing_ok=True)
        lock.release()


def _busy(ws: Workspace) -> str | None:
    """Why the server is in use now (besides checks, which :mod:`flowcamp.services` records), or None."""
    entry = services.service(ws, SERVER)
    url = server_url(ws)
    clients = services.client_connections(entry.get("pid") if entry else None, int(url.rsplit(":", 1)[1]))
    if clients:
        return f"{clients} client connection(s) open (a web UI page, a flow, a script)"
    runs = _active_runs(url)
    if runs is None:
        return "the server did not say whether flow runs are active (busy?)"
    return f"{runs} flow run(s) running, pending or due soon" if runs else None


ACTIVE_TYPES = ["RUNNING", "PENDING", "CANCELLING", "PAUSED"]
RECENT_RUN_SECONDS = 3600.0  # a run "running" for longer is taken for one that crashed without saying so
SOON_SECONDS = 600.0  # a scheduled run due within this keeps the server up


def _active_runs(url: str, now: float | None = None) -> int | None:
    """Flow runs on the server that are running, pending or paused (started in the last hour) or scheduled to
    start in the next ten minutes. None if the server does not answer: not known to be idle."""
    from datetime import datetime, timedelta, timezone

    now_dt = datetime.fromtimestamp(now or time.time(), timezone.utc)

    def count(state_types: list[str], after: float, before: float) -> int | None:
        body = {"flow_runs": {"state": {"type": {"any_": state_types}},
                              "expected_start_time": {"after_": (now_dt + timedelta(seconds=after)).isoformat(),
                                                      "before_": (now_dt + timedelta(seconds=before)).isoformat()}}}
        import http.client
        import urllib.request

        req = urllib.request.Request(f"{url}/api/flow_runs/count", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return int(json.loads(resp.read()))
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException):
            return None

    active = count(ACTIVE_TYPES, -RECENT_RUN_SECONDS, SOON_SECONDS)
    return active if active != 0 else count(["SCHEDULED"], -60, SOON_SECONDS)
