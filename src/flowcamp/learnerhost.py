"""The program that runs in a learner process: it imports the learner's files and calls what a check asks
for, and answers with plain data (:mod:`flowcamp.wire`).

It runs in its own process, apart from the check that decides the verdict (``flowcamp.checks.learner``
starts it). It reads one JSON request per line from the request pipe and writes one answer per line to
the answer pipe; the learner's own prints go to stdout/stderr, which the check captures separately.
Nothing here is trusted: a check only ever compares these answers with what it computed itself.
"""

from __future__ import annotations

import importlib.util
import inspect
import itertools
import os
import sys
import traceback
from pathlib import Path

from flowcamp import wire
from flowcamp.forking import warm_duckdb
from flowcamp.stamps import file_stamp

_counter = itertools.count()


def describe_exception(exc: BaseException, learner_dir: Path | str | None = None) -> str:
    """'line 12 of settings.py (`x = ...`): KeyError: 'VAN_PASSWORD'' — the deepest frame in the learner's files."""
    what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    where = ""
    if isinstance(exc, SyntaxError) and exc.filename:
        where = f"line {exc.lineno} of {Path(exc.filename).name}"
        what = f"SyntaxError: {exc.msg}" + (f"\n    {exc.text.rstrip()}" if exc.text else "")
    elif learner_dir is not None:
        root = str(Path(learner_dir).resolve())
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            if frame.filename and os.path.abspath(frame.filename).startswith(root):
                where = f"line {frame.lineno} of {os.path.relpath(frame.filename, root)}"
                if frame.line:
                    where += f" (`{frame.line.strip()}`)"
                break
    return f"{where}: {what}" if where else what


def exception_info(exc: BaseException, learner_dir: Path) -> dict:
    try:
        message = str(exc)
    except Exception:  # noqa: BLE001
        message = "(its message could not be shown)"
    return {"type": type(exc).__name__, "mro": [wire.qualname(t) for t in type(exc).__mro__],
            "message": message, "where": describe_exception(exc, learner_dir)}


def _describe(obj) -> dict:
    """What a check may ask about an object of the learner's: its type, value and signature, as plain data."""
    info = {"exists": True, "type": wire.qualname(type(obj)),
            "type_mro": [wire.qualname(t) for t in type(obj).__mro__], "callable": callable(obj),
            "name": getattr(obj, "__name__", None) if isinstance(getattr(obj, "__name__", None), str) else None,
            "is_class": isinstance(obj, type), "value": wire.encode(obj)}
    if isinstance(obj, type):
        info["class_mro"] = [wire.qualname(t) for t in obj.__mro__]
    target = getattr(obj, "fn", obj)  # a Prefect flow or task wraps the function in .fn
    try:
        params = inspect.signature(target).parameters.values() if callable(target) else []
        info["parameters"] = [{"name": p.name, "kind": p.kind.name,
                               "default": None if p.default is p.empty else wire.encode(p.default),
                               "has_default": p.default is not p.empty} for p in params]
    except (TypeError, ValueError):
        info["parameters"] = None
    return info


class Host:
    def __init__(self, learner_dir: Path):
        self.dir = learner_dir
        self.modules: dict[str, object] = {}
        self._settings: list = []  # [key, Prefect settings] of the last flow run (see _run_settings)
        self.answers = None  # the answer pipe (see op_run)

    def resolve(self, ref: str):
        alias, _, rest = ref.partition(".")
        obj = self.modules[alias]
        for part in filter(None, rest.split(".")):
            obj = getattr(obj, part)
        return obj

    def op_load(self, file: str) -> dict:
        path = self.dir / file
        alias = f"m{next(_counter)}"
        spec = importlib.util.spec_from_file_location(f"learner_{Path(file).stem}_{alias}", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        if str(self.dir) not in sys.path:
            sys.path.insert(0, str(self.dir))
        spec.loader.exec_module(module)  # SystemExit and errors become answers in handle()
        self.modules[alias] = module
        # Its functions and classes, described now: a check asks for them next, a round trip each otherwise.
        described = {}
        for name, obj in list(vars(module).items())[:500]:
            if name.startswith("_") or not callable(obj):
                continue
            try:
                described[name] = _describe(obj)
            except Exception:  # noqa: BLE001 - a strange object: described when asked, as before
                pass
        return {"module": alias, "names": sorted(n for n in vars(module) if not n.startswith("__")),
                "described": described}

    def op_describe(self, ref: str) -> dict:
        try:
            obj = self.resolve(ref)
        except (AttributeError, KeyError):
            return {"exists": False}
        return _describe(obj)


    def op_call(self, ref: str, args: list, kwargs: dict) -> dict:
        fn = self.resolve(ref)
        return {"value": wire.encode(fn(*[wire.decode(a) for a in args],
                                        **{k: wire.decode(v) for k, v in kwargs.items()}))}

    def op_run(self, argv: list, env: dict | None = None) -> dict:
        """``python ARGV...`` in this fresh process, as a new Python would run it: a script file, ``-c code``
        or ``-m module``, as ``__main__`` with its own sys.argv and sys.path[0], then the same exit code (an
        uncaught error prints its traceback and gives 1; os._exit answers before the process ends). Saves
        a check the start of a new Python and its imports."""
        os.environ.update({str(k): str(v) for k, v in (env or {}).items()})
        if argv[0] == "-c":
            sys.argv, sys.path[0:0] = ["-c", *argv[2:]], [""]
        elif argv[0] == "-m":
            sys.argv, sys.path[0:0] = [argv[1], *argv[2:]], [os.getcwd()]
        else:
            sys.argv, sys.path[0:0] = [argv[0], *argv[1:]], [os.path.dirname(os.path.abspath(argv[0]))]
        real_exit, answers = os._exit, self.answers

        def _exit(code: int) -> None:  # the process ends at once, as it would: say how first
            try:
                sys.stdout.flush()
                sys.stderr.flush()
                answers.write(wire.dumps({"ok": {"code": int(code)}}))
            finally:
                real_exit(code)

        os._exit = _exit
        try:
            return {"code": self._run_main(argv)}
        finally:
            os._exit = real_exit

    @staticmethod
    def _run_main(argv: list) -> int:
        import runpy
        import threading

        script = os.path.abspath(argv[0])
        try:
            if argv[0] == "-c":
                exec(compile(argv[1], "<string>", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
            elif argv[0] == "-m":
                runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
            else:
                runpy.run_path(script, run_name="__main__")
            code = 0
        except SystemExit as e:
            code = int(e.code) if isinstance(e.code, int) else (0 if e.code is None else 1)
            if not isinstance(e.code, (int, type(None))):
                print(e.code, file=sys.stderr)
        except BaseException as e:  # noqa: BLE001 - as Python itself does: the traceback, then exit code 1
            tb = e.__traceback__
            while tb is not None and (tb.tb_frame.f_code.co_filename in (__file__, runpy.__file__)
                                      or tb.tb_frame.f_code.co_filename.startswith("<frozen")):
                tb = tb.tb_next
            traceback.print_exception(type(e), e, tb)
            code = 1
        for t in threading.enumerate():  # Python waits for the threads it started that are not daemons
            if t is not threading.current_thread() and not t.daemon:
                t.join()
        return code

    def _run_settings(self):
        """Prefect's settings for a check's flow run: read from this request's environment and working folder
        (the warm parent imported Prefect with other ones), with the flow-run heartbeat off (it makes a
        run wait up to a second at its end). Read once per process and Prefect environment: it costs 50 ms.
        Prefect's settings come from PREFECT_* variables and files (prefect.toml, pyproject.toml, .env, the
        profile) in the working folder and PREFECT_HOME: the key is those variables and that folder, so a
        check that changes only its own variables between runs reads them once."""
        from prefect.context import SettingsContext, get_settings_context
        from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY

        key = (tuple(sorted((k, v) for k, v in os.environ.items() if k.upper().startswith("PREFECT"))),
               os.getcwd(), tuple(file_stamp(name) for name in ("prefect.toml", "pyproject.toml", ".env")))
        context = get_settings_context()
        if self._settings[:1] != [key]:
            self._settings[:] = [key, context.settings.copy_with_update(
                updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})]
        return SettingsContext(profile=context.profile, settings=self._settings[1])

    def op_run_flow(self, ref: str, params: dict, tag: str = "", name: str = "") -> dict:
        flow = self.resolve(ref)
        if name:  # a check's run, named so the learner tells it from their own in the web UI
            flow = flow.with_options(flow_run_name=name)
        with self._run_settings():
            state = flow(**{k: wire.decode(v) for k, v in params.items()}, return_state=True)
            run_id = state.state_details.flow_run_id
            if tag and run_id:
                _tag_flow_run(run_id, tag)
        out = {"flow_run_id": str(run_id) if run_id else None,
               "state_type": state.type.value, "state_name": state.name, "error": ""}
        if not state.is_completed():
            try:
                exc = state.result(raise_on_failure=False)
                out["error"] = describe_exception(exc, self.dir) if isinstance(exc, BaseException) else (
                    state.message or state.name)
            except Exception as e:  # noqa: BLE001
                out["error"] = state.message or str(e)
        try:  # task run states reach the server as events, log lines in batches: send what is queued
            from prefect.events.worker import EventsWorker
            from prefect.logging.handlers import APILogWorker

            EventsWorker.drain_all(timeout=5, at_exit=False)
            _, unsent = APILogWorker.drain_all(timeout=5, at_exit=False)
            # The server stores log lines as it receives them: once every batch is sent, one read finds them all.
            out["logs_sent"] = not unsent
        except Exception:  # noqa: BLE001 - the check waits for the server to settle anyway
            pass
        return out

    def handle(self, request: dict) -> dict:
        op = request.get("op")
        env = request.get("env")
        if isinstance(env, dict):  # the check's environment for this call, exactly
            os.environ.clear()
            os.environ.update({str(k): str(v) for k, v in env.items()})
        method = getattr(self, f"op_{op}", None)
        if method is None:
            return {"error": f"unknown op {op!r}"}
        try:
            return {"ok": method(**request.get("args", {}))}
        except SystemExit as e:
            return {"exit": e.code if isinstance(e.code, (int, str, type(None))) else str(e.code)}
        except BaseException as e:  # noqa: BLE001 - every learner failure becomes an answer
            if isinstance(e, KeyboardInterrupt):
                raise
            return {"raised": exception_info(e, self.dir)}
        finally:
            sys.stdout.flush()
            sys.stderr.flush()


def _tag_flow_run(flow_run_id, tag: str) -> None:
    """Tag a check's flow run once it has ended, not with ``prefect.tags`` around it: every task run would
    carry the tag too, and Prefect asks the server for each tagged task whether the tag's concurrency limit
    lets it start (one more write to the server's SQLite database per task, colliding with the other runs'
    writes). A run that never ends keeps its name, ``check-...``."""
    from prefect.client.orchestration import get_client

    try:
        with get_client(sync_client=True) as client:
            client.update_flow_run(flow_run_id, tags=[tag])  # a run started by a call has no tags of its own
    except Exception:  # noqa: BLE001 - the tag only helps people find the run; the check needs it not
        pass


def main(req_fd: int, resp_fd: int, learner_dir: str) -> None:
    host = Host(Path(learner_dir).resolve())
    os.chdir(host.dir)
    requests = os.fdopen(req_fd, "rb")  # buffered: an unbuffered readline reads one byte per system call
    answers = host.answers = os.fdopen(resp_fd, "wb", buffering=0)
    answers.write(wire.dumps({"ready": os.getpid()}))
    while True:
        line = requests.readline()
        if not line:
            return
        try:
            answer = host.handle(wire.loads(line))
        except ValueError as e:
            answer = {"error": f"bad request: {e}"}
        try:
            answers.write(wire.dumps(answer))
        except (TypeError, ValueError) as e:
            answers.write(wire.dumps({"error": f"could not send the answer: {e}"}))


def _child(fds: list[int], learner_dir: str) -> None:
    """In a forked child: the passed pipes become its channel and its stdout/stderr; nothing else stays open."""
    req, resp, out = fds
    os.dup2(out, 1)
    os.dup2(out, 2)
    try:
        open_fds = [int(n) for n in os.listdir("/proc/self/fd")]
    except OSError:
        open_fds = list(range(3, 1024))
    for fd in open_fds:
        if fd > 2 and fd not in (req, resp):
            try:
                os.close(fd)
            except OSError:
                pass
    sys.stdout = os.fdopen(1, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)
    sys.stderr = os.fdopen(2, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)
    try:
        main(req, resp, learner_dir)
    finally:
        os._exit(0)


# What Prefect imports lazily on a flow's first run (fastapi.encoders alone is 0.5 s, to serialise the
# parameters): done once in the warm parent, so no learner process pays for it.
PREFECT_WARM_MODULES = ("prefect.flows", "prefect.tasks", "prefect.flow_engine", "prefect.task_engine",
                        "prefect.client.orchestration", "prefect.events.worker", "prefect.logging.handlers",
                        "prefect.states", "fastapi.encoders")
# ``prefect-worker`` in a preload: what a deployment check's learner process runs as well, `prefect deploy`
# and a process worker whose flow runs are forked from it (flowcamp.warmrun), with Prefect's integrations
# loaded (see _load_prefect_collections). 1-1.5 s more warm-up: worth it in the warm worker's learner parent,
# which lives across checks, not in a single check's.
PREFECT_WORKER = "prefect-worker"
PREFECT_WORKER_MODULES = ("prefect.cli._app", "prefect.cli.deploy", "prefect.cli.worker", "prefect.workers.process",
                          "prefect.deployments.runner", "prefect.engine")


def warm_up(preload: str) -> None:
    """Import what learner files will import (``preload``: comma-separated module names), and for Prefect
    what a first flow run would import and build. Starts no thread and talks to no server."""
    names = list(filter(None, preload.split(",")))
    worker = PREFECT_WORKER in names
    if worker:
        names.remove(PREFECT_WORKER)
    if "prefect" in names:
        names += PREFECT_WARM_MODULES + (PREFECT_WORKER_MODULES if worker else ())
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a module that cannot import here fails in the learner's file later
            pass
    if "duckdb" in names:
        warm_duckdb()
    if "prefect" in names:
        try:
            from prefect import flow, task

            @task
            def _step(x: int) -> int:
                return x

            @flow
            def _warm(x: int = 1) -> int:
                return _step(x)

            _warm.serialize_parameters({"x": 1})
        except Exception:  # noqa: BLE001 - only a warm-up
            pass
        if worker:
            _load_prefect_collections()


# A numerical library's thread pool, started as it loads, would make the warm parent unsafe to fork: each
# one is told to use the calling thread only (learner code here computes little; a fresh Python for heavy
# work would still get the usual pool).
ONE_THREAD_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _load_prefect_collections() -> None:
    """Load Prefect's installed integrations (prefect-dask, and with it distributed and numpy) as a worker
    or the CLI does on start, once: Prefect keeps them, so `prefect worker start` in a learner process
    starts 0.6-0.9 s sooner."""
    saved = {k: os.environ.get(k) for k in ONE_THREAD_ENV}
    os.environ.update(ONE_THREAD_ENV)
    try:
        from prefect._internal.plugins.collections import load_prefect_collections

        load_prefect_collections()
    except Exception:  # noqa: BLE001 - only a warm-up
        pass
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def zygote_main(sock_fd: int, preload: str) -> None:
    """A warm parent for learner processes: third-party imports done once, then one fork per request.

    It holds no check module, no expected value and no results channel: only what a learner's file would
    import anyway. Requests come on a Unix socket from the check process, each with three file descriptors
    (the child's request pipe, answer pipe and output pipe). Orphans of learner code come back to it (a
    child subreaper), and it kills them all when its check process tells it to, or goes away.
    """
    import socket

    from flowcamp import reaper

    warm_up(preload)
    reaper.become_subreaper()
    import gc

    gc.freeze()  # a learner child's garbage collections skip what the parent imported
    sock = socket.socket(fileno=sock_fd)
    sock.sendall(wire.dumps({"ready": os.getpid()}))
    while True:
        try:
            msg, fds, _flags, _addr = socket.recv_fds(sock, 65536, 3)
        except OSError:
            break
        if not msg:
            break
        request = wire.loads(msg)
        if request.get("op") in ("sweep", "reset"):
            spare = request.get("spare") if request["op"] == "sweep" else []
            reaper.kill_descendants(spare=tuple(int(p) for p in spare or ()), thorough=request["op"] == "reset")
            sock.sendall(wire.dumps({"swept": True} if request["op"] == "sweep" else {"reset": request.get("nonce")}))
            continue
        assert reaper.one_thread(), "a warm parent must not fork with threads running"
        pid = os.fork()
        if pid == 0:
            sock.close()
            _child(fds, request["dir"])
        for fd in fds:
            os.close(fd)
        reaper.reap()
        sock.sendall(wire.dumps({"pid": pid}))
    reaper.kill_descendants(thorough=True)
    os._exit(0)


if __name__ == "__main__":
    if sys.argv[1] == "zygote":
        zygote_main(int(sys.argv[2]), sys.argv[3])
    else:
        main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
