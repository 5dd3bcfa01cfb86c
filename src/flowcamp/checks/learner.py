"""The trusted side of a learner process: checks ask it to import the learner's files and call their
functions, and get plain data back. The learner's code never runs in the check's own process.

A check process starts one warm parent (a *zygote*, :func:`flowcamp.learnerhost.zygote_main`) that imports
the third-party modules learner files use, then forks a fresh learner process for each ``learner.load``.
Where fork is not available (Windows, macOS) or ``FLOWCAMP_NO_FORK=1``, each load starts a new Python
instead: slower, same results. Everything a check started is killed when the check ends.
"""

from __future__ import annotations

import builtins
import subprocess
from contextlib import contextmanager
import sys
from pathlib import Path

from flowcamp import proc, reaper, sandbox, wire
from flowcamp.checks.processes import (DEFAULT_MEMORY_MB, INTERNAL_ENV, MAX_OUTPUT, Channel,  # noqa: F401 - for checks
                                       LearnerError, LearnerTimeout, Zygote, learner_env, something_changed, start_zygote)

class RemoteException(Exception):
    """An exception raised in the learner's process, as plain data: its type's names, message and place."""

    type_name: str = "Exception"
    mro: tuple[str, ...] = ()
    where: str = ""

    def __str__(self) -> str:
        return self.args[0] if self.args else ""

    def is_a(self, name: str) -> bool:
        return any(q == name or q.rsplit(".", 1)[-1] == name for q in self.mro)


_EXC_TYPES: dict[tuple[str, ...], type] = {}


def remote_exception(info: dict) -> RemoteException:
    """A local stand-in for the learner's exception: `isinstance(err, KeyError)` works for built-in bases."""
    mro = tuple(str(q) for q in info.get("mro", ()))
    cls = _EXC_TYPES.get(mro)
    if cls is None:
        base = next((getattr(builtins, q) for q in mro if "." not in q and isinstance(getattr(builtins, q, None), type)
                     and issubclass(getattr(builtins, q), BaseException) and q not in ("BaseException", "object")),
                    Exception)
        bases = (RemoteException,) if base is Exception else (RemoteException, base)
        try:
            cls = type(str(info.get("type", "Exception")), bases, {})
        except TypeError:  # a built-in base that cannot be mixed in
            cls = type(str(info.get("type", "Exception")), (RemoteException,), {})
        _EXC_TYPES[mro] = cls
    exc = cls(str(info.get("message", "")))
    exc.type_name, exc.mro, exc.where = str(info.get("type", "")), mro, str(info.get("where", ""))
    return exc


# Learner processes that live for the whole check run (see Learner.live_for_the_run).
_LIVING: set[int] = set()


class Remote:
    """A module of the learner's, or something in it, seen from the check: its type, value and signature,
    as the learner's process describes them. Calling it runs it over there."""

    def __init__(self, learner: "Learner", channel: Channel, ref: str, info: dict, label: str):
        self._learner, self._channel, self._ref, self._info, self._label = learner, channel, ref, info, label

    def __getattr__(self, name: str) -> "Remote":
        if name.startswith("_"):
            raise AttributeError(name)
        info = self._learner._describe(self._channel, f"{self._ref}.{name}")
        if not info.get("exists"):
            raise AttributeError(f"{self._label} has no attribute {name!r}")
        return Remote(self._learner, self._channel, f"{self._ref}.{name}", info, name)

    def has(self, name: str) -> bool:
        try:
            getattr(self, name)
            return True
        except AttributeError:
            return False

    @property
    def __name__(self) -> str:  # noqa: A003 - checks print fn.__name__
        return self._info.get("name") or self._label

    @property
    def value(self):
        """The object itself when it is plain data (numbers, strings, lists, dicts...), else an Opaque."""
        return wire.decode(self._info.get("value"))

    @property
    def type_name(self) -> str:
        return self._info.get("type", "")

    @property
    def is_class(self) -> bool:
        return bool(self._info.get("is_class"))

    @property
    def is_callable(self) -> bool:
        return bool(self._info.get("callable"))

    @property
    def parameters(self) -> list[str] | None:
        """Parameter names of a function (or of a Prefect flow's function); None if it has no signature."""
        params = self._info.get("parameters")
        return None if params is None else [p["name"] for p in params]

    def isinstance_of(self, name: str) -> bool:
        """Is the object an instance of the class with this qualified name ('prefect.flows.Flow') or bare name?"""
        return any(q == name or q.rsplit(".", 1)[-1] == name for q in self._info.get("type_mro", []))

    def subclass_of(self, name: str) -> bool:
        return self.is_class and any(q == name or q.rsplit(".", 1)[-1] == name
                                     for q in self._info.get("class_mro", []))

    def __instancecheck__(self, obj) -> bool:
        """`isinstance(err, mod.MissingSettingError)` for an error the learner's code raised."""
        mro = self._info.get("class_mro") or []
        return isinstance(obj, RemoteException) and bool(mro) and mro[0] in obj.mro

    def __call__(self, *args, **kwargs):
        return self._learner.call(self, *args, **kwargs)

    def __repr__(self) -> str:
        return f"<learner's {self._label}: {self.type_name}>"


class Learner:
    """The learner's copy of the exercise, and the learner processes that run its code."""

    def __init__(self, directory: Path, zygote=None, timeout: float = 600):
        """``zygote``: the warm parent to fork learner processes from, or a function that gives it when
        the first file is loaded, or None to start a new Python for each load."""
        self.dir = Path(directory).resolve()
        self._zygote_source = zygote
        self._zygote: Zygote | None = zygote if isinstance(zygote, Zygote) else None
        self._timeout = timeout
        self._channels: list[Channel] = []
        self._output: list[str] = []

    # ------------------------------------------------------------------------------- files, as data
    def path(self, name: str) -> Path:
        return self.dir / name

    def exists(self, name: str) -> bool:
        return (self.dir / name).exists()

    def read(self, name: str) -> str:
        p = self.dir / name
        if not p.is_file():
            raise LearnerError(
                f"{name} is missing from your exercise folder. If you deleted or renamed it, "
                "`uv run flowcamp reset` restores the starter (your files are backed up first).")
        try:
            return p.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise LearnerError(f"{name} is not a text file saved as UTF-8. Save it again from your editor as UTF-8.") from None

    # ------------------------------------------------------------------------- code, in its process
    def _describe(self, channel: Channel, ref: str) -> dict:
        """What the learner's process says about ``ref``: from what it sent with the load when nothing has run
        since (a call or a flow run may change the module), else asked."""
        known = getattr(channel, "described", {})
        if ref in known:
            return known[ref]
        return self._ask(channel, "describe", ref=ref).get("ok", {})

    def _ask(self, channel: Channel, op: str, **args) -> dict:
        if op != "describe":
            channel.described = {}  # the learner's code runs: what it said before may be out of date
        proc.trace(f"learner: ask {op}")
        try:
            answer = channel.request(op, **args)
        finally:  # what it printed counts even when it died before answering
            self._output.append(channel.take_output())
        proc.trace(f"learner: answered {op}")
        if "error" in answer:
            raise RuntimeError(f"the learner process could not do {op}: {answer['error']}")
        if len(answer) != 1 or not isinstance(answer.get("ok", {}), dict) or not (
                {"ok", "raised", "exit"} & set(answer)) or ("raised" in answer and not isinstance(answer["raised"], dict)):
            channel.kill()
            raise LearnerError("Your code wrote on the channel the checks use to talk to it, so its answers "
                               "cannot be trusted. Leave file descriptors you did not open alone.")
        return answer

    def load(self, name: str) -> Remote:
        """Import the learner's file in a fresh learner process (it runs top to bottom, as `python name` would)."""
        self.read(name)  # a clear message if it is missing
        self._warm_parent()
        try:
            channel = Channel(self.dir, self._zygote, self._timeout)
            proc.trace("learner: channel open")
        except OSError:  # the warm parent is gone (killed, crashed): the same work in a fresh Python
            self._zygote, self._zygote_source = None, None
            channel = Channel(self.dir, None, self._timeout)
        self._channels.append(channel)
        if getattr(self, "_lives", False):
            _LIVING.add(channel.pid)
        answer = self._ask(channel, "load", file=name)
        if "exit" in answer:
            raise LearnerError(
                f"{name} called exit() (code {answer['exit']}) while it was being imported. "
                "Code that should only run as a script belongs under `if __name__ == \"__main__\":`.")
        if "raised" in answer:
            raise LearnerError(f"{name} failed while it was being imported, at {answer['raised']['where']}")
        alias = answer["ok"]["module"]
        described = answer["ok"].get("described")
        if isinstance(described, dict):
            channel.described = {f"{alias}.{k}": v for k, v in described.items()
                                 if isinstance(k, str) and isinstance(v, dict) and v.get("exists") is True}
        info = {"exists": True, "type": "module", "type_mro": ["module"], "name": Path(name).stem}
        return Remote(self, channel, alias, info, name)

    def get(self, module: Remote, attr: str, what: str = "function") -> Remote:
        """The learner's function (or class, or value) called ``attr``, with a clear message if it is missing."""
        try:
            return getattr(module, attr)
        except AttributeError:
            raise LearnerError(f"{module._label} has no {what} called `{attr}`. Check the name: it must be "
                               f"spelled exactly `{attr}`.") from None

    def call(self, fn: Remote, *args, **kwargs):
        """Call the learner's function in its process; if it raises, fail with where and what (the learner's
        exception, as a RemoteException, is the LearnerError's __cause__)."""
        answer = self._ask(fn._channel, "call", ref=fn._ref, args=[wire.encode(a) for a in args],
                           kwargs={k: wire.encode(v) for k, v in kwargs.items()})
        if "exit" in answer:
            raise LearnerError(f"`{fn.__name__}` called exit() (code {answer['exit']}): a function should "
                               "return a value or raise an error, not end the program.")
        if "raised" in answer:
            err = remote_exception(answer["raised"])
            raise LearnerError(f"`{fn.__name__}` raised an error at {err.where}") from err
        return wire.decode(answer["ok"]["value"])

    def run_flow(self, flow: Remote, tag: str = "", name: str = "", **params) -> dict:
        """Run a Prefect flow of the learner's in its process (tagged ``tag`` and named ``name`` if given);
        returns its flow run id, state and error."""
        answer = self._ask(flow._channel, "run_flow", ref=flow._ref, tag=tag, name=name,
                           params={k: wire.encode(v) for k, v in params.items()})
        if "raised" in answer:
            err = remote_exception(answer["raised"])
            if err.is_a("TypeError"):
                raise LearnerError(f"The flow could not be called with {sorted(params)}: {err}") from err
            raise LearnerError(f"The flow could not start: {err.where}") from err
        if "exit" in answer:
            raise LearnerError(f"The flow called exit() (code {answer['exit']}) instead of finishing.")
        return answer["ok"]

    def run(self, args: list[str], env: dict[str, str] | None = None, timeout: float = 60,
            input: str | None = None) -> subprocess.CompletedProcess:
        """Run a command in the learner's folder (``python`` means this Python); it and all it started end
        with it."""
        args = [sys.executable if a == "python" else a for a in args]
        something_changed()
        if input is None and args[0] == sys.executable:
            done = self._run_python(args, env or {}, timeout)
            if done is not None:
                return done
        try:
            done = subprocess.run(sandbox.wrap(args), cwd=self.dir, env={**learner_env(), **(env or {})}, capture_output=True,
                                  text=True, timeout=timeout, input=input)
        except subprocess.TimeoutExpired:
            raise LearnerError(f"`{' '.join(args[1:] if args[0] == sys.executable else args)}` ran for more "
                               f"than {timeout:g} seconds and was stopped. Is there a loop that never ends?") from None
        finally:
            reaper.kill_descendants(keep=self._keep())
        self._output.append(done.stdout + done.stderr)
        return done

    def _run_python(self, args: list[str], env: dict[str, str], timeout: float):
        """``python script.py`` (or ``-c``, ``-m``) in a learner process forked from the warm parent, in a few
        milliseconds where a new Python takes a tenth of a second or more: the same exit code, and its output
        (both streams, in the order printed, as a terminal shows them) as stdout. None where it cannot be (no
        warm parent, or options this does not copy): then a new Python runs it."""
        argv = args[1:]
        if not argv or (argv[0].startswith("-") and (argv[0] not in ("-c", "-m") or len(argv) < 2)):
            return None
        zygote = self._warm_parent()
        if zygote is None:
            return None
        try:
            channel = Channel(self.dir, zygote, timeout)
        except OSError:
            return None
        try:
            answer = channel.request("run", argv=argv, env=env)
        except LearnerTimeout:
            raise LearnerError(f"`{' '.join(args[1:])}` ran for more than {timeout:g} seconds and was "
                               "stopped. Is there a loop that never ends?") from None
        finally:
            output = channel.take_output()
            channel.close()
            reaper.kill_descendants(keep=self._keep())
        self._output.append(output)
        code = answer.get("ok", {}).get("code") if isinstance(answer.get("ok"), dict) else None
        if not isinstance(code, int) or "error" in answer:
            raise RuntimeError(f"the learner process could not run {' '.join(argv[:2])}: {answer}")
        return subprocess.CompletedProcess(args, code, output, "")

    def _keep(self) -> tuple[int, ...]:
        """The check's warm parent: never swept, even by a learner that did not use it (else every later load
        of the check would start a fresh Python)."""
        z = self._warm_parent()
        return z.pids if z is not None else ()

    def _warm_parent(self):
        """The warm parent to fork learner processes from (started on first use), or None for a new Python."""
        if self._zygote is None and callable(self._zygote_source):
            self._zygote = self._zygote_source()
        return self._zygote

    @property
    def output(self) -> str:
        """Everything the learner's code printed in this check so far."""
        return "".join(self._output)

    def take_output(self) -> str:
        out = "".join(self._output)
        self._output.clear()
        return out

    def close(self) -> None:
        """Stop every learner process of this check, and everything they started (but not the processes of a
        learner that lives for the whole check run: it closes last)."""
        for channel in self._channels:
            channel.close()
            _LIVING.discard(channel.pid)
        self._channels.clear()
        spare = tuple(_LIVING)
        if self._zygote is not None:
            self._zygote.sweep(spare)
        reaper.kill_descendants(keep=self._keep(), spare=spare)

    @contextmanager
    def elsewhere(self, folder: Path):
        """``with learner.elsewhere(copy) as other:`` a learner for the learner's files copied to ``folder``
        (the same warm parent); what its code prints counts as this learner's output. Its processes end with
        the block (and, like any learner's close, so do this check's other learner processes)."""
        other = Learner(Path(folder), self._zygote or self._zygote_source, self._timeout)
        try:
            yield other
        finally:
            self._output.append(other.take_output())
            other.close()

    @contextmanager
    def staged(self, folder: Path, course_dir: Path, given: tuple[str, ...] | list[str]):
        """``with learner.staged(tmp_path / "run", COURSE_DIR, ["steps.py"]) as staged:`` a learner for a copy
        of the learner's folder in which the files named in ``given`` (helpers the course provides, which a
        learner could have changed) are the course's own, from ``course_dir``; their code runs there."""
        import shutil

        folder = Path(folder)
        shutil.copytree(self.dir, folder, symlinks=True, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", ".git", "*.duckdb*"))
        for name in given:
            target = folder / name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
            src = Path(course_dir) / name
            if src.is_dir():
                shutil.copytree(src, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copyfile(src, target)
        with self.elsewhere(folder) as other:
            yield other

    def live_for_the_run(self) -> "Learner":
        """Mark this learner's processes as living for the whole check run: other learners' close spares them."""
        self._lives = True
        return self
