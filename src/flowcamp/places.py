"""Where the course and a workspace are, found with ``os.path`` alone; and the timing trace.

The command's front door (:mod:`flowcamp.launch`) needs the workspace before it imports anything else, so
this module imports nothing but ``os``. :mod:`flowcamp.course` and :mod:`flowcamp.workspace` find them the
same way through it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

STATE_DIR = ".flowcamp"


def _cwd() -> str | None:
    try:
        return os.getcwd()
    except OSError:  # the folder the terminal is in was deleted
        return None


def course_root() -> str | None:
    """The folder that holds ``exercises/`` and ``pyproject.toml``: $FLOWCAMP_COURSE, else the repository this
    package sits in, else the current folder. None when there is none."""
    env = os.environ.get("FLOWCAMP_COURSE")
    candidates = [env] if env else []
    here = os.path.dirname(os.path.realpath(__file__))
    while True:
        candidates.append(here)
        parent = os.path.dirname(here)
        if parent == here:
            break
        here = parent
    cwd = _cwd()
    if cwd is not None:
        candidates.append(cwd)
    for cand in candidates:
        if os.path.isdir(os.path.join(cand, "exercises")) and os.path.isfile(os.path.join(cand, "pyproject.toml")):
            return cand
    return None


def workspace_root(explicit: str | os.PathLike | None, course: Callable[[], str | os.PathLike | None]) -> str | None:
    """--workspace, else $FLOWCAMP_WORKSPACE, else a workspace above the current folder, else ``workspace`` in
    the course (``course()`` gives its folder; it is asked only then). None when the course is not found."""
    if explicit:
        return os.path.expanduser(os.fspath(explicit))
    env = os.environ.get("FLOWCAMP_WORKSPACE")
    if env:
        return os.path.expanduser(env)
    cwd = _cwd()
    if cwd is not None:
        here = os.path.realpath(cwd)
        while True:
            if os.path.isfile(os.path.join(here, STATE_DIR, "workspace.json")):
                return here
            parent = os.path.dirname(here)
            if parent == here:
                break
            here = parent
    root = course()
    return None if root is None else os.path.join(os.fspath(root), "workspace")


def trace(label: str, env: dict | None = None) -> None:
    """With FLOWCAMP_TRACE=FILE, append a timestamped line (wall clock, pid, label): how the benchmarks see
    where a check's time goes across its processes. Costs nothing when unset."""
    path = (os.environ if env is None else env).get("FLOWCAMP_TRACE")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"{time.time():.4f} {os.getpid()} {label}\n")
