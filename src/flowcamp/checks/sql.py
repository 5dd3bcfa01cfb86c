"""Running SQL that a learner wrote (a query in their file or in one of their commits) from a check, and
reading DuckDB files that the learner's code wrote.

SQL is learner code too. Run in the check's own process with DuckDB's defaults, a query could write to any
file the process can open, the check's results channel included (``COPY ... TO '/proc/self/fd/N'``), or read
files beside the warehouse. :func:`learner_query` runs it on a warehouse copy with every way out closed:
the file is opened read-only, file system access (COPY, read_csv, ATTACH, ...) and extension loading are off,
and the configuration is locked so the query cannot turn them back on. Memory and threads are capped so a
runaway query fails plainly instead of starving the machine. What is left is a query over tables.

A DuckDB file the learner's code wrote is learner code too: its views run when a check reads them. A view
cannot write or change settings (only statements can), but it can read files (``read_text``), which in cohort
grading may be files the learner's sandbox hides. :func:`lock_every_connection` (the check plugin calls it
as a check process starts) gives every connection a check opens the same closed doors for files and
extensions; the checks' own SQL needs neither.
"""

from __future__ import annotations

from pathlib import Path

from flowcamp.stamps import file_stamp

NO_WAY_OUT = {"enable_external_access": False, "autoinstall_known_extensions": False,
              "autoload_known_extensions": False}
LOCKED = {
    **NO_WAY_OUT,
    "memory_limit": "1GB",
    "threads": 2,
    "lock_configuration": True,
}


def learner_query(warehouse: Path | str, sql: str, params=None) -> tuple[list[str], list[tuple]]:
    """(column names, rows) of the learner's ``sql`` on ``warehouse`` (a copy, never ``pristine``). Raises
    ``duckdb.Error`` when it does not run (the caller words it for the learner); ``([], [])`` when the last
    statement returns nothing.

    The warehouse is opened once per check (a DuckDB open costs 30-40 ms; a check often runs its reference
    query and then the learner's), and every query gets a connection of its own on it: what one query makes
    for itself (a TEMP view named like a table, a TEMP macro) is not there for the next, so learner SQL run
    first cannot change what the reference query reads. The plugin closes it as each check ends."""
    with _database(warehouse).cursor() as con:
        rel = con.sql(sql, params=params)
        if rel is None:
            return [], []
        return list(rel.columns), rel.fetchall()


_OPEN: dict = {}  # warehouse path -> (its stamp when opened, the read-only, locked database)


def _database(warehouse: Path | str):
    import duckdb

    path = str(Path(warehouse).resolve())
    stamp = file_stamp(path)
    known = _OPEN.get(path)
    if known is not None and known[0] == stamp:
        return known[1]
    close_queries()
    con = duckdb.connect(path, read_only=True, config=LOCKED)
    _OPEN[path] = (stamp, con)
    return con


def close_queries() -> None:
    """Close what learner_query opened (the plugin calls it as each check ends: the warehouse copy is free)."""
    for _, con in _OPEN.values():
        try:
            con.close()
        except Exception:  # noqa: BLE001 - closing never fails a check
            pass
    _OPEN.clear()


def lock_every_connection() -> None:
    """From now on, every ``duckdb.connect`` in this process opens with file access and extension loading off
    (see the module's notes). Idempotent."""
    import duckdb

    if getattr(duckdb.connect, "flowcamp_locked", False):
        return
    real = duckdb.connect

    def connect(database=":memory:", read_only=False, config=None, **kwargs):
        return real(database, read_only=read_only, config={**(config or {}), **NO_WAY_OUT}, **kwargs)

    connect.flowcamp_locked = True
    duckdb.connect = connect
