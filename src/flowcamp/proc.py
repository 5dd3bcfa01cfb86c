"""Process plumbing, in one place: run with a time limit, kill a process tree, start a detached service,
and the environments that children (Python, git) get.

Nothing here knows about exercises or kinds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from flowcamp.places import trace  # noqa: F401 - where the rest of flowcamp finds it

# Blocks a slow optional import that the Jupyter stack drags in (about 1 s on every `import prefect`):
# jsonschema falls back gracefully when it is missing. See docs/benchmarks.
FAST_IMPORTS = "import sys; sys.modules['rfc3987_syntax'] = None\n"

# Git reads code to run from a repository's own config (fsmonitor, hooks, external diff, textconv, filters,
# aliases) and from the user's. Every git command flowcamp runs on a learner's repository turns those off.
SAFE_GIT_CONFIG = (
    "-c", "core.fsmonitor=false", "-c", f"core.hooksPath={os.devnull}", "-c", "core.sshCommand=false",
    "-c", "diff.external=", "-c", "core.pager=cat", "-c", "core.editor=false", "-c", "sequence.editor=false",
    "-c", "protocol.ext.allow=never", "-c", "uploadpack.packObjectsHook=", "-c", "core.alternateRefsCommand=",
)


@dataclass
class Completed:
    """What a limited run gave: its output (stdout and stderr together), exit code, whether it timed out,
    and what it wrote on its side channel (if it was given one)."""

    output: str
    code: int | None
    timed_out: bool
    channel: bytes = b""


def python_code(code: str) -> list[str]:
    """A command that runs ``code`` in this Python, with the fast-import preamble first."""
    return [sys.executable, "-c", FAST_IMPORTS + code]


def child_env(base: dict[str, str] | None = None, *, pycache: Path | None = None,
              drop: tuple[str, ...] = (), **extra: str) -> dict[str, str]:
    """An environment for a Python child: bytecode cached (even where PYTHONDONTWRITEBYTECODE is set, else
    Prefect is recompiled on every check), UTF-8 output, no prompts."""
    env = dict(os.environ if base is None else base)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    for name in drop:
        env.pop(name, None)
    if pycache is not None:
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    # Tools installed beside this Python (alembic, which nbgrader calls by name; prefect) are found even when
    # flowcamp was started as .venv/bin/flowcamp without activating the environment.
    bindir = str(Path(sys.executable).parent)
    if bindir not in env.get("PATH", "").split(os.pathsep):
        env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env.setdefault("PYTHONIOENCODING", "utf-8")
    env["GIT_TERMINAL_PROMPT"] = "0"
    env.update(extra)
    return env


def git_env(base: dict[str, str] | None = None, *, keep_user_config: bool = False) -> dict[str, str]:
    """An environment for git: no inherited GIT_* variables, no prompts, no system config; the user's global
    config only when asked (the learner's own identity), never for reading a learner's repository."""
    env = {k: v for k, v in (os.environ if base is None else base).items() if not k.startswith("GIT_")}
    env.update({"GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C", "GIT_OPTIONAL_LOCKS": "0"})
    if not keep_user_config:
        env["GIT_CONFIG_GLOBAL"] = os.devnull
    elif "GIT_CONFIG_GLOBAL" in (os.environ if base is None else base):
        env["GIT_CONFIG_GLOBAL"] = (os.environ if base is None else base)["GIT_CONFIG_GLOBAL"]
    return env


_GIT_EXE: dict[str, str] = {}


def git_exe() -> str:
    """git's full path, looked up once per PATH (a check runs git a hundred times; each lookup by name tries
    every PATH folder first)."""
    path = os.environ.get("PATH", "")
    if path not in _GIT_EXE:
        import shutil

        _GIT_EXE[path] = shutil.which("git") or "git"
    return _GIT_EXE[path]


def safe_git(repo: Path, *args: str) -> list[str]:
    """A git command line for reading a repository that someone else controls (see SAFE_GIT_CONFIG)."""
    return [git_exe(), *SAFE_GIT_CONFIG, "-C", str(repo), *args]


def _new_group_kwargs(detached: bool = False) -> dict:
    if os.name == "posix":
        return {"start_new_session": True}
    flags = subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
    return {"creationflags": flags | (0x00000008 if detached else 0)}  # DETACHED_PROCESS


def run_limited(args: list[str], cwd: Path, env: dict, limit: float, channel_env: str | None = None) -> Completed:
    """Run a command with a time limit; on timeout, stop it and everything it started.

    With ``channel_env``, the child also gets the write end of a pipe, its number in that environment
    variable: a side channel apart from its stdout and stderr (the check process reports on it).
    """
    read_fd = write_fd = None
    kwargs = _new_group_kwargs()
    if channel_env:
        read_fd, write_fd = os.pipe()
        env = {**env, channel_env: str(write_fd)}
        kwargs["pass_fds"] = (write_fd,)
    reader = Drain(read_fd) if read_fd is not None else None
    proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, **kwargs)
    if write_fd is not None:
        os.close(write_fd)
    try:
        out, _ = proc.communicate(timeout=limit)
        code, timed_out = proc.returncode, False
    except subprocess.TimeoutExpired:
        kill_tree(proc.pid)
        out, _ = proc.communicate()
        code, timed_out = None, True
    finally:
        kill_tree(proc.pid)  # anything the command left running in its group goes too
    return Completed(out.decode("utf-8", errors="replace"), code, timed_out, reader.result() if reader else b"")


class Drain:
    """Reads a pipe to its end in a thread, so the writer never blocks on a full pipe."""

    def __init__(self, fd: int):
        import threading

        self._chunks: list[bytes] = []
        self._thread = threading.Thread(target=self._run, args=(fd,), daemon=True)
        self._thread.start()

    def _run(self, fd: int) -> None:
        with os.fdopen(fd, "rb") as fh:
            for chunk in iter(lambda: fh.read1(65536), b""):
                self._chunks.append(chunk)

    def result(self, timeout: float = 5.0) -> bytes:
        self._thread.join(timeout)
        return b"".join(self._chunks)


def kill_tree(pid: int) -> None:
    """Stop a process group started by :func:`run_limited` or :func:`start_detached`, at once."""
    try:
        if os.name == "posix":
            os.killpg(pid, signal.SIGKILL)
        else:
            subprocess.run(["taskkill", "/F", "/T", "/PID", str(pid)], capture_output=True)
    except (ProcessLookupError, PermissionError, OSError):
        pass


def start_detached(args: list[str], env: dict, log: Path, cwd: Path) -> subprocess.Popen:
    """Start a long-lived service in its own session, its output going to ``log``, holding none of our pipes."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as fh:
        return subprocess.Popen(args, env=env, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=cwd, close_fds=True, **_new_group_kwargs(detached=True))


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    if os.name != "posix":
        out = subprocess.run(["tasklist", "/FI", f"PID eq {pid}"], capture_output=True, text=True).stdout
        return str(pid) in out
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped) is not alive
        with open(f"/proc/{pid}/stat", encoding="utf-8") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def terminate(pid: int, grace: float = 10.0) -> None:
    """Ask a process group to stop; kill it if it has not stopped after ``grace`` seconds."""
    try:
        if os.name == "posix":
            os.killpg(pid, signal.SIGTERM)
        else:
            subprocess.run(["taskkill", "/T", "/PID", str(pid)], capture_output=True)
    except (ProcessLookupError, PermissionError, OSError):
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return
        time.sleep(0.1)
    kill_tree(pid)


def process_started(pid: int | None) -> float | None:
    """When a process started (an opaque number, the same every time it is asked for the same process), or None
    if it is gone or this cannot be told. Recorded beside a pid, it tells a reused pid from the process."""
    if not pid:
        return None
    if os.path.isdir("/proc/self"):  # Linux: cheap, no import
        try:
            with open(f"/proc/{pid}/stat", encoding="utf-8") as fh:
                return float(fh.read().split(")")[-1].split()[19])
        except (OSError, IndexError, ValueError):
            return None
    try:
        import psutil  # a dependency of the Jupyter stack; about 0.1 s to import

        return psutil.Process(pid).create_time()
    except Exception:  # noqa: BLE001 - not installed, NoSuchProcess, AccessDenied: nothing to tell
        return None


def same_process(pid: int | None, started: float | None) -> bool:
    """Whether ``pid`` is alive and still the process that was recorded as started at ``started``."""
    if not pid_alive(pid):
        return False
    now = process_started(pid)
    return started is None or now is None or abs(now - started) < 1.0


class FileLock:
    """A lock shared by every process of this computer through a file: one holder at a time, released when the
    holder releases it or its process ends, even by a crash. fcntl.flock on POSIX, msvcrt.locking on Windows.
    Not re-entrant: a second FileLock on the same file waits, even in the same process."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._fh = None

    def acquire(self, timeout: float | None = None, on_wait: Callable[[float], None] | None = None,
                poll: float = 0.1) -> bool:
        """Take the lock; wait up to ``timeout`` seconds (None: as long as it takes, 0: not at all), calling
        ``on_wait(seconds waited)`` while waiting. True if taken."""
        if self._fh is not None:
            raise RuntimeError(f"{self.path} is already locked by this FileLock")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+b")  # noqa: SIM115 - held while locked
        t0 = time.monotonic()
        while not _try_lock(fh):
            waited = time.monotonic() - t0
            if timeout is not None and waited >= timeout:
                fh.close()
                return False
            if on_wait:
                on_wait(waited)
            time.sleep(poll)
        self._fh = fh
        return True

    def release(self) -> None:
        fh, self._fh = self._fh, None
        if fh is None:
            return
        try:
            if os.name == "posix":
                import fcntl

                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
            else:
                import msvcrt

                fh.seek(0)
                msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            pass
        fh.close()

    @property
    def held(self) -> bool:
        return self._fh is not None

    def __enter__(self) -> "FileLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _try_lock(fh) -> bool:
    try:
        if os.name == "posix":
            import fcntl

            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            import msvcrt

            fh.seek(0)
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        return True
    except OSError:  # BlockingIOError on POSIX, PermissionError on Windows: someone else holds it
        return False
