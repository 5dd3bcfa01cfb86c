"""The local Prefect server: a stable address, started once under a lock and reused, a crashed one replaced,
stopped by itself when idle, and `flowcamp stop` leaving nothing behind. The registry, lock and idle loop
are tested without a server (fast); the rest with real servers (slow)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from flowcamp import proc, server, services
from flowcamp.workspace import Workspace

LINUX = sys.platform.startswith("linux")


def _until(predicate, timeout: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def _sleeper(ws: Workspace, name: str) -> int:
    """A detached process that does nothing for a minute, registered as a service."""
    child = proc.start_detached([sys.executable, "-c", "import time; time.sleep(60)"], env=dict(os.environ),
                                log=ws.state_dir / f"{name}.log", cwd=ws.state_dir)
    services.register_service(ws, name, child.pid)
    return child.pid


def _processes_mentioning(text: str) -> list[int]:
    """Living processes (not this one) whose command line or environment mention ``text`` (Linux)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            blob = Path(f"/proc/{name}/cmdline").read_bytes() + Path(f"/proc/{name}/environ").read_bytes()
        except OSError:
            continue
        if text.encode() in blob and proc.pid_alive(int(name)):
            found.append(int(name))
    return found


# --------------------------------------------------------------------------------------------- no server needed
def test_status_of_a_workspace_without_a_server(golden_course, make_workspace):
    ws = make_workspace(golden_course)
    st = server.status(ws)
    assert not st.running and st.note == "not started"
    # The address is known before any start: derived from the workspace's path, away from Prefect's 4200.
    assert st.url == f"http://127.0.0.1:{server.derived_port(ws)}" == server.server_url(ws)
    assert server.PORT_BASE <= st.port < server.PORT_BASE + server.PORT_COUNT
    other = make_workspace(golden_course, name="other")
    assert server.derived_port(Workspace(ws.root, golden_course)) == server.derived_port(ws)
    assert server.derived_port(other) != server.derived_port(ws)  # (a 1-in-1000 clash would move to the next)


def test_a_taken_port_moves_to_the_next_free_one(golden_course, make_workspace):
    ws = make_workspace(golden_course)
    first = server.derived_port(ws)
    with socket.socket() as taken:
        try:
            taken.bind(("127.0.0.1", first))
            taken.listen()
        except OSError:  # another test's server holds it already: taken all the same
            pass
        chosen = server._choose_port(ws, settle=0)
        assert chosen != first and server.PORT_BASE <= chosen < server.PORT_BASE + server.PORT_COUNT
        assert (chosen - first) % server.PORT_COUNT <= 5  # the next free one after it, not a random one
    # A recorded port is kept as long as it is free, whatever the path maps to.
    server._write_state(ws, port=chosen, url=f"http://127.0.0.1:{chosen}")
    assert server._choose_port(ws) == chosen and server.server_url(ws).endswith(f":{chosen}")


def test_the_file_lock_excludes_other_processes(tmp_path):
    path = tmp_path / "start.lock"
    try_lock = ("import sys; from flowcamp.proc import FileLock\n"
                "print(FileLock(sys.argv[1]).acquire(timeout=float(sys.argv[2])))")
    lock = proc.FileLock(path)
    assert lock.acquire(timeout=0)
    out = subprocess.run([sys.executable, "-c", try_lock, str(path), "0.3"], capture_output=True, text=True)
    assert out.stdout.strip() == "False"
    waited: list[float] = []
    assert not proc.FileLock(path).acquire(timeout=0.25, on_wait=waited.append)  # not re-entrant, even here
    assert waited and max(waited) < 0.5
    lock.release()
    out = subprocess.run([sys.executable, "-c", try_lock, str(path), "0"], capture_output=True, text=True)
    assert out.stdout.strip() == "True"


def test_the_services_registry_stops_what_it_holds(golden_course, make_workspace):
    ws = make_workspace(golden_course)
    a, b = _sleeper(ws, "one"), _sleeper(ws, "two")
    try:
        assert services.running_services(ws) == {"one": a, "two": b}
        # A recorded pid that now belongs to another process is not ours to stop.
        services.register_service(ws, "reused", os.getpid())
        data = json.loads((ws.state_dir / services.REGISTRY).read_text())
        data["reused"]["started"] = (data["reused"]["started"] or 0) - 1000
        (ws.state_dir / services.REGISTRY).write_text(json.dumps(data))
        assert "reused" not in services.running_services(ws)
        assert services.stop_services(ws, names=("two",)) == ["two"]
        assert not proc.pid_alive(b) and services.running_services(ws) == {"one": a}
        assert services.stop_services(ws) == ["one"]  # and forgets the dead "reused" without touching this process
        assert not proc.pid_alive(a) and services.running_services(ws) == {}
        assert json.loads((ws.state_dir / services.REGISTRY).read_text()) == {}
    finally:
        for pid in (a, b):
            proc.kill_tree(pid)


def test_checks_in_progress_and_the_heartbeat(golden_course, make_workspace):
    ws = make_workspace(golden_course)
    assert services.active_users(ws) == []
    before = time.time()
    with services.in_use(ws, "check env-settings"):
        assert services.active_users(ws) == [f"check env-settings (pid {os.getpid()})"]
        assert services.last_used(ws) >= before - 1
    assert services.active_users(ws) == []
    # A check that was killed does not keep the workspace in use.
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (ws.state_dir / services.USERS / "gone.json").write_text(json.dumps({"pid": int(dead.stdout), "what": "x"}))
    assert services.active_users(ws) == [] and not (ws.state_dir / services.USERS / "gone.json").exists()


def test_the_idle_loop_waits_for_every_use_then_stops(golden_course, make_workspace):
    ws = make_workspace(golden_course)
    calls = {"busy": 0, "stop": 0}

    def busy():
        calls["busy"] += 1
        return "a flow run" if calls["busy"] <= 5 else None

    def stop_when_idle():
        calls["stop"] += 1
        return calls["stop"] > 1  # the first time, it finds a late use after all

    said: list[str] = []
    t0 = time.monotonic()
    why = services.watch_idle(ws, 0.2, 0.02, watched=lambda: True, busy=busy, stop_when_idle=stop_when_idle,
                              say=said.append)
    assert "stopped" in why and calls["stop"] == 2 and calls["busy"] > 5
    assert time.monotonic() - t0 >= 5 * 0.02 + 2 * 0.2  # idle counted from the end of the last use, twice
    assert said[:2] == ["in use: a flow run", "not in use"]
    assert "nothing to watch" in services.watch_idle(ws, 10, 0.01, watched=lambda: False, busy=busy,
                                                     stop_when_idle=stop_when_idle, say=said.append)


def _answers_while_locked(call, limit: float = 60.0):
    """call()'s answer, given while the test holds a lock that call() must not wait for."""
    box: dict = {}
    worker = threading.Thread(target=lambda: box.update(answer=call()), daemon=True)
    worker.start()
    worker.join(limit)
    assert not worker.is_alive(), "it waited for the lock"
    return box["answer"]


def test_warming_up_never_waits_and_never_doubles(golden_course, make_workspace):
    ws = make_workspace(golden_course)
    lock = server._start_lock(ws)
    assert lock.acquire(timeout=0)  # as if a check were starting the server right now
    try:  # it answers while the lock is still held: it did not wait for it (that would be a hang, not a delay)
        assert _answers_while_locked(lambda: server.warm_in_background(ws)) is False
    finally:
        lock.release()
    pid = _sleeper(ws, server.WARMER)  # as if a warm-up were under way
    try:
        assert server.warm_in_background(ws) is False
        assert services.running_services(ws) == {server.WARMER: pid}
    finally:
        services.stop_services(ws)


def test_idle_minutes_come_from_the_environment(monkeypatch):
    for value, minutes in [(None, 30.0), ("5", 5.0), ("0", 0.0), ("0.5", 0.5), ("soon", 30.0), ("-1", 30.0)]:
        if value is None:
            monkeypatch.delenv(server.IDLE_ENV, raising=False)
        else:
            monkeypatch.setenv(server.IDLE_ENV, value)
        assert server.idle_minutes() == minutes


# ----------------------------------------------------------------------------------------------- real servers
@pytest.fixture(scope="module")
def own_ws(golden_course, tmp_path_factory):
    """A workspace whose server these tests start, stop and crash (not the session's shared one)."""
    ws = Workspace(tmp_path_factory.mktemp("server") / "ws", golden_course)
    ws.init(seed=4242)
    yield ws
    server.stop_everything(ws)


def _api(url: str, path: str, body: dict, tries: int = 10) -> dict:
    """POST to the server's API; retried on 503, as Prefect's own client does (a busy SQLite database)."""
    req = urllib.request.Request(f"{url}/api{path}", data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    for attempt in range(tries):
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            if e.code != 503 or attempt == tries - 1:
                raise
            time.sleep(0.5)
    raise AssertionError("unreachable")


@pytest.mark.slow
def test_the_shared_server_is_reused(shared_workspace, prefect_server):
    ws = shared_workspace
    st = server.status(ws)
    assert st.running and st.url == prefect_server == server.server_url(ws)
    assert server.PORT_BASE <= st.port < server.PORT_BASE + server.PORT_COUNT
    # Starting again finds it without the start lock (held here all along), and records the use.
    lock = server._start_lock(ws)
    assert lock.acquire(timeout=60)
    try:
        assert _answers_while_locked(lambda: server.start(ws)) == prefect_server
    finally:
        lock.release()
    assert services.last_used(ws) >= time.time() - 5
    with urllib.request.urlopen(prefect_server + "/api/health", timeout=5) as r:
        assert r.status == 200


@pytest.mark.slow
def test_the_port_is_stable_across_restarts(own_ws):
    url = server.start(own_ws)
    assert url == server.server_url(own_ws) == f"http://127.0.0.1:{server.derived_port(own_ws)}"
    assert server.stop(own_ws)
    st = server.status(own_ws)
    assert not st.running and st.url == url and st.note == "stopped"
    assert server.start(own_ws) == url


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="kills with POSIX signals")
def test_a_crashed_server_is_detected_and_replaced(own_ws):
    url = server.start(own_ws)
    try:
        pid = server.status(own_ws).pid
        os.killpg(pid, signal.SIGKILL)
        assert _until(lambda: not server.status(own_ws).running, 5)
        st = server.status(own_ws)
        assert not st.running and st.note in ("stopped or crashed", "started but not answering")
        assert server.start(own_ws) == url  # the same address again
        assert server.status(own_ws).running and server.status(own_ws).pid != pid
    finally:
        assert server.stop(own_ws)
    assert not server.status(own_ws).running


@pytest.mark.slow
def test_two_starts_at_once_share_one_server(own_ws):
    server.stop(own_ws)
    code = ("import sys, json; from pathlib import Path; from flowcamp import server\n"
            "from flowcamp.workspace import Workspace\n"
            "waited = []\n"
            "url = server.start(Workspace(Path(sys.argv[1]), None), on_locked=waited.append)\n"
            "print(json.dumps({'url': url, 'waited': bool(waited)}))\n")
    starters = [subprocess.Popen([sys.executable, "-c", code, str(own_ws.root)], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [json.loads(p.communicate(timeout=300)[0]) for p in starters]
    st = server.status(own_ws)
    assert st.running and [o["url"] for o in outs] == [st.url, st.url]
    assert sorted(o["waited"] for o in outs) == [False, True]  # one started it, the other waited, then reused it
    if LINUX:
        home = f"PREFECT_HOME={server.prefect_home(own_ws)}"
        servers = [p for p in _processes_mentioning(home)
                   if b"server\0start" in Path(f"/proc/{p}/cmdline").read_bytes()]
        assert servers == [st.pid]


@pytest.mark.slow
def test_the_idle_watchdog_waits_for_a_running_flow_run(own_ws, monkeypatch):
    server.stop(own_ws)
    monkeypatch.setenv(server.IDLE_ENV, "0.05")  # 3 seconds
    monkeypatch.setenv(server.POLL_ENV, "0.3")
    with services.in_use(own_ws, "test"):  # no stop before the run exists
        url = server.start(own_ws)
        flow = _api(url, "/flows/", {"name": "idle-test"})
        run = _api(url, "/flow_runs/", {"flow_id": flow["id"], "state": {"type": "RUNNING", "name": "Running"}})
    log = server.prefect_home(own_ws) / "watchdog.log"

    def story() -> str:
        text = log.read_text() if log.exists() else ""
        return f"services: {services.running_services(own_ws)}\nwatchdog.log:\n{text[-1500:]}"

    assert _until(lambda: services.alive(services.service(own_ws, server.WATCHDOG)), 10), story()
    time.sleep(6)  # twice the idle time, with nothing but the run
    assert services.alive(services.service(own_ws, server.SERVER)), story()
    _api(url, f"/flow_runs/{run['id']}/set_state", {"state": {"type": "COMPLETED", "name": "Completed"},
                                                      "force": True})
    t0 = time.monotonic()
    assert _until(lambda: not services.running_services(own_ws), 40), story()
    assert 2.5 < time.monotonic() - t0, story()
    st = server.status(own_ws)
    assert not st.running and "by itself" in st.note, story()
    assert "flow run(s) running" in log.read_text() and "stopped everything" in log.read_text(), story()


@pytest.mark.slow
def test_flowcamp_stop_leaves_nothing_running(own_ws, monkeypatch):
    import typer
    from typer.testing import CliRunner

    from flowcamp.cli_server import stop_all

    server.stop(own_ws)
    assert server.warm_in_background(own_ws)
    assert server.start(own_ws, on_locked=lambda _t: None)  # waits for the warm-up's start
    assert _until(lambda: not services.alive(services.service(own_ws, server.WARMER)), 30)  # its work is done
    assert _until(lambda: services.alive(services.service(own_ws, server.WATCHDOG)), 10)
    _sleeper(own_ws, "warm-check-worker")  # a later service registers itself the same way
    assert set(services.running_services(own_ws)) == {server.SERVER, server.WATCHDOG, "warm-check-worker"}
    app = typer.Typer()
    app.command("stop")(stop_all)
    app.command("unused")(lambda: None)  # two commands, so `stop` is a subcommand
    monkeypatch.setenv("FLOWCAMP_WORKSPACE", str(own_ws.root))
    done = CliRunner().invoke(app, ["stop"])
    assert done.exit_code == 0, done.output
    assert "Prefect server" in done.output and "warm-check-worker" in done.output
    assert services.running_services(own_ws) == {} and not server.status(own_ws).running
    if LINUX:
        assert _until(lambda: not _processes_mentioning(str(own_ws.root)), 5), _processes_mentioning(str(own_ws.root))
    assert "Nothing was running" in CliRunner().invoke(app, ["stop"]).output
