"""Warm starts for the Python processes a learner's own tools start: ``python -m flowcamp.warmrun MODULE ARGS``
runs ``python -m MODULE ARGS``, forked from a warm process instead of a fresh Python.

A Prefect worker runs each flow run as a new ``python -m prefect.engine`` process, and that process's first
seconds go to importing Prefect again (about 2 s on a 2-core machine, 5 s on a slow one). A check that runs a
deployment through a real worker paid that on every check. Now the learner process that runs the worker first
starts a small *fork server* (:func:`serve`), forked from itself while it still has one thread and Prefect
imported. The worker's command for the check's run is this module; it passes its command line, environment,
folder and its three standard file descriptors to the fork server, which forks a process that becomes
``python -m prefect.engine`` there and then. Exit status and signals travel back and forth, so the worker sees
the process it expects.

Everything here is on the learner's side: the server, the run and this command are learner processes, inside
the check's sweep (and, in cohort grading, inside the sandbox). Nothing trusted runs or waits here. Whenever
the server is not there (no fork on this system, ``FLOWCAMP_NO_FORK=1``, an old server gone), the command
becomes ``python -m MODULE ARGS`` itself (``exec``), with the same result, more slowly.

Only this module's top is imported by the command itself: the standard library's smallest parts.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys

from flowcamp.places import trace

ENV = "FLOWCAMP_WARMRUN_SOCKET"  # where a learner process's fork server listens


def read_answer(sock: socket.socket) -> dict:
    """One newline-ended JSON object from ``sock`` (an empty dict for anything else)."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(4096)
        if not chunk:
            raise OSError("the other side went away")
        data += chunk
    answer = json.loads(data)
    return answer if isinstance(answer, dict) else {}


# ------------------------------------------------------------------------------------ the command


def hand_over(module: str, args: list[str]) -> int | None:
    """Run ``python -m module args`` in a process forked by this environment's fork server: its exit code
    (negative: the signal that ended it), or None when there is no server to ask (nothing has run then)."""
    path = os.environ.get(ENV)
    if not path or not sys.platform.startswith("linux") or os.environ.get("FLOWCAMP_NO_FORK") == "1":
        return None
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(5.0)
        sock.connect(path)
        sys.stdout.flush()
        sys.stderr.flush()
        request = {"module": module, "args": args, "env": dict(os.environ), "cwd": os.getcwd()}
        socket.send_fds(sock, [json.dumps(request).encode() + b"\n"], [0, 1, 2])
        pid = read_answer(sock).get("pid")
    except (OSError, ValueError):
        return None
    if not isinstance(pid, int):  # it refused (a module it does not run): the usual way
        return None

    def forward(signum, _frame):
        try:
            os.kill(pid, signum)
        except OSError:
            pass

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)
    sock.settimeout(None)
    try:
        code = read_answer(sock).get("exit")
    except (OSError, ValueError):
        code = None
    return code if isinstance(code, int) else 1


def main() -> None:
    if len(sys.argv) < 2:
        sys.stderr.write("usage: python -m flowcamp.warmrun MODULE [ARGS...]\n")
        raise SystemExit(2)
    module, args = sys.argv[1], sys.argv[2:]
    trace(f"warmrun: {module} asked for")
    code = hand_over(module, args)
    if code is None:
        os.execv(sys.executable, [sys.executable, "-m", module, *args])
    if code < 0:  # ended by a signal: end the same way, so whoever waits on this process sees it
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
        code = 128 - code
    os._exit(code)


# ------------------------------------------------------------------------------------- the server


def serve(modules: tuple[str, ...] = ("prefect.engine",), heartbeat: bool = True) -> int | None:
    """Start a fork server for ``modules``, forked from this process, listening in a new folder private to
    this user; set :data:`ENV` in this process's environment so the commands it starts find it.
    ``heartbeat=False``: a Prefect flow run sends no heartbeats (a check's run needs none, and its process
    then ends up to a second sooner, as :meth:`flowcamp.learnerhost.Host._run_settings` does). Its pid,
    or None when this process cannot fork safely (then those commands start fresh Pythons). It stops when
    this process ends, or with :func:`stop`."""
    import tempfile

    from flowcamp import reaper
    from flowcamp.forking import fork

    if not sys.platform.startswith("linux") or os.environ.get("FLOWCAMP_NO_FORK") == "1" or not reaper.one_thread():
        return None
    folder = tempfile.mkdtemp(prefix="flowcamp-warmrun-")  # 0700
    path = os.path.join(folder, "warmrun.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(path)
        listener.listen(8)
    except OSError:
        listener.close()
        os.rmdir(folder)
        return None
    owner = os.getpid()
    pid = fork()
    if pid == 0:
        _server(listener, owner, frozenset(modules), heartbeat)
    listener.close()
    os.environ[ENV] = path
    return pid


def stop(pid: int | None) -> None:
    """Stop a fork server :func:`serve` started, and remove its folder (what it started is the check's
    sweep's)."""
    path = os.environ.pop(ENV, None)
    if path and os.path.basename(os.path.dirname(path)).startswith("flowcamp-warmrun-"):
        try:
            os.unlink(path)
            os.rmdir(os.path.dirname(path))
        except OSError:
            pass
    if pid:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (OSError, ChildProcessError):
            pass


def _keep_only(*keep: int) -> None:
    """Close every descriptor but 0-2 and ``keep``: a learner process's channel to its check stays with it."""
    try:
        fds = [int(n) for n in os.listdir("/proc/self/fd")]
    except OSError:
        fds = list(range(3, 1024))
    for fd in fds:
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def _server(listener: socket.socket, owner: int, modules: frozenset[str], heartbeat: bool) -> None:
    """The fork server's loop: one monitor process per request (see :func:`_monitor`). Ends with its owner."""
    from flowcamp import reaper
    from flowcamp.forking import fork

    code = 0
    try:
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        _keep_only(listener.fileno())
        listener.settimeout(1.0)
        while os.getppid() == owner:
            reaper.reap()
            try:
                conn, _ = listener.accept()
            except (TimeoutError, socket.timeout):
                continue
            try:
                conn.settimeout(5.0)
                msg, fds, _flags, _addr = socket.recv_fds(conn, 1 << 20, 3)
                request = json.loads(msg)
            except (OSError, ValueError):
                conn.close()
                continue
            if request.get("module") not in modules or len(fds) != 3:
                conn.sendall(b'{"refused": true}\n')
            elif fork() == 0:
                listener.close()
                _monitor(conn, fds, request, heartbeat)
            for fd in fds:
                os.close(fd)
            conn.close()
    except BaseException:  # noqa: BLE001 - the commands then start fresh Pythons
        code = 1
    os._exit(code)


def _monitor(conn: socket.socket, fds: list[int], request: dict, heartbeat: bool) -> None:
    """Fork the asked-for process, tell the command its pid, then its exit status; kill it (and what it
    started) if the command goes away first."""
    from flowcamp.forking import fork

    pid = fork()
    if pid == 0:
        conn.close()
        _become(request, fds, heartbeat)
    for fd in fds:
        os.close(fd)
    code = 1
    try:
        conn.settimeout(None)
        conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
        while True:
            ready, _, _ = select.select([conn], [], [], 0.2)
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                conn.sendall(json.dumps({"exit": os.waitstatus_to_exitcode(status)}).encode() + b"\n")
                code = 0
                break
            if ready and not conn.recv(1):  # the command was killed: so is what it stood for
                os.killpg(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                break
    except OSError:
        pass
    os._exit(code)


def _become(request: dict, fds: list[int], heartbeat: bool) -> None:
    """In the forked process: become ``python -m MODULE ARGS`` as the command was asked to run it."""
    import runpy
    import warnings

    from flowcamp.forking import as_asked

    code = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        for n, fd in enumerate(fds):
            os.dup2(fd, n)
            os.close(fd)
        _keep_only()
        as_asked({str(k): str(v) for k, v in request["env"].items()}, request["cwd"], signal.SIGTERM, signal.SIGHUP)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if "prefect.context" in sys.modules:  # Prefect read its settings when imported, from another environment
            _prefect_settings(heartbeat)
        sys.argv = ["-m", *request["args"]]
        trace(f"warmrun: {request['module']} forked")
        code = 0
        with warnings.catch_warnings():  # "found in sys.modules ... prior to execution": imported on purpose
            warnings.simplefilter("ignore", RuntimeWarning)
            runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if not isinstance(e.code, int) and e.code is not None:
            print(e.code, file=sys.stderr)
    except BaseException:  # noqa: BLE001 - as Python would: the traceback, then exit code 1
        import traceback

        traceback.print_exc()
        code = 1
    trace(f"warmrun: {request.get('module')} done")
    os._exit(_exit_as_python_does(code))


def _prefect_settings(heartbeat: bool) -> None:
    """Prefect's settings read afresh, from this process's environment and folder, as a new Python would."""
    context = sys.modules["prefect.context"]
    context.refresh_global_settings_context()
    if not heartbeat:
        from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY

        now = context.GLOBAL_SETTINGS_CONTEXT
        context.GLOBAL_SETTINGS_CONTEXT = context.SettingsContext(
            profile=now.profile, settings=now.settings.copy_with_update(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}))


def _exit_as_python_does(code: int) -> int:
    """What Python does on its way out: wait for the threads that are not daemons, run atexit, flush."""
    import atexit
    import threading

    try:
        for t in threading.enumerate():
            if t is not threading.current_thread() and not t.daemon:
                t.join()
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # noqa: BLE001 - a closed pipe on the way out
        pass
    return code


if __name__ == "__main__":
    main()
