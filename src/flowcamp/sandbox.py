"""Isolation for learner processes when an instructor grades a cohort (``flowcamp grade``).

On a learner's own laptop the check runtime keeps learner code out of the process that decides the verdict; the
learner can still reach their own files by other means, which is fine: they are theirs. A grader runs many
learners' code on one machine, so there every learner process also gets, where the platform allows:

* a **mount namespace** (bubblewrap, ``bwrap``): the whole file system read-only; the grading output (gradebook,
  every other submission), the instructor's hidden checks, the grader's own home folder and ``/tmp`` hidden
  behind empty folders; only the submission's exercise folders, a scratch folder and a throwaway home writable;
  no capabilities (so root inside cannot undo a mount or read an undumpable process's memory);
* **cgroups**: a memory limit and a process limit shared by every learner process of one grading lane (a fork
  storm stops at the limit; ``RLIMIT_NPROC`` would do nothing for root);
* the lane's own **network namespace** (set up by the grader for the whole lane, :func:`lane_prefix`): loopback
  only, so learner code reaches the lane's Prefect server and nothing else.

The grader describes the sandbox once, in the environment of the checks it runs (``FLOWCAMP_SANDBOX``, JSON);
every place that starts learner code (the warm parent of learner processes, a fresh learner process,
``learner.run``, a notebook's kernel) passes its command through :func:`wrap`. Without that variable, ``wrap``
changes nothing: local checks are as before.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

ENV = "FLOWCAMP_SANDBOX"

# Joins the cgroups named before "--" (their cgroup.procs files), then runs the command after it. A shell,
# because it is tiny and needs nothing: the process moves itself, so its children start inside.
_JOIN = 'while [ "$1" != "--" ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"'


@dataclass
class Spec:
    bwrap: str | None = None
    hide: list[str] = field(default_factory=list)  # covered by an empty, private folder
    readonly: list[str] = field(default_factory=list)  # shown again read-only (inside a hidden one)
    writable: list[str] = field(default_factory=list)  # shown read-write
    hide_after: list[str] = field(default_factory=list)  # hidden again inside a writable one
    readonly_after: list[str] = field(default_factory=list)  # and shown read-only inside that
    cgroups: list[str] = field(default_factory=list)  # cgroup.procs files to join
    drop_caps: bool = True

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls, env: dict | None = None) -> "Spec | None":
        raw = (os.environ if env is None else env).get(ENV)
        if not raw:
            return None
        try:
            data = json.loads(raw)
            return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
        except (ValueError, TypeError):
            raise RuntimeError(f"{ENV} is not a sandbox description flowcamp wrote; refusing to run learner "
                               "code without its sandbox") from None


def wrap(args: list[str], env: dict | None = None) -> list[str]:
    """``args`` as run inside the sandbox the environment describes (unchanged when there is none)."""
    spec = Spec.from_env(env)
    if spec is None:
        return list(args)
    out = list(args)
    if spec.bwrap:
        out = [*bwrap_args(spec), "--", *out]
    if spec.cgroups:
        out = ["/bin/sh", "-c", _JOIN, "sh", *spec.cgroups, "--", *out]
    return out


def bwrap_args(spec: Spec) -> list[str]:
    a = [spec.bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--tmpfs", "/dev/shm", "--tmpfs", "/tmp"]
    for p in spec.hide:
        a += ["--tmpfs", p]
    for p in dict.fromkeys([*spec.readonly, *_python_places()]):  # shown again even under /tmp or a home
        a += ["--ro-bind", p, p]
    for p in spec.writable:
        a += ["--bind", p, p]
    for p in spec.hide_after:
        a += ["--tmpfs", p]
    for p in spec.readonly_after:
        a += ["--ro-bind", p, p]
    if spec.drop_caps:
        a += ["--cap-drop", "ALL"]
    return a


def _python_places() -> list[str]:
    """What learner code needs to run at all, wherever it is installed: this Python, its environment, flowcamp."""
    here = str(Path(__file__).resolve().parents[1])
    return [p for p in (sys.prefix, sys.base_prefix, here) if p and os.path.isdir(p)]


# ------------------------------------------------------------------------------------ what this machine can do


@dataclass
class Abilities:
    """What isolation this machine gives, found by trying it (a platform can have the tool and forbid its use,
    as recent Ubuntu does for unprivileged user namespaces)."""

    bwrap: str | None
    netns: list[str] | None  # the prefix that starts a lane in its own network namespace
    cgroup: str | None  # "v1" or "v2"
    notes: list[str]

    def summary(self) -> str:
        parts = [f"files: {'own mount namespace (bubblewrap)' if self.bwrap else 'NOT isolated'}",
                 f"network: {'loopback only' if self.netns else 'NOT blocked'}",
                 f"memory and process limits: {('cgroups ' + self.cgroup) if self.cgroup else 'polling only'}"]
        return "; ".join(parts)


def _works(args: list[str]) -> bool:
    try:
        return subprocess.run(args, capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def probe() -> Abilities:
    if os.environ.get("FLOWCAMP_GRADE_ISOLATION") == "none":  # what a machine without any of it gets (tests)
        return Abilities(bwrap=None, netns=None, cgroup=None,
                         notes=["Isolation is turned off (FLOWCAMP_GRADE_ISOLATION=none): learner code runs as "
                                "your user, with your files and network."])
    notes: list[str] = []
    bw = shutil.which("bwrap")
    bwrap = None
    if bw and _works([bw, "--ro-bind", "/", "/", "--dev", "/dev", "--tmpfs", "/tmp", "--cap-drop", "ALL",
                      "--", "/bin/true"]):
        bwrap = bw
    elif bw:
        notes.append("bubblewrap is installed but may not be used here (on recent Ubuntu, AppArmor blocks the "
                     "unprivileged user namespaces it needs: see the instructors' page). Learner code can read "
                     "other files of this machine's user while it is graded.")
    else:
        notes.append("bubblewrap (`bwrap`) is not installed, so learner code can read other files of this "
                     "machine's user while it is graded. Install it (Debian/Ubuntu: `apt install bubblewrap`).")
    netns = None
    if bwrap and _works([bwrap, "--dev-bind", "/", "/", "--unshare-net", "--", "/bin/true"]):
        netns = [bwrap, "--dev-bind", "/", "/", "--unshare-net", "--unshare-pid", "--proc", "/proc",
                 "--die-with-parent", "--"]
    elif shutil.which("unshare") and _works(["unshare", "--net", "--map-root-user", "/bin/true"]):
        netns = ["unshare", "--net", "--map-root-user", "--kill-child", "--"]
        notes.append("Grading lanes get their own network through `unshare` (bubblewrap is not usable).")
    else:
        notes.append("Learner code can reach the network while it is graded: this machine does not allow a "
                     "private network namespace.")
    cgroup = cgroup_version()
    if cgroup is None:
        notes.append("cgroups cannot be used here: memory is limited by watching each learner process, and "
                     "there is no process limit (a fork storm is stopped by the time limit).")
    return Abilities(bwrap=bwrap, netns=netns, cgroup=cgroup, notes=notes)


# --------------------------------------------------------------------------------------------- cgroups

_V1 = Path("/sys/fs/cgroup")


def cgroup_version() -> str | None:
    """'v2' or 'v1' where flowcamp may make cgroups with memory and pids limits; None otherwise."""
    root = _V1
    if (root / "cgroup.controllers").is_file():
        ctl = (root / "cgroup.controllers").read_text().split()
        if {"memory", "pids"} <= set(ctl) and os.access(root, os.W_OK):
            return "v2"
        return None
    if (root / "memory").is_dir() and (root / "pids").is_dir() and os.access(root / "pids", os.W_OK) \
            and os.access(root / "memory", os.W_OK):
        return "v1"
    return None


class Cgroup:
    """One grading lane's cgroup for its learner processes: a memory and a process limit, and a way to kill
    every process in it at once (what a process tree walk cannot do during a fork storm)."""

    def __init__(self, name: str, memory_bytes: int, max_pids: int, version: str):
        self.version = version
        if version == "v2":
            self.dirs = [_V1 / name]
        else:
            self.dirs = [_V1 / "memory" / name, _V1 / "pids" / name]
        for d in self.dirs:
            d.mkdir(exist_ok=True)
        if version == "v2":
            (self.dirs[0] / "memory.max").write_text(str(memory_bytes))
            try:
                (self.dirs[0] / "memory.swap.max").write_text("0")
            except OSError:
                pass
            (self.dirs[0] / "pids.max").write_text(str(max_pids))
        else:
            mem, pids = self.dirs
            (mem / "memory.limit_in_bytes").write_text(str(memory_bytes))
            try:
                (mem / "memory.memsw.limit_in_bytes").write_text(str(memory_bytes))
            except OSError:
                pass
            (pids / "pids.max").write_text(str(max_pids))

    @classmethod
    def existing(cls, name: str, version: str) -> "Cgroup":
        """One made earlier (to kill what is in it and remove it); nothing is created."""
        cg = cls.__new__(cls)
        cg.version = version
        cg.dirs = [_V1 / name] if version == "v2" else [_V1 / "memory" / name, _V1 / "pids" / name]
        return cg

    @property
    def procs_files(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self.dirs]

    def pids(self) -> set[int]:
        out: set[int] = set()
        for f in self.procs_files:
            try:
                out |= {int(x) for x in Path(f).read_text().split()}
            except (OSError, ValueError):
                pass
        return out

    def oom_killed(self) -> int:
        """How many times the memory limit killed a process (since the cgroup was made)."""
        name = "memory.events" if self.version == "v2" else "memory.oom_control"
        try:
            for line in (self.dirs[0] / name).read_text().splitlines():
                if line.startswith("oom_kill "):
                    return int(line.split()[1])
        except (OSError, ValueError):
            pass
        return 0

    def tasks(self) -> int:
        """How many tasks (processes and threads, zombies included) count against the process limit."""
        d = self.dirs[0] if self.version == "v2" else self.dirs[1]
        try:
            return int((d / "pids.current").read_text())
        except (OSError, ValueError):
            return len(self.pids())

    def kill_all(self, timeout: float = 15.0, keep: set[int] = frozenset()) -> int:
        """Kill every process in the cgroup (again and again: a fork storm keeps making new ones), and collect
        the dead (a killed process still counts against the limit until its parent, often this process as
        their subreaper, collects it): the next submission starts with the whole limit."""
        import time

        from flowcamp import reaper

        killed = 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pids = self.pids() - set(keep)
            killed += reaper.kill_pids(pids)
            reaper.reap()
            if not pids and (keep or self.tasks() == 0):
                break
            time.sleep(0.02)
        return killed

    def remove(self) -> None:
        self.kill_all()
        for d in self.dirs:
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    import time

                    time.sleep(0.05)


def lane_prefix(abilities: Abilities) -> list[str]:
    """The command prefix that starts a grading lane in its own network namespace (and, with bubblewrap, its
    own process namespace: when the lane ends, everything it started ends with it)."""
    return list(abilities.netns or [])


def python() -> str:
    return sys.executable
