"""One local Prefect server per workspace, started once and reused.

Without a server, every Python process that runs a flow starts its own
temporary Prefect server, which costs 10-20 seconds. flowcamp instead starts
``prefect server start`` once, keeps its ``PREFECT_HOME`` in the workspace
(so run history survives, and learners see it in Prefect's web UI, as they saw
runs in Civis), and points check runs at it with ``PREFECT_API_URL``.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from flowcamp import proc
from flowcamp.workspace import Workspace

DEFAULT_PORT = 4200
START_TIMEOUT = 120.0


class ServerError(Exception):
    pass


@dataclass
class ServerState:
    running: bool
    url: str | None = None
    pid: int | None = None
    port: int | None = None
    note: str = ""

    @property
    def api_url(self) -> str | None:
        return f"{self.url}/api" if self.url else None


def prefect_home(ws: Workspace) -> Path:
    return ws.state_dir / "prefect"


def _state_file(ws: Workspace) -> Path:
    return prefect_home(ws) / "server.json"


def _log_file(ws: Workspace) -> Path:
    return prefect_home(ws) / "server.log"


def base_env(ws: Workspace) -> dict[str, str]:
    """Settings for anything in this workspace that talks to Prefect."""
    return {
        "PREFECT_HOME": str(prefect_home(ws)),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_API_ENABLE_HTTP2": "false",
        "PREFECT_LOGGING_COLORS": "false",
    }


def client_env(ws: Workspace, server_url: str) -> dict[str, str]:
    """Settings that point a Prefect client at the server at ``server_url``. Starts nothing."""
    return {**base_env(ws), "PREFECT_API_URL": f"{server_url}/api"}


def _healthy(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/health", timeout=timeout) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _read_state(ws: Workspace) -> dict:
    try:
        return json.loads(_state_file(ws).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}


def status(ws: Workspace) -> ServerState:
    st = _read_state(ws)
    if not st:
        return ServerState(False, note="not started")
    url, pid = st.get("url"), st.get("pid")
    if url and _healthy(url):
        return ServerState(True, url=url, pid=pid, port=st.get("port"))
    if proc.pid_alive(pid):
        return ServerState(False, url=url, pid=pid, port=st.get("port"), note="started but not answering")
    return ServerState(False, url=url, pid=pid, port=st.get("port"), note="stopped or crashed")


def _free_port(preferred: int = DEFAULT_PORT) -> int:
    for port in (preferred, 0):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
                return s.getsockname()[1]
            except OSError:
                continue
    raise ServerError("No free network port on this computer for the Prefect server.")


def start(ws: Workspace, on_wait: Callable[[float], None] | None = None, port: int | None = None,
          timeout: float = START_TIMEOUT) -> str:
    """Start the server if it is not running (replacing a stale or crashed one). Returns its URL."""
    st = status(ws)
    if st.running:
        return st.url  # type: ignore[return-value]
    if st.pid and proc.pid_alive(st.pid):
        proc.terminate(st.pid)  # stale: started but not answering
    home = prefect_home(ws)
    home.mkdir(parents=True, exist_ok=True)
    port = port or _free_port()
    url = f"http://127.0.0.1:{port}"
    env = proc.child_env(pycache=ws.state_dir / "pycache", drop=("PREFECT_API_URL",), **base_env(ws))
    args = proc.python_code("from prefect.cli import app\nsys.exit(app())\n") + [
        "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    child = proc.start_detached(args, env=env, log=_log_file(ws), cwd=home)
    _state_file(ws).write_text(json.dumps({"pid": child.pid, "port": port, "url": url,
                                           "started": time.time()}), encoding="utf-8")
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if _healthy(url, timeout=1.0):
            return url
        if child.poll() is not None:
            tail = _log_tail(ws)
            raise ServerError(f"The Prefect server stopped while starting (exit code {child.returncode}).\n{tail}\n"
                              f"The full log is in {_log_file(ws)}.")
        if on_wait:
            on_wait(time.monotonic() - t0)
        time.sleep(0.25)
    proc.terminate(child.pid)
    raise ServerError(f"The Prefect server did not answer within {timeout:g} s. Its log: {_log_file(ws)}")


def stop(ws: Workspace) -> bool:
    st = _read_state(ws)
    pid = st.get("pid")
    stopped = False
    if pid and proc.pid_alive(pid):
        proc.terminate(pid)
        stopped = True
    try:
        _state_file(ws).unlink()
    except FileNotFoundError:
        pass
    return stopped


def _log_tail(ws: Workspace, lines: int = 20) -> str:
    try:
        text = _log_file(ws).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])
