"""The long-lived processes flowcamp starts for a workspace, in one registry, and when the workspace was last used.

The registry, ``.flowcamp/services.json``, maps a service's name to its process: ``{"pid": ..., "started": ...}``
(``started`` tells the process from a later one that reuses its pid). Every service is started detached, in a
process group of its own (:func:`flowcamp.proc.start_detached`), so stopping a service stops all it started.
``flowcamp stop`` stops every registered service; the Prefect server's idle watchdog does too, once the
workspace has been idle.

Use of the services is recorded two ways, and the idle watchdog reads both:
- :func:`touch`: "used now" (the modification time of ``.flowcamp/last-used``);
- :func:`in_use`: "in use until further notice" (a file per user in ``.flowcamp/users/``, for the length of a
  check; ignored once its process has ended, so a killed check does not keep anything alive).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from flowcamp import proc
from flowcamp.workspace import Workspace

REGISTRY = "services.json"
HEARTBEAT = "last-used"
USERS = "users"


def _registry(ws: Workspace) -> Path:
    return ws.state_dir / REGISTRY


def _registry_lock(ws: Workspace) -> proc.FileLock:
    """Held for a read-modify-write of the registry only (never while a process starts or stops)."""
    return proc.FileLock(ws.state_dir / "services.lock")


def _read(ws: Workspace) -> dict[str, dict]:
    try:
        data = json.loads(_registry(ws).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, json.JSONDecodeError):
        return {}


def _write(ws: Workspace, data: dict[str, dict]) -> None:
    path = _registry(ws)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def register_service(ws: Workspace, name: str, pid: int, **facts) -> None:
    """Record that ``pid`` (the leader of its own process group) is the workspace's service ``name``, with any
    ``facts`` (JSON values) its owner wants to find in the entry later."""
    ws.state_dir.mkdir(parents=True, exist_ok=True)
    with _registry_lock(ws):
        data = _read(ws)
        data.pop(name, None)  # re-registered names go last: stopped first
        data[name] = {**facts, "pid": pid, "started": proc.process_started(pid), "registered": time.time()}
        _write(ws, data)


def unregister_service(ws: Workspace, name: str, pid: int | None = None) -> None:
    """Forget ``name`` (only if it is still ``pid``, when given: a newer process may have taken the name)."""
    if not _registry(ws).exists():
        return
    with _registry_lock(ws):
        data = _read(ws)
        if name in data and (pid is None or data[name].get("pid") == pid):
            del data[name]
            _write(ws, data)


def service(ws: Workspace, name: str) -> dict | None:
    """The registry entry for ``name``, alive or not."""
    return _read(ws).get(name)


def alive(entry: dict | None) -> bool:
    """Whether a registry entry's process is still running (and is still the same process)."""
    return bool(entry) and proc.same_process(entry.get("pid"), entry.get("started"))


def running_services(ws: Workspace) -> dict[str, int]:
    """Name -> pid of every registered service that is still running."""
    return {name: e["pid"] for name, e in _read(ws).items() if alive(e)}


def stop_services(ws: Workspace, names: Iterable[str] | None = None, exclude: Iterable[str] = (),
                  grace: float = 10.0) -> list[str]:
    """Stop the registered services (all, or those ``names``, but none of ``exclude``), the last registered first,
    and forget them. Returns the names of those that were running."""
    entries = _read(ws)
    chosen = [n for n in reversed(list(entries)) if (names is None or n in set(names)) and n not in set(exclude)]
    stopped = []
    for name in chosen:
        if alive(entries[name]):
            proc.terminate(entries[name]["pid"], grace=grace)
            stopped.append(name)
    for name in chosen:
        unregister_service(ws, name, entries[name].get("pid"))
    return stopped


# ----------------------------------------------------------------------------------------- use of the workspace
def touch(ws: Workspace) -> None:
    """Record that the workspace's services are used now (the idle time starts again)."""
    try:
        ws.state_dir.mkdir(parents=True, exist_ok=True)
        (ws.state_dir / HEARTBEAT).touch()
    except OSError:
        pass


def last_used(ws: Workspace) -> float | None:
    """When :func:`touch` was last called for this workspace (seconds since the epoch), or None."""
    try:
        return (ws.state_dir / HEARTBEAT).stat().st_mtime
    except OSError:
        return None


@contextmanager
def in_use(ws: Workspace, what: str = "check") -> Iterator[None]:
    """Mark the workspace's services as in use for the duration of the block (a check, say)."""
    users = ws.state_dir / USERS
    users.mkdir(parents=True, exist_ok=True)
    me = users / f"{os.getpid()}-{uuid.uuid4().hex[:8]}.json"
    me.write_text(json.dumps({"pid": os.getpid(), "started": proc.process_started(os.getpid()), "what": what}),
                  encoding="utf-8")
    touch(ws)
    try:
        yield
    finally:
        touch(ws)
        me.unlink(missing_ok=True)


def active_users(ws: Workspace) -> list[str]:
    """What is using the workspace's services now (see :func:`in_use`); forgets users whose process has ended."""
    found = []
    for path in sorted((ws.state_dir / USERS).glob("*.json")):
        try:
            user = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue  # being written or removed right now
        if alive(user):
            found.append(f"{user.get('what', 'check')} (pid {user.get('pid')})")
        else:
            path.unlink(missing_ok=True)
    return found


def client_connections(pid: int | None, port: int) -> int:
    """Open TCP connections from other processes to the service ``pid`` listening on ``port`` (a web page that
    polls it, a client that keeps a connection), or 0 where this cannot be told (no psutil, not allowed)."""
    if not pid:
        return 0
    try:
        import psutil

        conns = psutil.Process(pid).net_connections(kind="tcp")
    except Exception:  # noqa: BLE001 - no psutil, no such process, not allowed to look
        return 0
    own = {c.laddr.port for c in conns if c.raddr and c.raddr.port == port}  # the service calling itself
    return sum(1 for c in conns if c.status == "ESTABLISHED" and c.laddr.port == port
               and c.raddr and c.raddr.port not in own)


def watch_idle(ws: Workspace, idle_seconds: float, poll: float, *, watched: Callable[[], bool],
               busy: Callable[[], str | None], stop_when_idle: Callable[[], bool],
               say: Callable[[str], None]) -> str:
    """The idle watchdog's loop. Every ``poll`` seconds: end if ``watched()`` is false (nothing to watch); the
    workspace is in use if a check is (:func:`in_use`) or ``busy()`` gives a reason; once it has been unused
    for ``idle_seconds`` (counting from the later of :func:`touch` and the last use seen), ``stop_when_idle()``
    (which looks again, and may find a use after all). Returns why it ended."""
    last_active, reason_before = time.time(), None
    while True:
        time.sleep(poll)
        if not watched():
            return "nothing to watch any more (stopped by someone else, or crashed)"
        reason = ", ".join(active_users(ws)) or busy()
        if reason != reason_before:
            say(f"in use: {reason}" if reason else "not in use")
            reason_before = reason
        if reason:
            last_active = time.time()
            continue
        if time.time() - max(last_active, last_used(ws) or 0.0) < idle_seconds:
            continue
        if stop_when_idle():
            return f"stopped everything after {idle_seconds / 60:g} minutes without use"
        last_active = time.time()
