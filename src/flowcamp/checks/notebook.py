"""Run a learner's notebook in a Jupyter kernel of its own, and bring named answers back as plain data.

``notebook.run("explore.ipynb", answers=["n_active"])`` (the ``notebook`` fixture) copies the learner's
folder, starts an ipykernel there with ``FLOWCAMP_WAREHOUSE`` at a fresh copy of the held-out warehouse,
runs every code cell in order (going on after errors, as nbgrader does), then one more cell the learner
never sees, which exports the named variables with :func:`flowcamp.wire.encode`. The check decodes that
JSON with :func:`flowcamp.wire.decode` (never pickle, never eval) and compares it, outside the kernel,
with values it worked out itself. With ``-p flowcamp.checks.notebook`` (the notebook kind asks for it),
:func:`pytest_sessionstart` starts the kernel, the slow part, before pytest collects the checks.
"""

from __future__ import annotations

import ast
import atexit
import hashlib
import hmac
import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from flowcamp import explain, proc, reaper, sandbox, wire
from flowcamp.checks.learner import DEFAULT_MEMORY_MB, LearnerError, learner_env

MIME = "application/vnd.flowcamp.answers+json"
DEFAULT_TIMEOUT = 600.0  # the check run's own time limit (the runner's) usually stops a stuck cell first
NOT_WRITTEN = "NotImplementedError"  # an answer cell still as the starter has it
_KERNEL_MAIN = "from ipykernel.kernelapp import launch_new_instance\nlaunch_new_instance()\n"
_JUPYTER_DIRS = (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"), ("IPYTHONDIR", "ipython"),
                 ("JUPYTER_RUNTIME_DIR", "runtime"))


MISSING = type("Missing", (), {"__repr__": lambda self: "<missing>"})()  # an answer the notebook did not set


@dataclass(frozen=True)
class CellError:
    """A cell that raised: its number (counting every cell from 1), error, message, is it an answer cell."""

    cell: int
    name: str
    message: str
    answer: bool = False

    def describe(self) -> str:
        return f"{self.name}: {self.message}" if self.message else self.name


@dataclass
class NotebookRun:
    """A run of the learner's notebook: each answer (a value, or MISSING), the cells that raised, the cell
    that sets each answer, and ``problem`` when the run went wrong (the kernel died, no answers came)."""

    file: str
    answers: dict[str, object]
    cell_errors: list[CellError] = field(default_factory=list)
    defined_in: dict[str, int] = field(default_factory=dict)
    problem: str | None = None

    def error_in(self, cell: int | None) -> CellError | None:
        return next((e for e in self.cell_errors if e.cell == cell), None)

    def crash_note(self, name: str) -> str | None:
        """'Cell 7, your answer above this check, stopped with an error: ...' when the cell that sets
        ``name`` raised (a starter's NotImplementedError is not a crash: the answer is not written yet)."""
        err = self.error_in(self.defined_in.get(name))
        if err is None or err.name == NOT_WRITTEN:
            return None
        where = (f"The cell where you set {name}" if err.answer else f"The cell that sets {name}") + \
            f" (cell {err.cell} from the top, counting text cells)"
        note = f"{where} stopped with an error: {err.describe()}\n"
        note += explain.unfinished_result(err.describe()) or \
            "Fix that cell first (run it in your notebook to see the whole error)."
        earlier = [e for e in self.cell_errors if e.cell < err.cell and not e.answer and e.name != NOT_WRITTEN]
        if earlier and err.name == "NameError":
            note += f"\nCell {earlier[0].cell} stopped with an error before it: {earlier[0].describe()}"
        return note

    def answer(self, name: str, missing: str | None = None):
        """The value of ``name``; a failed check in plain words when the notebook did not set it."""
        if self.problem:
            raise LearnerError(self.problem)
        value = self.answers.get(name, MISSING)
        if value is MISSING:
            raise LearnerError(self.crash_note(name) or missing or f"{name} is not set: write it in its cell of "
                               f"{self.file}, in place of raise NotImplementedError(), named exactly {name}.")
        return value

    @contextmanager
    def checking(self, name: str):
        """Around a check's asserts on ``name``: if one fails and the cell that sets ``name`` raised, say so
        instead (that error is what the learner has to fix first)."""
        try:
            yield
        except AssertionError as e:
            note = None if self.problem else self.crash_note(name)
            if note and str(e) != note:
                raise LearnerError(note) from None
            raise


# ------------------------------------------------------------------------------------ the kernel


def _connection_info(home: Path) -> dict:
    """Where the kernel listens: Unix sockets in our own folder where possible, else five free local ports."""
    info = {"key": secrets.token_hex(32), "signature_scheme": "hmac-sha256", "kernel_name": "python3"}
    names = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")
    if os.name == "posix" and len(str(home / "k")) < 90:
        return {**info, "transport": "ipc", "ip": str(home / "k"), **dict(zip(names, range(1, 6)))}
    ports = []
    for _ in names:  # free ports, closed again for the kernel to take (a small race, as in jupyter_client)
        with socket.create_server(("127.0.0.1", 0)) as s:
            ports.append(s.getsockname()[1])
    return {**info, "transport": "tcp", "ip": "127.0.0.1", **dict(zip(names, ports))}


class _Stopped(Exception):
    pass  # the kernel stopped (or was stopped) before the notebook finished


class Kernel:
    """An ipykernel in its own process, in ``cwd``, with ``env``: started at once, connected on first use.
    The Jupyter protocol (signed JSON frames over ZeroMQ) in a few lines: jupyter_client's imports are slow."""

    def __init__(self, cwd: Path, env: dict[str, str], home: Path):
        home.mkdir(parents=True, exist_ok=True)
        self.info = _connection_info(home)
        (home / "kernel.json").write_text(json.dumps(self.info), encoding="utf-8")
        args = [*proc.python_code(_KERNEL_MAIN), "-f", str(home / "kernel.json"),
                f"--IPKernelApp.parent_handle={os.getpid()}", "--HistoryManager.enabled=False"]
        self._log = open(home / "kernel.log", "wb")  # noqa: SIM115 - closed in close()
        self.popen = subprocess.Popen(sandbox.wrap(args), cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=self._log,
                                      stderr=subprocess.STDOUT, close_fds=True)
        self._session, self._ctx, self._shell, self._iopub = secrets.token_hex(16), None, None, None

    def _sign(self, frames: list[bytes]) -> bytes:
        return hmac.new(self.info["key"].encode(), b"".join(frames), hashlib.sha256).hexdigest().encode()

    def send(self, msg_type: str, content: dict) -> str:
        msg_id = secrets.token_hex(16)
        header = {"msg_id": msg_id, "session": self._session, "username": "flowcamp", "msg_type": msg_type,
                  "date": datetime.now(timezone.utc).isoformat(), "version": "5.3"}
        frames = [json.dumps(x).encode() for x in (header, {}, {}, content)]
        self._shell.send_multipart([b"<IDS|MSG>", self._sign(frames), *frames])
        return msg_id

    def receive(self, sock, timeout: float) -> dict | None:
        """The next message on ``sock`` signed with the kernel's key, as plain JSON; None after timeout."""
        try:
            frames = sock.recv_multipart() if sock.poll(int(timeout * 1000)) else []
            at = frames.index(b"<IDS|MSG>")
            sig, parts = frames[at + 1], frames[at + 2:at + 6]
            if len(parts) != 4 or not hmac.compare_digest(sig, self._sign(parts)):
                return None
            header, parent, _meta, content = (json.loads(p) for p in parts)
            return {"msg_type": header["msg_type"], "parent_id": parent.get("msg_id"), "content": content}
        except (ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError):
            return None

    def connect(self, deadline: float) -> None:
        """Wait until the kernel answers on its shell channel and its IOPub messages reach us."""
        import zmq

        self._ctx = zmq.Context()
        self._shell, self._iopub = self._ctx.socket(zmq.DEALER), self._ctx.socket(zmq.SUB)
        i = self.info
        for sock, port in ((self._shell, i["shell_port"]), (self._iopub, i["iopub_port"])):
            sock.linger, sock.maxmsgsize = 0, 256 << 20
            sock.connect(f"ipc://{i['ip']}-{port}" if i["transport"] == "ipc" else f"tcp://{i['ip']}:{port}")
        self._iopub.setsockopt(zmq.SUBSCRIBE, b"")
        while True:
            self.send("kernel_info_request", {})
            reply = self.receive(self._shell, 0.5)
            if reply is not None and reply["msg_type"] == "kernel_info_reply" and self.receive(self._iopub, 0.5):
                return
            problem = ("The Jupyter kernel for your notebook could not start." if self.popen.poll() is not None
                       else "The Jupyter kernel for your notebook did not start in time."
                       if time.monotonic() > deadline else None)
            if problem:
                raise LearnerError(problem)

    def died(self) -> str | None:
        code = self.popen.poll()
        return None if code is None else (f"The Python kernel running your notebook stopped (exit code {code}): "
                                          "does a cell call os._exit(), or crash Python?")

    def execute(self, code: str, deadline: float, store_history: bool = True) -> list[dict]:
        """Run one cell; its error and display_data outputs, as Jupyter sends them."""
        msg_id = self.send("execute_request", {"code": code, "silent": False, "store_history": store_history,
                                               "user_expressions": {}, "allow_stdin": False, "stop_on_error": False})
        limit = int(os.environ.get("FLOWCAMP_MEMORY_MB", DEFAULT_MEMORY_MB)) * 1024 * 1024
        outputs: list[dict] = []
        next_look = 0.0
        while True:
            msg = self.receive(self._iopub, 0.2)
            if msg is not None and msg["parent_id"] == msg_id and isinstance(msg["content"], dict):
                kind, content = msg["msg_type"], msg["content"]
                if kind == "status" and content.get("execution_state") == "idle":
                    return outputs
                if kind in ("error", "display_data") and len(outputs) < 1000:  # not what a cell prints
                    outputs.append({**content, "output_type": kind})
            now = time.monotonic()
            if now >= next_look:
                next_look = now + 0.5
                problem = self.died()
                if problem is None and reaper.tree_memory_bytes(self.popen.pid, over=limit) > limit:
                    problem = (f"Your notebook used more than {limit // (1024 * 1024)} MB of memory and was "
                               "stopped. Does a cell load a whole table when it needs a few rows?")
                if problem is None and now > deadline:
                    problem = "Your notebook ran too long and was stopped. Look for a loop that never ends."
                if problem:
                    self.close()
                    raise _Stopped(problem)

    def close(self) -> None:
        for pid in [*reaper.descendants(self.popen.pid), self.popen.pid]:
            try:
                os.kill(pid, 9)
            except OSError:  # gone already
                pass
        self.popen.wait()
        if self._ctx is not None:
            self._ctx.destroy(linger=0)
            self._ctx = None
        self._log.close()


def _source(cell: dict) -> str:
    return "".join(map(str, cell["source"])) if isinstance(cell.get("source"), list) else str(cell.get("source", ""))


def _meta(cell: dict) -> dict:
    meta = cell.get("metadata")
    nbg = meta.get("nbgrader") if isinstance(meta, dict) else None
    return nbg if isinstance(nbg, dict) else {}


def assigned_names(source: str) -> set[str]:
    """The names a cell sets (assignments, imports, defs), read from its text without running it."""
    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except (SyntaxError, ValueError):
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
    return names


def restore_locked(cells: list[dict], release: list[dict]) -> None:
    """Put the course's own text back into locked cells (as nbgrader does), matched by grade_id."""
    locked = {_meta(c).get("grade_id"): _source(c) for c in release if _meta(c).get("locked")}
    for cell in cells:
        if _meta(cell).get("grade_id") in locked:
            cell["source"] = locked[_meta(cell)["grade_id"]]


def read_cells(path: Path, name: str) -> list[dict]:
    try:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
            raise ValueError
    except FileNotFoundError:
        raise LearnerError(f"{name} is missing from your exercise folder. `uv run flowcamp reset` restores the "
                           "starter (your files are backed up first).") from None
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise LearnerError(f"{name} is not a valid notebook. Undo your last change in your editor, or "
                           "`uv run flowcamp reset` for a fresh one (yours is backed up first).") from None
    return cells


_EXPORT = r'''
def __flowcamp_export__(names, mime):
    import datetime as dt, decimal, itertools
    from IPython import get_ipython
    from IPython.display import publish_display_data
    from flowcamp import wire

    def plain(v, depth=0):  # numpy and pandas scalars, subclasses of built-in types: as the built-in type
        t = type(v)
        if depth > 20 or v is None or t in (bool, int, float, str, bytes, decimal.Decimal, dt.date, dt.datetime):
            return v
        if (getattr(t, "__module__", "") or "").startswith("numpy") and getattr(v, "shape", None) == ():
            return plain(v.item(), depth + 1)
        for base in (int, float, str):
            if isinstance(v, base):
                return base(v)
        if isinstance(v, dt.date):  # a pandas Timestamp, ...
            return (dt.datetime(v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond, v.tzinfo)
                    if isinstance(v, dt.datetime) else dt.date(v.year, v.month, v.day))
        if isinstance(v, dict):
            return {k: plain(x, depth + 1) for k, x in v.items()}
        if isinstance(v, (list, tuple, set, frozenset)):
            items = [plain(x, depth + 1) for x in itertools.islice(v, 200000)]
            return items if isinstance(v, list) else tuple(items) if isinstance(v, tuple) else set(items)
        return v

    ns, out = get_ipython().user_ns, {}
    for name in names:
        try:
            out[name] = {"value": wire.encode(plain(ns[name]))} if name in ns else {"missing": True}
        except Exception:
            out[name] = {"value": wire.encode(ns[name])}
    publish_display_data({mime: out})
'''


def export_code(names: list[str]) -> str:
    return _EXPORT + f"\n__flowcamp_export__({names!r}, {MIME!r})\ndel __flowcamp_export__\n"


def _decoded(item) -> object:
    try:
        return wire.decode(item["value"]) if isinstance(item, dict) and "value" in item else MISSING
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError):
        return wire.Opaque("?", "(a value the checks could not read)")


def read_answers(outputs: list[dict], names: list[str]) -> dict[str, object] | None:
    """The exported answers, decoded as plain data; None if the export cell gave none."""
    for out in outputs:
        data = out.get("data") if out["output_type"] == "display_data" else None
        payload = data.get(MIME) if isinstance(data, dict) else None
        if isinstance(payload, dict):
            return {name: _decoded(payload.get(name)) for name in names}
    return None


def execute_notebook(kernel: Kernel, cells: list[dict], names: list[str], file: str,
                     deadline: float) -> NotebookRun:
    """Run every code cell in order, going on after errors; then export ``names``."""
    run = NotebookRun(file, {n: MISSING for n in names})
    kernel.connect(deadline)
    try:
        for number, cell in enumerate(cells, 1):
            if cell.get("cell_type") != "code":
                continue
            source = _source(cell)
            run.defined_in.update((name, number) for name in assigned_names(source) & set(names))
            err = next((o for o in kernel.execute(source, deadline) if o["output_type"] == "error"), None)
            if err is not None:
                run.cell_errors.append(CellError(number, str(err.get("ename", "Error")), str(err.get("evalue", "")),
                                                 bool(_meta(cell).get("solution"))))
        outputs = kernel.execute(export_code(names), deadline, store_history=False)
        answers = read_answers(outputs, names)
        if answers is None:
            err = next((o for o in outputs if o["output_type"] == "error"), None)
            why = f" ({err.get('ename')}: {err.get('evalue')})" if err else ""
            run.problem = f"The checks could not read your answers from the notebook{why}. Did a cell change Jupyter?"
        else:
            run.answers = answers
    except _Stopped as stop:
        run.problem = str(stop)
    return run


class Notebooks:
    """What the ``notebook`` fixture gives: runs of the learner's notebooks, each in a fresh copy of the
    exercise folder with a kernel of its own. A run is done once per check run, and its checks share it."""

    def __init__(self, learner_dir: Path, workdir: Path, course_dir: Path | None = None,
                 timeout: float = DEFAULT_TIMEOUT):
        self.learner_dir, self.workdir, self.course_dir, self.timeout = learner_dir, workdir, course_dir, timeout
        self.pristine: Path | None = None  # the held-out warehouse: the fixture sets it
        self._ready: tuple[Kernel, Path, Path] | None = None
        self._runs: dict[tuple, NotebookRun] = {}
        self._count = 0

    def prestart(self) -> None:  # a kernel for the next run, warming up meanwhile
        if self._ready is None:
            self._ready = self._prepare()

    def _prepare(self) -> tuple[Kernel, Path, Path]:
        """A copy of the learner's folder and a kernel started in it; the warehouse path it will use."""
        home = self.workdir / f"nb{self._count}"
        self._count += 1
        folder, warehouse = home / "work", home / "warehouse.duckdb"
        shutil.copytree(self.learner_dir, folder, symlinks=True,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", ".git"))
        env = proc.child_env(learner_env(), JUPYTER_PLATFORM_DIRS="1", PYDEVD_DISABLE_FILE_VALIDATION="1",
                             FLOWCAMP_WAREHOUSE=str(warehouse), **{v: str(home / d) for v, d in _JUPYTER_DIRS})
        return Kernel(folder, env, home), folder, warehouse

    def run(self, file: str, answers: list[str] | tuple[str, ...]) -> NotebookRun:
        """Run the learner's ``file`` (a copy) from the top, on a copy of the held-out warehouse; export
        ``answers``, the names of the variables the checks compare."""
        names = list(answers)
        if not all(isinstance(n, str) and n.isidentifier() for n in names):
            raise ValueError(f"answers must be variable names, not {names!r}")
        key = (file, tuple(names))
        if key not in self._runs:
            self._runs[key] = self._run(file, names)
        return self._runs[key]

    def _run(self, file: str, names: list[str]) -> NotebookRun:
        (kernel, folder, warehouse), self._ready = self._ready or self._prepare(), None
        try:
            cells = read_cells(folder / file, file)
            release = self.course_dir / file if self.course_dir else None
            if release is not None and release.is_file():
                restore_locked(cells, read_cells(release, file))
            shutil.copyfile(self.pristine, warehouse)
            return execute_notebook(kernel, cells, names, file, time.monotonic() + self.timeout)
        finally:
            kernel.close()

    def close(self) -> None:
        ready, self._ready = self._ready, None
        if ready is not None:
            ready[0].close()


_STATE: dict = {"notebooks": None}


def notebooks(workdir: Path | None = None) -> Notebooks:
    """This check process's Notebooks (made on first use), for the learner's folder the runner named."""
    if _STATE["notebooks"] is None:
        learner_dir, source = os.environ.get("FLOWCAMP_LEARNER_DIR"), os.environ.get("FLOWCAMP_EXERCISE_SOURCE")
        if not learner_dir:
            raise RuntimeError("FLOWCAMP_LEARNER_DIR is not set: checks must be run by flowcamp")
        if workdir is None:
            workdir = Path(tempfile.mkdtemp(prefix="flowcamp-nb-"))
            atexit.register(shutil.rmtree, workdir, True)
        _STATE["notebooks"] = Notebooks(Path(learner_dir), workdir, Path(source) if source else None)
        atexit.register(_STATE["notebooks"].close)
    return _STATE["notebooks"]


def pytest_sessionstart(session) -> None:
    """Start the kernel before pytest collects the checks, beside pytest's temporary folder (the runner's)."""
    if os.environ.get("FLOWCAMP_LEARNER_DIR"):
        base = getattr(session.config.option, "basetemp", None)
        notebooks(Path(base).parent / "notebooks" if base else None).prestart()
