"""Plain sentences for errors that learners meet outside their own code: the warehouse locked by another
program, a missing warehouse, a Prefect server that is not running.

Each function takes the text of an error (a message, or the tail of a program's output) and gives one or two
plain sentences with what to do next, or None if it does not recognise it. Nothing here runs learner code.
"""

from __future__ import annotations

import os
import re

_LOCK = re.compile(r'Could not set lock on file "(?P<file>[^"]+)": Conflicting lock is held in (?P<prog>.+?) '
                   r'\(PID (?P<pid>\d+)\)')
_MISSING = re.compile(r'Cannot open database "(?P<file>[^"]+)" in read-only mode: database does not exist')
_NO_API = re.compile(r"Failed to reach API at (?P<url>\S+?)/?\s*$|All connection attempts failed|"
                     r"Cannot connect to host|Connection refused", re.MULTILINE)

SHORT_CONNECTIONS = ("Open the warehouse only while you use it, with `with duckdb.connect(path, read_only=True) as "
                     "con:` for reading, so the connection closes at the end of the block.")


def _holder(pid: int, program: str) -> str:
    """What the process holding the lock is, in words: a notebook kernel, VS Code, another Python program."""
    cmdline = ""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmdline = fh.read().replace(b"\0", b" ").decode("utf-8", errors="replace")
    except OSError:
        pass
    text = f"{cmdline} {program}".lower()
    if "ipykernel" in text or "jupyter" in text:
        return (f"a Jupyter notebook kernel (process {pid}): a notebook such as explore.ipynb still has the "
                "warehouse open. Run its last cell that closes the connection, or restart or shut down its "
                "kernel (in VS Code: the Restart button at the top of the notebook)")
    if "duckdb" in os.path.basename(program).lower() and "python" not in text:
        return f"the DuckDB command-line program (process {pid}). Quit it with .quit"
    if "python" in text:
        return (f"another Python program (process {pid}), perhaps a script or a Python prompt you left open. "
                "Let it finish, or stop it with Ctrl+C in its terminal")
    return f"another program, {os.path.basename(program)} (process {pid}). Close it"


def duckdb_lock(text: str) -> str | None:
    """'The warehouse … is open in another program: …' for DuckDB's 'Could not set lock on file' error."""
    m = _LOCK.search(text or "")
    if not m:
        return None
    pid = int(m.group("pid"))
    if pid == os.getpid():
        who = "this same program, through another connection. Close the first connection before opening a new one"
    else:
        who = _holder(pid, m.group("prog"))
    return (f"The warehouse {os.path.basename(m.group('file'))} is open in {who}, and DuckDB lets only one program "
            f"write to a database file at a time. {SHORT_CONNECTIONS}")


def missing_warehouse(text: str) -> str | None:
    m = _MISSING.search(text or "")
    if not m:
        return None
    return (f"There is no warehouse at {m.group('file')}. Run `uv run flowcamp` once to build it, or check the path: "
            "starters find it two folders above the exercise's file.")


def prefect_unreachable(text: str, url: str | None = None) -> str | None:
    m = _NO_API.search(text or "")
    if not m or "prefect" not in (text or "").lower():
        return None
    where = f" at {url}" if url else ""
    return (f"Your local Prefect server{where} is not running, so the flow could not start. Start it with "
            "`uv run flowcamp server start`, or run your file with `uv run flowcamp run FILE`, which starts it "
            "for you.")


def unfinished_result(text: str) -> str | None:
    """DuckDB's 'connection has an unfinished result from execute()': the cause is an EARLIER query."""
    if "unfinished result from execute()" not in (text or ""):
        return None
    return ("The cause is an earlier cell, not this one: a query run with con.execute(...) whose rows were not "
            "all read (for example with .fetchone()). DuckDB will not start another query on that connection "
            "until they are. End every query with .fetchall() (or use con.sql(...)), then run the notebook again "
            "from the top (Restart and Run All).")


def explain(text: str, url: str | None = None) -> str | None:
    """The first plain explanation that fits ``text``, or None."""
    for fn in (duckdb_lock, missing_warehouse, unfinished_result):
        found = fn(text)
        if found:
            return found
    return prefect_unreachable(text, url)
