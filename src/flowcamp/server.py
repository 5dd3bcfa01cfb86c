"""One local Prefect server per workspace: at a stable address, started once (under a lock) and reused, stopped
by itself once the workspace has been idle.

Without a server, every Python process that runs a flow starts its own temporary Prefect server, which costs
10-20 seconds. flowcamp instead starts ``prefect server start`` once, keeps its ``PREFECT_HOME`` in the workspace
(so run history survives, and learners see it in Prefect's web UI, as they saw runs in Civis), and points check
runs at it with ``PREFECT_API_URL``.

- Address: http://127.0.0.1:PORT, PORT derived from the workspace's path (42000-42999) and recorded in
  ``.flowcamp/prefect/server.json``; if something else holds it at a start, the next free port after it is taken
  and recorded. So the address stays the same across restarts, and a line a learner pasted stays right.
- Start: under a file lock (``start.lock``): check, start, wait until it answers. A second caller waits for the
  lock, then reuses the server. A healthy server is found without the lock.
- Processes: the server, its idle watchdog and a background warm-up are detached, their output in log files
  beside ``server.json``, and registered in :mod:`flowcamp.services`, so ``flowcamp stop`` finds them.
- Idle: a detached watchdog stops the server, and every other registered service, after
  ``FLOWCAMP_SERVER_IDLE_MINUTES`` (default 30; 0 = never) with no check, no active flow run and no client
  connected (an open web UI page keeps a connection).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
import urllib.error
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from flowcamp import proc, services
from flowcamp.workspace import Workspace

PORT_BASE, PORT_COUNT = 42000, 1000  # away from Prefect's own 4200, which other Prefect installs use
START_TIMEOUT = 120.0
STOP_LOCK_WAIT = 5.0  # `stop` waits this long for a start in progress, then stops anyway
KEEP_ALIVE = 65  # seconds a quiet client connection stays open: an open web UI page keeps one
IDLE_ENV, POLL_ENV = "FLOWCAMP_SERVER_IDLE_MINUTES", "FLOWCAMP_SERVER_IDLE_POLL_SECONDS"
DEFAULT_IDLE_MINUTES, DEFAULT_POLL_SECONDS = 30.0, 30.0
SERVER, WATCHDOG, WARMER = "prefect-server", "server-watchdog", "server-warmup"
# A check's run token marks its processes for the harness's sweep: the services must never carry one.
NOT_INHERITED = ("PREFECT_API_URL", "FLOWCAMP_RUN_TOKEN")

OnLocked = Callable[[float], None]  # called while waiting for another process's start, with the seconds waited


class ServerError(Exception):
    pass


@dataclass
class ServerState:
    running: bool
    url: str | None = None  # where it runs, or will run once started
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


def _log_file(ws: Workspace, name: str = "server") -> Path:
    return prefect_home(ws) / f"{name}.log"


def _start_lock(ws: Workspace) -> proc.FileLock:
    return proc.FileLock(prefect_home(ws) / "start.lock")


def _stopping(ws: Workspace) -> Path:
    """Exists while the idle watchdog stops the server: a check that sees it waits for the start lock."""
    return prefect_home(ws) / "stopping"


def base_env(ws: Workspace) -> dict[str, str]:
    """Settings for anything in this workspace that talks to Prefect."""
    return {
        "PREFECT_HOME": str(prefect_home(ws)),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_API_ENABLE_HTTP2": "false",
        "PREFECT_LOGGING_COLORS": "false",
        # Automations (Prefect's triggers service) read every event the server receives: about 0.3 s of the
        # server's CPU per flow check, and the course uses none. Setting the variable yourself turns them on.
        "PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": os.environ.get("PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED",
                                                                   "false"),
        # The server stores events in batches of 20, or every 5 s: a check that reads a run's events (a secret
        # must be in none) waited up to 5 s for a run's last few. Every 0.5 s; nothing is written when none wait.
        "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_FLUSH_INTERVAL": os.environ.get(
            "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_FLUSH_INTERVAL", "0.5"),
    }


def client_env(ws: Workspace, server_url: str) -> dict[str, str]:
    """Settings that point a Prefect client (and links to the web UI) at ``server_url``. Starts nothing."""
    services.touch(ws)
    return {**base_env(ws), "PREFECT_API_URL": f"{server_url}/api", "PREFECT_UI_URL": server_url}


def healthy(url: str, timeout: float = 2.0) -> bool:
    import http.client
    import urllib.request  # here, not at the top: a code or git check never asks, and it costs 30 ms

    try:
        with urllib.request.urlopen(f"{url}/api/health", timeout=timeout) as resp:
            return resp.status == 200
    # HTTPException: not an HTTP answer. Ports 42000-42999 are ephemeral ports too, so asking a port nobody
    # listens on yet can connect the socket to itself (TCP's simultaneous open) and read back its own request.
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException):
        return False


def _read_state(ws: Workspace) -> dict:
    try:
        data = json.loads(_state_file(ws).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, json.JSONDecodeError):
        return {}


def _write_state(ws: Workspace, **changes) -> None:
    data = {**_read_state(ws), **changes}
    prefect_home(ws).mkdir(parents=True, exist_ok=True)
    tmp = _state_file(ws).with_name(f"server.json.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({k: v for k, v in data.items() if v is not None}), encoding="utf-8")
    os.replace(tmp, _state_file(ws))


# ----------------------------------------------------------------------------------------------------- the port
def _in_range(port) -> bool:
    return isinstance(port, int) and PORT_BASE <= port < PORT_BASE + PORT_COUNT


def derived_port(ws: Workspace) -> int:
    """The port this workspace's path maps to: the same on every start, different for another workspace."""
    key = os.path.normcase(str(ws.root)).encode("utf-8")
    return PORT_BASE + int.from_bytes(hashlib.sha256(key).digest()[:4], "big") % PORT_COUNT


def server_url(ws: Workspace) -> str:
    """The server's address, running or not: the recorded one, else the one a first start will use (unless that
    port is taken by then). Starts nothing."""
    st = _read_state(ws)
    if st.get("url") and _in_range(st.get("port")):
        return st["url"]
    return f"http://127.0.0.1:{derived_port(ws)}"


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        if os.name == "posix":  # as the server binds: a port left in TIME_WAIT by our last server is free
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _choose_port(ws: Workspace, settle: float = 5.0) -> int:
    """The recorded port if it is free, else the next free one after it (in PORT_BASE..+PORT_COUNT, wrapping).
    A recorded port gets ``settle`` seconds to come free: a server that just died may still hold it a moment."""
    recorded = _read_state(ws).get("port")
    first = recorded if _in_range(recorded) else derived_port(ws)
    if _in_range(recorded):
        deadline = time.monotonic() + settle
        while not _port_free(first) and time.monotonic() < deadline:
            time.sleep(0.1)
    for i in range(PORT_COUNT):
        port = PORT_BASE + (first - PORT_BASE + i) % PORT_COUNT
        if _port_free(port):
            return port
    raise ServerError(f"No free network port between {PORT_BASE} and {PORT_BASE + PORT_COUNT - 1} "
                      "on this computer for the Prefect server.")


# ------------------------------------------------------------------------------------------- status, start, stop
def status(ws: Workspace) -> ServerState:
    url = server_url(ws)
    port = int(url.rsplit(":", 1)[1])
    entry = services.service(ws, SERVER)
    if entry is None:
        return ServerState(False, url=url, port=port, note=_read_state(ws).get("note") or "not started")
    pid = entry.get("pid")
    if services.alive(entry):
        if healthy(url):
            return ServerState(True, url=url, pid=pid, port=port)
        return ServerState(False, url=url, pid=pid, port=port, note="started but not answering")
    return ServerState(False, url=url, pid=pid, port=port, note="stopped or crashed")


def start(ws: Workspace, on_wait: Callable[[float], None] | None = None, port: int | None = None,
          timeout: float = START_TIMEOUT, on_locked: OnLocked | None = None) -> str:
    """Start the server if it is not running (replacing a stale or crashed one). Returns its URL.

    A running server is found without waiting for anything. Otherwise this takes the start lock: if another
    process is starting the server, ``on_locked(seconds waited)`` is called while waiting for it, and its server
    is then reused. ``on_wait(seconds)`` is called while the server this call started gets ready."""
    services.touch(ws)
    st = status(ws)
    if st.running and not _stopping(ws).exists():
        _ensure_watchdog(ws)
        return st.url  # type: ignore[return-value]
    lock = _start_lock(ws)
    if not lock.acquire(timeout=timeout, on_wait=on_locked):
        raise ServerError(f"Another flowcamp process has been starting the Prefect server for {timeout:g} s. "
                          f"Its log: {_log_file(ws)}")
    try:
        _stopping(ws).unlink(missing_ok=True)  # left by a watchdog that ended while stopping
        st = status(ws)
        if st.running:
            _ensure_watchdog(ws)
            return st.url  # type: ignore[return-value]
        return _start_locked(ws, on_wait, port, timeout)
    finally:
        lock.release()


def _start_locked(ws: Workspace, on_wait: Callable[[float], None] | None, port: int | None,
                  timeout: float) -> str:
    services.stop_services(ws, names=(WATCHDOG, SERVER))  # stale: started but not answering
    _stop_legacy(ws)
    home = prefect_home(ws)
    home.mkdir(parents=True, exist_ok=True)
    port = port or _choose_port(ws)
    url = f"http://127.0.0.1:{port}"
    # The web UI asks the server where its API is: without this it says 4200, Prefect's default, and shows
    # "Can't connect to Server API" whenever the workspace's port is another one.
    marker = _migrated_marker(home)
    env = proc.child_env(pycache=ws.state_dir / "pycache", drop=NOT_INHERITED, **base_env(ws),
                         PREFECT_UI_API_URL=f"{url}/api",
                         # A database this Prefect version already brought up to date needs no migrations: looking
                         # for them loads every migration script (seconds of a restart).
                         **({"PREFECT_API_DATABASE_MIGRATE_ON_START": "false"}
                            if marker is not None and marker.exists() else {}))
    cli_args = ["server", "start", "--host", "127.0.0.1", "--port", str(port), "--keep-alive-timeout", str(KEEP_ALIVE)]
    child = _fast_start(ws, cli_args, env, home) or proc.start_detached(
        proc.python_code("from flowcamp.serverapp import main\nsys.exit(main())\n") + cli_args, env=env, log=_log_file(ws),
        cwd=home)
    services.register_service(ws, SERVER, child.pid)
    _write_state(ws, port=port, url=url, started=time.time(), note=None)
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if healthy(url, timeout=1.0):
            services.touch(ws)
            _ensure_watchdog(ws)
            marker = _migrated_marker(home)  # the database exists now, up to date
            if marker is not None and not marker.exists():
                for old in home.glob("migrated-*"):
                    old.unlink(missing_ok=True)
                marker.touch()
            return url
        if child.poll() is not None:
            services.unregister_service(ws, SERVER, child.pid)
            raise ServerError(f"The Prefect server stopped while starting (exit code {child.returncode}).\n"
                              f"{_log_tail(ws)}\nThe full log is in {_log_file(ws)}.")
        if on_wait:
            on_wait(time.monotonic() - t0)
        time.sleep(0.25)
    services.stop_services(ws, names=(SERVER,))
    raise ServerError(f"The Prefect server did not answer within {timeout:g} s. Its log: {_log_file(ws)}")


# Quicker ways to start the server than a new Python that imports Prefect's server (seconds): each takes (ws, the
# `prefect` command's arguments, env, home) and returns a pid, or None when it cannot. The warm check worker
# adds one (flowcamp.worker.start_server: a fork of a process that has imported the server already).
FAST_STARTS: list[Callable[[Workspace, list[str], dict, Path], int | None]] = []


class _Started:
    """A server process that is not our child (forked by another process): what _start_locked asks of it."""

    def __init__(self, pid: int):
        self.pid, self.returncode = pid, None

    def poll(self) -> int | None:
        if self.returncode is None and not proc.pid_alive(self.pid):
            self.returncode = -1  # its exit code went to its parent; the log says why
        return self.returncode


def _fast_start(ws: Workspace, cli_args: list[str], env: dict, home: Path):
    for start_fast in FAST_STARTS:
        try:
            pid = start_fast(ws, cli_args, env, home)
        except Exception:  # noqa: BLE001 - the usual way still works
            pid = None
        if pid:
            return _Started(pid)
    return None


def _migrated_marker(home: Path) -> Path | None:
    """The file that says the database in ``home`` was brought up to date by this version of Prefect (its name
    holds the version and the database file's identity, so a new Prefect or a new database migrates again);
    None without a database yet."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        st = (home / "prefect.db").stat()
        return home / f"migrated-{version('prefect')}-{st.st_dev}-{st.st_ino}"
    except (OSError, PackageNotFoundError):
        return None


def _stop_legacy(ws: Workspace) -> bool:
    """Stop a server that a flowcamp before the services registry started (its pid is in server.json)."""
    pid = _read_state(ws).get("pid")
    if not pid:
        return False
    _write_state(ws, pid=None)
    if proc.pid_alive(pid):
        proc.terminate(pid)
        return True
    return False


def stop(ws: Workspace, note: str = "stopped") -> bool:
    """Stop the server, its watchdog and a warm-up in progress. True if the server was running."""
    services.stop_services(ws, names=(WARMER,))  # a background start gives way at once (and its lock with it)
    lock = _start_lock(ws)
    locked = lock.acquire(timeout=STOP_LOCK_WAIT)  # a start in progress ends first; a stuck one does not block
    try:
        stopped = services.stop_services(ws, names=(WARMER, WATCHDOG, SERVER))
        legacy = _stop_legacy(ws)
        if _state_file(ws).exists():
            _write_state(ws, note=note)
        return SERVER in stopped or legacy
    finally:
        if locked:
            lock.release()


def stop_everything(ws: Workspace) -> list[str]:
    """`flowcamp stop`: the server and every other service flowcamp started for this workspace. Their names."""
    labels = {WATCHDOG: "its idle watchdog", WARMER: "its background start"}
    stopped = [labels.get(n, n) for n in services.stop_services(ws, exclude=(SERVER,))]
    return (["the Prefect server"] if stop(ws) else []) + stopped


def warm_in_background(ws: Workspace) -> bool:
    """Start the server in the background, without waiting, if it is neither running nor being started.

    Safe to call often (on every command that shows a Prefect exercise): it records the use, reads two small
    files and never waits. True if it started a warm-up (a detached process that runs :func:`start`)."""
    services.touch(ws)
    if services.alive(services.service(ws, SERVER)) or services.alive(services.service(ws, WARMER)):
        return False  # running, or being started
    lock = _start_lock(ws)
    if not lock.acquire(timeout=0):
        return False  # a check is starting it right now
    lock.release()
    code = "from flowcamp.server import warm_main\nwarm_main(sys.argv[1])\n"
    child = proc.start_detached(proc.python_code(code) + [str(ws.root)], env=_service_env(ws),
                                log=_log_file(ws, "warmup"), cwd=ws.state_dir)
    services.register_service(ws, WARMER, child.pid)
    return True


def warm_main(root: str) -> None:
    """The warm-up process: start the server (waiting for the lock like any check), then end."""
    ws = Workspace(Path(root), None)  # type: ignore[arg-type] - the server needs only the workspace's folders
    try:
        url = start(ws)
        _say(f"warm-up: the server is ready at {url}")
    except ServerError as e:
        _say(f"warm-up: {e}")
    finally:
        services.unregister_service(ws, WARMER, os.getpid())


def _service_env(ws: Workspace) -> dict[str, str]:
    return proc.child_env(pycache=ws.state_dir / "pycache", drop=NOT_INHERITED)


def _say(text: str) -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {text}", flush=True)


def _log_tail(ws: Workspace, lines: int = 20) -> str:
    try:
        text = _log_file(ws).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


# -------------------------------------------------------------------------------------------- the idle watchdog
def _env_number(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if value >= 0 else default


def idle_minutes() -> float:
    """Minutes without use after which the server stops by itself (FLOWCAMP_SERVER_IDLE_MINUTES; 0 = never)."""
    return _env_number(IDLE_ENV, DEFAULT_IDLE_MINUTES)


def _ensure_watchdog(ws: Workspace) -> None:
    from flowcamp.serverwatch import ensure_watchdog  # here: the watchdog's module builds on this one

    ensure_watchdog(ws)
