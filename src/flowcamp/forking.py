"""Getting a warm parent ready to fork from, and a forked child ready to be what it was asked to be.

The warm worker and the learner processes' parent each import what their children need once, then fork
a child per request. Some of what makes a child quick is not an import but a first use: a process's first
DuckDB open, pytest's first run. Those are done here once, in the parent, leaving no thread behind (each fork
checks that, see :func:`flowcamp.reaper.one_thread`).
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path


def warm_duckdb() -> None:
    """Open and close an in-memory DuckDB once. A process's first open sets up what every later one shares,
    so each forked child's first open is 15-20 ms quicker. The database's threads end with its close."""
    try:
        import duckdb

        con = duckdb.connect(":memory:")
        con.execute("select 1").fetchall()
        con.close()
    except Exception:  # noqa: BLE001 - only a warm-up
        pass


def warm_pytest(options: Callable[[Path], list[str]]) -> None:
    """Run pytest once on a test that passes, with the options ``options(folder)`` gives: a forked check
    process then finds pytest's plugins, collection and reporting loaded (0.1 s or more less per check).
    Quiet, in a folder of its own; a failure only costs the warm-up."""
    import pytest

    with tempfile.TemporaryDirectory(prefix="flowcamp-warm-") as tmp:
        Path(tmp, "test_warm.py").write_text("def test_warm():\n    assert True\n", encoding="utf-8")
        sys.stdout.flush()
        sys.stderr.flush()
        saved = os.dup(1), os.dup(2)
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 1)
            os.dup2(null, 2)
            pytest.main([tmp, *options(Path(tmp))])
        except BaseException:  # noqa: BLE001 - only a warm-up
            pass
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, kept in zip((1, 2), saved):
                os.dup2(kept, fd)
                os.close(kept)
            os.close(null)
    gc.collect()


def fork() -> int:
    """``os.fork()``, with Python's output buffers emptied first (a child would print them again)."""
    sys.stdout.flush()
    sys.stderr.flush()
    return os.fork()


def as_asked(env: dict[str, str], cwd: str, *signals: int) -> None:
    """In a forked child: a session of its own (a sweep of the parent's processes, or of a check's, never
    reaches it), default handling of ``signals``, and the asker's environment and folder."""
    os.setsid()
    for sig in signals:
        signal.signal(sig, signal.SIG_DFL)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
