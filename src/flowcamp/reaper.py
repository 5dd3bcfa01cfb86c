"""Making sure nothing a learner's code started outlives the check that started it (Linux first, with a
portable fallback).

On Linux the process that starts learner processes becomes a *child subreaper*: a learner process that
leaves its session (``start_new_session``, double fork) is re-parented to it instead of to init, so it stays
among its descendants, and :func:`kill_descendants` finds it by walking the tree's children lists in /proc
(a scan of every process where the kernel has no such lists, and as a check run's last sweep). Elsewhere,
process groups are the best there is, and the docs say so.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
LINUX = sys.platform.startswith("linux")


def _prctl(option: int, value: int) -> bool:
    if not LINUX:
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def one_thread() -> bool:
    """Is this process safe to fork: one Python thread, and on Linux one thread of any kind (a library's own
    threads, DuckDB's say, would be copied without their state into the child)?"""
    import threading

    if threading.active_count() != 1:
        return False
    try:
        return len(os.listdir("/proc/self/task")) == 1 if LINUX else True
    except OSError:
        return True


def become_subreaper() -> bool:
    """Orphaned descendants come to this process, not to init. True where that is possible (Linux)."""
    return _prctl(PR_SET_CHILD_SUBREAPER, 1)


def make_undumpable() -> bool:
    """Other processes of the same user cannot ptrace this one or read its memory or file descriptors."""
    return _prctl(PR_SET_DUMPABLE, 0)


def _parents() -> dict[int, int]:
    """pid -> parent pid for every process we can see (Linux /proc)."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 1 and fields[0] != b"Z":
            out[int(name)] = int(fields[1])
    return out


def _children_files() -> bool:
    """Does this kernel list each thread's children in /proc/PID/task/TID/children (CONFIG_PROC_CHILDREN)?"""
    return LINUX and os.path.exists(f"/proc/self/task/{os.getpid()}/children")


_FAST = _children_files()


def _state(pid: int) -> bytes:
    """A process's state letter (b'Z' for a zombie, b'' if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return b""
    return stat[stat.rfind(b")") + 2:][:1]


def _walk(pid: int, spare: tuple[int, ...]) -> tuple[list[int], bool]:
    """The living descendants of ``pid`` (but not ``spare`` and theirs), read from the children lists of the
    tree's own threads: a few small reads, where a scan of /proc reads every process on the machine (the
    cost of closing each learner process). Also: did it meet a zombie? A parent that is dying hands its
    children to the subreaper while the lists are read, so a child can be missed once: look again then."""
    out: list[int] = []
    zombie = False
    todo, seen = [pid], {pid}
    while todo:
        p = todo.pop()
        try:
            tids = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{p}/task/{tid}/children", "rb") as fh:
                    kids = [int(k) for k in fh.read().split()]
            except (OSError, ValueError):
                continue
            for k in kids:
                if k in seen or k in spare:
                    continue
                seen.add(k)
                state = _state(k)
                if state == b"Z":
                    zombie = True
                elif state:
                    out.append(k)
                todo.append(k)
    return out, zombie


def descendants(pid: int, spare: tuple[int, ...] = ()) -> list[int]:
    """Every living descendant of ``pid`` (Linux; empty elsewhere), except ``spare`` and their own
    descendants."""
    if not LINUX:
        return []
    if _FAST:
        return _walk(pid, spare)[0]
    return _scan(pid, spare)


def _scan(pid: int, spare: tuple[int, ...]) -> list[int]:
    """descendants() by reading every process's parent in /proc: sure, but its cost grows with the machine."""
    parents = _parents()
    children: dict[int, list[int]] = {}
    for child, parent in parents.items():
        children.setdefault(parent, []).append(child)
    out, todo = [], [c for c in children.get(pid, []) if c not in spare]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += [c for c in children.get(p, []) if c not in spare]
    return out


def kill_descendants(pid: int | None = None, keep: tuple[int, ...] = (), spare: tuple[int, ...] = (),
                     thorough: bool = False) -> int:
    """SIGKILL every descendant of ``pid`` (default: this process) except ``keep`` and the whole process trees
    of ``spare``; repeat until none is left (a process may fork while we look). Returns how many were killed.
    ``thorough``: end with a scan of every process on the machine (the last sweep of a check run)."""
    pid = os.getpid() if pid is None else pid
    killed: set[int] = set()
    again = 2  # a zombie seen: look twice more at most (one that a kept process never collects stays)
    for _ in range(20):
        if _FAST:
            found, zombie = _walk(pid, spare)
        else:
            found, zombie = _scan(pid, spare), False
        found = [p for p in found if p not in keep]
        if found:
            kill_pids(found)  # a killed process may still be listed while it dies: killed again, counted once
            killed.update(found)
        reap()
        if not found and (not zombie or again == 0):
            break
        again -= 0 if found else 1
    if thorough and _FAST:
        for _ in range(20):
            found = [p for p in _scan(pid, spare) if p not in keep]
            if not found:
                break
            kill_pids(found)
            killed.update(found)
            reap()
    return len(killed)


def kill_pids(pids) -> int:
    """SIGKILL each of ``pids`` that is still there; how many were."""
    killed = 0
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
            killed += 1
        except (ProcessLookupError, PermissionError):
            pass
    return killed


def parents() -> dict[int, int]:
    """pid -> parent pid of every living process (Linux)."""
    return _parents() if LINUX else {}


def reap() -> None:
    """Collect exited children so they do not stay as zombies."""
    if os.name != "posix":
        return
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def tree_memory_bytes(pid: int, over: int = 0) -> int:
    """Memory a process and its descendants hold of their own (Linux; 0 where it cannot be read): their
    private pages, not the ones a forked learner process still shares with its warm parent (Prefect, DuckDB:
    150 MB or more that the learner's code did not use). Where the kernel cannot say (no smaps_rollup), the
    resident size. ``over``: when their resident size (cheap to read, and never less) is at most this, that
    is the answer, without the dearer count."""
    if not LINUX:
        return 0
    tree = [pid, *descendants(pid)]
    resident = sum(_statm_rss(p) for p in tree)
    if resident <= over:
        return resident
    total = 0
    for p in tree:
        try:
            with open(f"/proc/{p}/smaps_rollup", "rb") as fh:
                fields = dict(line.split(b":", 1) for line in fh.read().splitlines()[1:] if b":" in line)
            total += sum(int(fields[k].split()[0]) for k in (b"Private_Clean", b"Private_Dirty")) * 1024
        except (OSError, KeyError, IndexError, ValueError):
            total += _statm_rss(p)
    return total


def _statm_rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


def kill_marked(marker: str) -> int:
    """SIGKILL every process whose environment holds ``marker`` (e.g. 'FLOWCAMP_RUN_TOKEN=ab12...'): the
    processes a check started that escaped its process tree when the check itself was killed (Linux)."""
    if not LINUX:
        return 0
    needle = marker.encode() + b"\0"
    killed = 0
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as fh:
                env = fh.read() + b"\0"
        except OSError:
            continue
        if needle in env:
            try:
                os.kill(int(name), signal.SIGKILL)
                killed += 1
            except (ProcessLookupError, PermissionError):
                pass
    return killed
