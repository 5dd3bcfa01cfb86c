"""Learner processes, seen from the trusted side: the warm parent they are forked from (:class:`Zygote`) and
the pipes a check talks to one of them through (:class:`Channel`). :mod:`flowcamp.checks.learner` builds
the check helpers on top.
"""

from __future__ import annotations

import os
import secrets
import select
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from flowcamp import proc, reaper, sandbox, wire

# The check process's own settings that a learner process must not see.
INTERNAL_ENV = ("FLOWCAMP_RESULTS", "FLOWCAMP_RESULTS_FD", "FLOWCAMP_HELDOUT_WAREHOUSE", "FLOWCAMP_HELDOUT_SEED",
                "FLOWCAMP_EXERCISE_SOURCE", "FLOWCAMP_SEED", "FLOWCAMP_CACHE", "FLOWCAMP_LEARNER_PRELOAD",
                sandbox.ENV, "FLOWCAMP_HIDDEN_CHECKS", "FLOWCAMP_HIDDEN_PACK")
# What a learner process may print for one request: all of it is kept (a check looks for a secret in it, and
# junk printed first must not push the secret out of sight); more stops the process and fails the check.
MAX_OUTPUT = 8 * 1024 * 1024
FLOODED = ("Your code printed more than {mb} MB while it was checked, and was stopped. Is there a print inside a "
           "loop that never ends?")
DEFAULT_MEMORY_MB = 2048


class LearnerError(AssertionError):
    """The learner's code did something that stops the check (it raised, it is missing, ...).

    It is an AssertionError so that it counts as a failed check, not a broken one.
    """


class LearnerTimeout(LearnerError):
    """The learner's process ran past its time limit and was stopped."""


_THREAD = threading.local()


_GENERATION = [0]


def something_changed() -> None:
    """Learner code ran (or a check ran a command that may write): what a check remembers about the learner's
    folder and repositories (e.g. git reads, see flowcamp.checks.git) must be asked afresh."""
    _GENERATION[0] += 1


def generation() -> int:
    return _GENERATION[0]


def learner_env() -> dict[str, str]:
    """The check's environment as the learner's code may see it (monkeypatch.setenv in a check reaches it),
    with what :func:`requests_env` adds for the calling thread."""
    env = {k: v for k, v in os.environ.items() if k not in INTERNAL_ENV}
    env.update(getattr(_THREAD, "extra", {}))
    return env


@contextmanager
def requests_env(extra: dict[str, str]):
    """``with requests_env({...}):`` what this thread asks of learner processes (loads, calls, flow runs) sees
    these variables too. For checks that run the learner's code in several threads at once, each with its own
    settings, where monkeypatch (one environment for the whole process) cannot tell them apart."""
    before = getattr(_THREAD, "extra", {})
    _THREAD.extra = {**before, **{k: str(v) for k, v in extra.items()}}
    try:
        yield
    finally:
        _THREAD.extra = before


def _can_fork() -> bool:
    return hasattr(os, "fork") and sys.platform.startswith("linux") and os.environ.get("FLOWCAMP_NO_FORK") != "1"


class Zygote:
    """The warm parent of learner processes. A check process starts one, or borrows the warm worker's, which
    lives across checks: it never runs learner code itself (it only forks), and between two checks the
    worker has it kill everything the last check's learner processes left (:meth:`reset`)."""

    def covers(self, preload: str) -> bool:
        """Has it imported everything ``preload`` asks for?"""
        return set(filter(None, preload.split(","))) <= set(self.preload.split(","))

    def __init__(self, preload: str):
        self.preload = preload
        ours, theirs = socket.socketpair()
        code = f"from flowcamp.learnerhost import zygote_main\nzygote_main({theirs.fileno()}, {preload!r})\n"
        # In cohort grading the learner processes' parent starts inside the sandbox (sandbox.wrap), so every
        # learner process it forks is in it too; locally wrap changes nothing.
        self.process = subprocess.Popen(sandbox.wrap(proc.python_code(code)), pass_fds=[theirs.fileno()],
                                        env=learner_env(),
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, close_fds=True)
        theirs.close()
        self.sock = ours
        self.owner = os.getpid()
        self.pids: tuple[int, ...] = (self.process.pid,)  # and, once ready, the parent itself (inside a sandbox
        # the started process is the sandbox's, and the parent is its child)
        self._ready = False
        self._pending = b""
        self._lock = threading.Lock()

    def _wait_ready(self) -> None:
        if not self._ready:
            self._note_ready(wire.loads(self._recv()))

    def _note_ready(self, answer: dict) -> None:
        self._ready = True
        pid = answer.get("ready")
        if isinstance(pid, int) and pid not in self.pids:
            self.pids = (*self.pids, pid)

    def _recv(self) -> bytes:
        while b"\n" not in self._pending:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise OSError("the learner processes' parent stopped")
            self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        return line + b"\n"

    def fork(self, learner_dir: Path, fds: list[int]) -> int:
        with self._lock:  # one request at a time on its socket, whichever thread asks
            self._wait_ready()
            socket.send_fds(self.sock, [wire.dumps({"op": "fork", "dir": str(learner_dir)})], fds)
            return int(wire.loads(self._recv())["pid"])

    def sweep(self, spare: tuple[int, ...] = ()) -> None:
        """Kill every learner process (and whatever they started) of the check that just ended, except the
        process trees of ``spare`` (learner processes that live for the whole check run)."""
        if self._ready and proc.pid_alive(self.process.pid):
            try:
                with self._lock:
                    self.sock.sendall(wire.dumps({"op": "sweep", "spare": list(spare)}))
                    self._recv()
            except OSError:
                pass

    def reset(self, timeout: float = 120.0) -> bool:
        """Between two checks (its owner, the worker): kill what the last check's learner processes left and
        prove it answers in step. False if it is gone, or out of step (a check was stopped halfway through a
        request): then replace it. Waits for it to finish warming up the first time."""
        nonce = secrets.token_hex(8)
        try:
            self.sock.settimeout(timeout)
            self.sock.sendall(wire.dumps({"op": "reset", "nonce": nonce}))
            while True:
                answer = wire.loads(self._recv())
                if "ready" in answer and not self._ready:
                    self._note_ready(answer)
                    continue
                self._ready = answer.get("reset") == nonce
                return self._ready
        except (OSError, ValueError):
            return False
        finally:
            try:
                self.sock.settimeout(None)
            except OSError:
                pass

    def close(self) -> None:
        """Its owner stops it; a check process that borrowed it only lets go of it."""
        self.sock.close()
        if os.getpid() != self.owner:
            return
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()


class Channel:
    """One learner process: requests go in, answers and the learner's output come out."""

    def __init__(self, learner_dir: Path, zygote: Zygote | None, timeout: float):
        req_r, self._req_w = os.pipe()
        self._resp_r, resp_w = os.pipe()
        out_r, out_w = os.pipe()
        self.timeout = timeout
        self.popen = None
        if zygote is not None:
            self.pid = zygote.fork(learner_dir, [req_r, resp_w, out_w])
        else:
            code = f"from flowcamp.learnerhost import main\nmain({req_r}, {resp_w}, {str(learner_dir)!r})\n"
            self.popen = subprocess.Popen(sandbox.wrap(proc.python_code(code)), pass_fds=[req_r, resp_w],
                                          env=learner_env(),
                                          cwd=learner_dir, stdin=subprocess.DEVNULL, stdout=out_w, stderr=out_w)
            self.pid = self.popen.pid
        for fd in (req_r, resp_w, out_w):
            os.close(fd)
        self._buffer = b""
        self._out: list[bytes] = []
        self._out_size = 0
        # The learner's output is read while waiting for an answer (so a chatty learner never blocks on a full
        # pipe), and drained after it: the learner process flushes its output before it answers, so what it
        # printed for a request is in the pipe by the time the answer arrives. No thread, no waiting.
        self._out_r = out_r
        self.flooded = False
        os.set_blocking(out_r, False)
        self.ready = self._answer()

    def _read_output(self) -> bool:
        """Read what is waiting on the output pipe; False once it is closed and empty."""
        while True:
            try:
                chunk = os.read(self._out_r, 65536)
            except BlockingIOError:
                return True
            except OSError:
                return False
            if not chunk:
                return False
            if self._out_size + len(chunk) > MAX_OUTPUT:
                self.flooded = True
                self.kill()
                return False
            self._out.append(chunk)
            self._out_size += len(chunk)

    def take_output(self) -> str:
        if self._out_r is not None and not self._read_output():
            os.close(self._out_r)
            self._out_r = None
        text = b"".join(self._out).decode("utf-8", errors="replace")
        self._out.clear()
        self._out_size = 0
        return text

    def _answer(self) -> dict:
        limit = int(os.environ.get("FLOWCAMP_MEMORY_MB", DEFAULT_MEMORY_MB)) * 1024 * 1024
        deadline = time.monotonic() + self.timeout
        while b"\n" not in self._buffer:
            watched = [self._resp_r] + ([self._out_r] if self._out_r is not None else [])
            ready, _, _ = select.select(watched, [], [], 0.2)
            if self._out_r is not None and self._out_r in ready and not self._read_output():
                os.close(self._out_r)
                self._out_r = None
            if self.flooded:
                raise LearnerError(FLOODED.format(mb=MAX_OUTPUT // (1024 * 1024)))
            if self._resp_r in ready:
                chunk = os.read(self._resp_r, 1 << 20)
                if not chunk:
                    raise LearnerError(self._died())
                self._buffer += chunk
                continue
            if reaper.tree_memory_bytes(self.pid, over=limit) > limit:
                self.kill()
                raise LearnerError(f"Your code used more than {limit // (1024 * 1024)} MB of memory and was "
                                   "stopped. Does it load a whole table when it needs a few rows, or keep "
                                   "adding to a list in a loop that never ends?")
            if time.monotonic() > deadline:
                self.kill()
                raise LearnerTimeout(f"Your code ran for more than {self.timeout:g} seconds and was stopped. "
                                   "Is there a loop that never ends, or code waiting for input()?")
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            return wire.loads(line)
        except ValueError:
            raise LearnerError("Your code wrote something the checks could not read on their own channel. "
                               "Leave file descriptors you did not open alone.") from None

    def _died(self) -> str:
        code = self.popen.wait(5) if self.popen else None
        return ("The Python process running your code stopped before it answered"
                + (f" (exit code {code})" if code is not None else "")
                + ". Does your code call os._exit(), or crash Python?")

    def request(self, op: str, **args) -> dict:
        something_changed()
        try:
            os.write(self._req_w, wire.dumps({"op": op, "args": args, "env": learner_env()}))
        except (BrokenPipeError, OSError):
            raise LearnerError(self._died()) from None
        return self._answer()

    def kill(self) -> None:
        for pid in [self.pid, *reaper.descendants(self.pid)]:
            try:
                os.kill(pid, 9)
            except (ProcessLookupError, PermissionError):
                pass
        if self.popen is not None:
            self.popen.wait()

    def close(self) -> None:
        self.kill()
        for fd in (self._req_w, self._resp_r, self._out_r):
            if fd is None:
                continue
            try:
                os.close(fd)
            except OSError:
                pass


def start_zygote() -> Zygote | None:
    """The check process's warm parent for learner processes, or None where fork cannot be used."""
    if not _can_fork():
        return None
    return Zygote(os.environ.get("FLOWCAMP_LEARNER_PRELOAD", "duckdb"))
