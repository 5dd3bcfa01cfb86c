"""A learner's own runs of their code, outside the checks: `flowcamp run FILE`, and the `prefect.toml` files
that let a plain `python pipeline.py` (or VS Code's Run button) find the workspace's Prefect server.

Prefect 3 reads `prefect.toml` from the current folder only, so flowcamp writes one (the server's address,
nothing else, and no secret) into the workspace's top folder and into every exercise folder whose kind needs
the server: a run started from either talks to the workspace's server with nothing to paste. The address is
stable (see :mod:`flowcamp.server`); the files are rewritten whenever flowcamp learns a new one. `.env` stays
the learner's, for secrets (the secrets module teaches it).

`flowcamp run FILE` is the way the lessons teach: it starts the server if it is not running (the file
imports Prefect), runs the file with this Python, passes its output through, and when it fails on an error
flowcamp recognises (warehouse locked by a notebook, server unreachable) ends with a plain sentence.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import deque
from pathlib import Path
from typing import Callable

from flowcamp import explain, proc, server
from flowcamp.kinds import kind_of
from flowcamp.workspace import Workspace

PREFECT_TOML = "prefect.toml"
MARK = "# Written by flowcamp"
_IMPORTS_PREFECT = re.compile(r"^\s*(from|import)\s+prefect\b", re.MULTILINE)


def prefect_toml_text(url: str) -> str:
    return (f"{MARK}: it points Prefect at your workspace's own local server, so a flow you run from this\n"
            "# folder (`uv run python pipeline.py`, or VS Code's Run button) shows in its web UI. flowcamp rewrites\n"
            "# it when the address changes. Secrets do not belong here: they go in .env (never committed).\n"
            f"[api]\nurl = \"{url}/api\"\n")


def prefect_toml_folders(ws: Workspace) -> list[Path]:
    """The course folder (when the workspace is inside it: the folder setup.md has learners open in VS Code),
    the workspace's top folder, and every exercise folder whose exercise runs on the Prefect server."""
    folders = [ws.root]
    course_root = ws.course.root
    if course_root in ws.root.resolve().parents:
        folders.insert(0, course_root)
    for ex in ws.course.exercises:
        if kind_of(ex).needs_server:
            folders.append(ws.exercise_dir(ex))
    return [f for f in folders if f.is_dir()]


def sync_prefect_toml(ws: Workspace, url: str | None = None) -> list[Path]:
    """Write (or update) flowcamp's prefect.toml files; a prefect.toml the learner wrote is left alone.
    Returns the files written."""
    text = prefect_toml_text(url or server.server_url(ws))
    written = []
    for folder in prefect_toml_folders(ws):
        path = folder / PREFECT_TOML
        try:
            old = path.read_text(encoding="utf-8") if path.exists() else None
            if old == text or (old is not None and not old.startswith(MARK)):
                continue
            path.write_text(text, encoding="utf-8")
            written.append(path)
        except OSError:
            continue  # a read-only folder: runs from it use the default, and `flowcamp run` still works
    return written


def needs_prefect(path: Path) -> bool:
    try:
        return bool(_IMPORTS_PREFECT.search(path.read_text(encoding="utf-8", errors="replace")))
    except OSError:
        return False


def run_file(ws: Workspace, path: Path, args: list[str], start_server: Callable[[Workspace], str | None],
             say: Callable[[str], None]) -> int:
    """Run a learner's Python file as `python FILE ARGS` would, from the current folder, with the workspace's
    Prefect server (started if needed). Returns its exit code."""
    env = proc.child_env()
    url = None
    if needs_prefect(path):
        url = start_server(ws)
        if not url:
            return 2
        sync_prefect_toml(ws, url)
        env.update(server.client_env(ws, url))
    tail: deque[str] = deque(maxlen=400)
    child = subprocess.Popen([sys.executable, str(path), *args], env=env, stdin=None, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, errors="replace", bufsize=1)
    try:
        assert child.stdout is not None
        for line in child.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            tail.append(line)
        code = child.wait()
    except KeyboardInterrupt:
        child.terminate()
        child.wait()
        return 130
    if code != 0:
        plain = explain.explain("".join(tail), url)
        if plain:
            say(plain)
    return code


def resolve_file(name: str) -> Path | None:
    path = Path(name)
    if path.suffix != ".py" and not path.exists() and Path(f"{name}.py").exists():
        path = Path(f"{name}.py")
    return path.resolve() if path.is_file() else None

