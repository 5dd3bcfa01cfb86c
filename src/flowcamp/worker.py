"""The warm check worker: one per workspace, so a check does not pay for imports every time.

The worker is a detached process (a service of the workspace, see :mod:`flowcamp.services`) that has
imported pytest, the check plugin, DuckDB and Prefect once. For each check it **forks** a fresh check
process, which runs the exercise's checks exactly as a cold ``python -m pytest`` would (course check modules
are imported in the child, never in the worker, so an edited check is seen at once). Beside it waits a
warm parent for learner processes (:class:`flowcamp.checks.learner.Zygote`, started as its own Python with
third-party imports only); each check gets one, and a new one is started for the next check.

The worker serves one check at a time (a second waits), stops after an idle time, and replaces itself when
flowcamp, the Python environment or the workspace's Prefect settings changed (its *fingerprint*). Whenever
it cannot be used (no fork on this system, ``FLOWCAMP_WORKER=0``, not started yet, stale, crashed), the
harness runs the check the cold way, with the same results, and starts a worker for next time.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import signal
import socket
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

from flowcamp import proc, reaper, server, wire
from flowcamp.forking import as_asked, fork, warm_duckdb, warm_pytest
from flowcamp.workspace import Workspace

SERVICE = "check-worker"
PRELOAD = "duckdb,prefect,prefect.cli,prefect.server.api.server"  # what the worker itself imports (the server's
# modules too: it can fork the workspace's Prefect server ready-imported, see start_server)
LEARNER_PRELOAD = "duckdb,prefect,prefect-worker,pydantic_settings,dotenv"  # the learner parent it keeps ready
# (Prefect warmed up: a flow check's learner processes start in milliseconds, and a deployment check's Prefect
# worker too). It must cover every exercise's own ``preload`` (tests/test_course.py), or that exercise's checks
# start a learner parent of their own.
# What a handed-over command (see flowcamp.launch) needs imported. Never flowcamp.cli or flowcamp.cli_common:
# their consoles are made as they are imported, for the terminal they find, so the forked process imports
# them once it holds the learner's terminal (30 ms).
CLI_PRELOAD = ("typer,click,rich.console,rich.panel,rich.table,rich.markup,rich.status,"
               "flowcamp.harness,flowcamp.kinds,flowcamp.runner,flowcamp.results,flowcamp.tidy,flowcamp.watching")
COMMAND_LINE = ("flowcamp.cli", "run")  # named, not imported, for the reason above
FINGERPRINT_ENV = ("PREFECT_API_URL", "PREFECT_HOME", "PYTHONPYCACHEPREFIX", "FLOWCAMP_NO_FORK")


def enabled() -> bool:
    return (sys.platform.startswith("linux") and hasattr(os, "fork") and os.environ.get("FLOWCAMP_WORKER") != "0"
            and os.environ.get("FLOWCAMP_NO_FORK") != "1")


def idle_seconds() -> float:
    try:
        return float(os.environ.get("FLOWCAMP_WORKER_IDLE_MINUTES", "30")) * 60
    except ValueError:
        return 1800.0


def fingerprint(env: dict[str, str]) -> str:
    """What a worker's warm state depends on: flowcamp's code, the Python environment, Prefect settings."""
    h = hashlib.sha256()
    package = Path(__file__).resolve().parent
    for p in sorted(package.rglob("*.py")):
        st = p.stat()
        h.update(f"{p.relative_to(package)}:{st.st_mtime_ns}:{st.st_size};".encode())
    for d in {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}:
        try:
            h.update(f"{d}:{os.stat(d).st_mtime_ns};".encode())
        except OSError:
            pass
    h.update(f"{sys.prefix}:{sys.version};".encode())
    for name in FINGERPRINT_ENV:
        h.update(f"{name}={env.get(name, '')};".encode())
    return h.hexdigest()[:20]


def _info_file(ws: Workspace) -> Path:
    return ws.state_dir / "worker.json"


def _socket_path(ws: Workspace) -> str:
    """A Unix socket path in the workspace's own state (only this user can reach it), or in a private
    temporary folder when the workspace's path is too long for a socket."""
    path = ws.state_dir / "worker.sock"
    if len(str(path)) < 100:
        return str(path)
    return os.path.join(tempfile.mkdtemp(prefix="flowcamp-"), "worker.sock")


# ------------------------------------------------------------------------------------------- client


def _connect(ws: Workspace) -> socket.socket | None:
    """A connection to the workspace's worker (1 s to connect); None if it is off, not running or not answering."""
    if not enabled():
        return None
    try:
        info = json.loads(_info_file(ws).read_text(encoding="utf-8"))
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(1.0)
        sock.connect(info["socket"])
    except (OSError, ValueError, KeyError):
        return None
    return sock


def run(ws: Workspace, pytest_args: list[str], cwd: Path, env: dict, limit: float) -> proc.Completed | None:
    """Run a check in the workspace's warm worker; None if it cannot be used now (then run it cold)."""
    sock = _connect(ws)
    if sock is None:
        return None
    with sock:
        return _run_on(sock, ws, pytest_args, cwd, env, limit)


def _run_on(sock: socket.socket, ws: Workspace, pytest_args: list[str], cwd: Path, env: dict,
            limit: float) -> proc.Completed | None:
    out_r, out_w = os.pipe()
    res_r, res_w = os.pipe()
    out, res = proc.Drain(out_r), proc.Drain(res_r)
    request = {"args": pytest_args, "cwd": str(cwd), "env": env, "fingerprint": fingerprint(env)}
    try:
        socket.send_fds(sock, [wire.dumps(request)], [out_w, res_w])
    except OSError:
        return None
    finally:
        os.close(out_w)
        os.close(res_w)
    try:
        sock.settimeout(300)  # another check may be running: the worker serves one at a time
        answer = _recv(sock)
    except (OSError, ValueError):
        return None
    if "pid" not in answer:
        if answer.get("stale"):
            stop(ws)
        return None
    timed_out = False
    try:
        sock.settimeout(limit)
        done = _recv(sock)
    except (TimeoutError, socket.timeout):
        timed_out = True
        proc.kill_tree(answer["pid"])  # the check process leads its own session
        done = {}
    except (OSError, ValueError):  # the worker died during the check: not the learner's doing; run it cold
        proc.kill_tree(answer["pid"])
        return None
    except BaseException:  # Ctrl+C: the check stops too (it is not in the terminal's process group)
        proc.kill_tree(answer["pid"])
        raise
    code = None if timed_out else done.get("exit")
    return proc.Completed(out.result().decode("utf-8", errors="replace"), code, timed_out, res.result())


def start_server(ws: Workspace, args: list[str], env: dict, log: Path, cwd: Path) -> int | None:
    """Start the workspace's Prefect server (``prefect`` CLI arguments ``args``) as a fork of the warm worker,
    which has imported Prefect's server already: seconds quicker than a new Python. Its own session, its output
    to ``log``, nothing of the worker kept open. Returns its pid; None when the worker cannot do it now (none
    running, busy with a check, or made by other code): then start it the usual way."""
    sock = _connect(ws)
    if sock is None:
        return None
    request = {"op": "server", "args": args, "env": env, "log": str(log), "cwd": str(cwd),
               "code": fingerprint({}), "sent": time.time()}
    with sock:
        try:
            sock.sendall(wire.dumps(request))
            answer = _recv(sock)
        except (OSError, ValueError):  # busy with a check (it serves one thing at a time), or gone
            return None
    pid = answer.get("server")
    return pid if isinstance(pid, int) else None


def _start_server(ws: Workspace, args: list[str], env: dict, home: Path) -> int | None:
    return start_server(ws, args, env, server._log_file(ws), home)


server.FAST_STARTS.append(_start_server)


def _recv(sock: socket.socket) -> dict:
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(65536)
        if not chunk:
            raise OSError("the check worker went away")
        data += chunk
    return wire.loads(data)


def start_in_background(ws: Workspace, env: dict) -> None:
    """Start the workspace's worker (detached, registered as a service) if none runs; returns at once."""
    from flowcamp import services

    if not enabled() or services.alive(services.service(ws, SERVICE)):
        return
    sock_path = _socket_path(ws)
    # Nothing of the check that started it: its run token would make that check's sweep stop the worker.
    env = {k: v for k, v in env.items() if not k.startswith("FLOWCAMP_")}
    code = (f"from flowcamp.worker import serve\n"
            f"serve({sock_path!r}, {str(_info_file(ws))!r}, {fingerprint(env)!r}, {idle_seconds()!r})\n")
    child = proc.start_detached(proc.python_code(code), env=env, log=ws.state_dir / "worker.log", cwd=ws.state_dir)
    services.register_service(ws, SERVICE, child.pid)


def stop(ws: Workspace) -> None:
    from flowcamp import services

    services.stop_services(ws, names=[SERVICE])
    try:
        _info_file(ws).unlink()
    except OSError:
        pass


# ------------------------------------------------------------------------------------------- server


_CODE_AT_START: list[str] = []  # the worker's fingerprint({}) as it started: flowcamp's code and the environment


def serve(sock_path: str, info_file: str, fp: str, idle: float) -> None:
    """The worker's main loop (in the detached process)."""
    _CODE_AT_START.append(fingerprint({}))
    import pytest  # noqa: F401 - the point: imported once, here

    import flowcamp.checks.plugin as plugin
    from flowcamp.checks.learner import Zygote

    for name in [*PRELOAD.split(","), *CLI_PRELOAD.split(",")]:
        try:
            __import__(name)
        except Exception:  # noqa: BLE001 - the check imports it again and says what is wrong
            pass
    try:
        os.unlink(sock_path)
    except OSError:
        pass
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    os.chmod(sock_path, 0o600)
    srv.listen(8)
    srv.settimeout(idle)
    Path(info_file).write_text(json.dumps({"socket": sock_path, "pid": os.getpid(), "fingerprint": fp}))
    warm_duckdb()  # each check process's first DuckDB open (its reference queries) is quicker
    warm_pytest(plugin.run_options)  # and its pytest machinery
    zygote = Zygote(LEARNER_PRELOAD)  # kept for the worker's life (see Zygote.reset)
    gc.freeze()  # what is imported now is never collected: a check process's collections skip it, and
                 # pages shared with the forked children stay shared
    while True:
        try:
            conn, _ = srv.accept()
        except (TimeoutError, socket.timeout):
            break
        with conn:
            try:
                served = _serve_one(conn, srv, fp, zygote, plugin)
            except (OSError, ValueError):  # a sender that went away (Ctrl+C) or sent nonsense: serve the next
                served = True
        if served is None:  # a handed-over command: its check comes next, and needs the learner parent as it is
            continue
        if not served:
            break
        if not zygote.reset():  # gone, or left out of step by a check stopped halfway: a new one
            zygote.close()
            zygote = Zygote(LEARNER_PRELOAD)
        reaper.reap()
    zygote.close()
    srv.close()
    os._exit(0)


def _serve_one(conn: socket.socket, srv: socket.socket, fp: str, zygote, plugin) -> bool | None:
    """Fork one check process for the request on ``conn``. False when the worker should stop; None after
    handing a command line to a process of its own."""
    msg, fds, _flags, _addr = socket.recv_fds(conn, 1 << 20, 3)
    request = wire.loads(msg)
    if request.get("op") == "cli":
        _fork_command(request, fds, conn, srv, zygote)
        return None
    if request.get("op") == "server":
        for fd in fds:
            os.close(fd)
        _fork_server(request, conn, srv, zygote)
        return True
    if request.get("fingerprint") != fp or len(fds) != 2:
        conn.sendall(wire.dumps({"stale": True}))
        return False
    if not reaper.one_thread():
        conn.sendall(wire.dumps({"nofork": True}))
        return True
    proc.trace("worker: request read", request["env"])
    pid = fork()
    if pid == 0:
        srv.close()
        conn.close()
        _check_child(request, fds, zygote, plugin)
    for fd in fds:
        os.close(fd)
    conn.sendall(wire.dumps({"pid": pid}))
    _, status = os.waitpid(pid, 0)
    proc.trace("worker: check process ended", request["env"])
    conn.sendall(wire.dumps({"exit": os.waitstatus_to_exitcode(status)}))
    return True


def _check_child(request: dict, fds: list[int], zygote, plugin) -> None:
    """In the forked check process: become the cold check process, as if started fresh."""
    import pytest

    proc.trace("worker: check process forked")
    try:
        as_asked(request["env"], request["cwd"], signal.SIGTERM)
        out_fd, results_fd = fds
        os.dup2(out_fd, 1)
        os.dup2(out_fd, 2)
        os.close(out_fd)
        os.environ["FLOWCAMP_RESULTS_FD"] = str(results_fd)
        if zygote.covers(request["env"].get("FLOWCAMP_LEARNER_PRELOAD", "")):
            plugin._STATE["zygote"] = zygote
        else:  # the check's own, with what it needs, started by the plugin as pytest starts
            zygote.sock.close()
        code = pytest.main(request["args"])
        proc.trace("worker: pytest returned")
    except BaseException:  # noqa: BLE001 - a broken check process reports through its exit code
        code = 3
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(int(code))


def _fork_command(request: dict, fds: list[int], conn: socket.socket, srv: socket.socket, zygote) -> None:
    """Run a command line handed over by :mod:`flowcamp.launch` in a forked process that holds the sender's
    terminal; that process sends its exit status on ``conn`` when done. The worker goes back to its socket at
    once (the command's check is its next request). Refused (the sender runs it the usual way) when the
    worker's code is not the sender's, flowcamp changed since it started, a thread runs, or the command line's
    modules are loaded here already."""
    usable = (len(fds) == 3 and request.get("package") == str(Path(__file__).resolve().parent)
              and request.get("python") == [sys.prefix, sys.version] and fingerprint({}) in _CODE_AT_START
              and reaper.one_thread() and COMMAND_LINE[0] not in sys.modules
              and "flowcamp.cli_common" not in sys.modules)
    if not usable:
        for fd in fds:
            os.close(fd)
        conn.sendall(wire.dumps({"refused": True}))
        return
    pid = fork()
    if pid == 0:
        _command_child(request, fds, conn, srv, zygote)
    for fd in fds:
        os.close(fd)
    conn.sendall(wire.dumps({"pid": pid}))


def _command_child(request: dict, fds: list[int], conn: socket.socket, srv: socket.socket, zygote) -> None:
    """In the forked process: become the sender's `flowcamp` command, on its terminal, and report its exit."""
    import importlib

    code = 2
    try:
        srv.close()
        zygote.sock.close()  # the worker's; the check this command asks for gets one from the worker
        for n, fd in enumerate(fds):
            os.dup2(fd, n)
            os.close(fd)
        streams = [open(n, mode, encoding=enc, errors="backslashreplace" if n == 2 else "strict", closefd=False,
                        buffering=1 if n == 2 or os.isatty(n) else -1)  # as Python sets them up
                   for n, (mode, enc) in enumerate(zip(("r", "w", "w"), request["encoding"]))]
        sys.stdin, sys.stdout, sys.stderr = streams
        sys.__stdin__, sys.__stdout__, sys.__stderr__ = streams
        as_asked(request["env"], request["cwd"], signal.SIGTERM, signal.SIGHUP)  # stopping the worker (a stale one) does not stop it
        signal.signal(signal.SIGINT, signal.default_int_handler)
        sys.argv = ["flowcamp", *request["argv"]]
        proc.trace("worker: command forked")
        code = getattr(importlib.import_module(COMMAND_LINE[0]), COMMAND_LINE[1])(request["argv"])
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    except BaseException:  # noqa: BLE001 - flowcamp's own failure: shown as Python would, then exit 2
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:  # noqa: BLE001 - a closed terminal
            pass
        try:
            conn.sendall(wire.dumps({"exit": int(code)}))
        finally:
            os._exit(int(code))


def _fork_server(request: dict, conn: socket.socket, srv: socket.socket, zygote) -> None:
    """Fork the Prefect server for :func:`start_server`, unless the request waited too long (its sender has
    started the server the usual way meanwhile), the code changed under the worker, or threads run."""
    if (time.time() - float(request.get("sent", 0)) > 1.0 or request.get("code") not in _CODE_AT_START
            or not reaper.one_thread()):
        conn.sendall(wire.dumps({"server": None}))
        return
    pid = fork()
    if pid == 0:
        code = 1
        try:
            as_asked(request["env"], request["cwd"], signal.SIGTERM)
            out = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(out, 1)
            os.dup2(out, 2)
            os.closerange(3, 65536)  # the worker's socket, its learner parent's, this request's
            sys.argv = ["prefect", *request["args"]]
            from flowcamp import serverapp
            from prefect.cli import app

            serverapp.install()  # 503 answers say when to try again (see flowcamp.serverapp)
            code = app()
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        except BaseException:  # noqa: BLE001 - said in the server's log
            import traceback

            traceback.print_exc()
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(int(code or 0))
    conn.sendall(wire.dumps({"server": pid}))

