"""Waiting for a learner to save a file: file events where they work, polling where they do not."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

IGNORE = ("__pycache__", ".ipynb_checkpoints", ".git")


def wait_for_change(folder: Path, poll: bool, say: Callable[[str], None] = print) -> None:
    """Block until a file in folder changes. Falls back to polling where file events do not work."""
    ignore = IGNORE
    if not poll:
        try:
            from watchfiles import watch as wf_watch

            for changes in wf_watch(folder, debounce=150, step=50,
                                    watch_filter=lambda _c, p: not any(part in p for part in ignore)):
                if changes:
                    return
            return
        except (OSError, RuntimeError) as e:
            say(f"File events are not available here ({e}); checking every second instead.")
    before = snapshot(folder, ignore)
    while True:
        time.sleep(1.0)
        now = snapshot(folder, ignore)
        if now != before:
            return


def snapshot(folder: Path, ignore: tuple[str, ...]) -> dict:
    out = {}
    for p in folder.rglob("*"):
        if any(part in ignore for part in p.parts):
            continue
        try:
            st = p.stat()
            out[str(p)] = (st.st_mtime_ns, st.st_size)
        except OSError:
            continue
    return out
