"""Running SQL that a learner wrote (a query in their file or in one of their commits) from a check.

SQL is learner code too. Run in the check's own process with DuckDB's defaults, a query could write to any
file the process can open, the check's results channel included (``COPY ... TO '/proc/self/fd/N'``), or read
files beside the warehouse. :func:`learner_query` runs it on a warehouse copy with every way out closed:
the file is opened read-only, file system access (COPY, read_csv, ATTACH, ...) and extension loading are off,
and the configuration is locked so the query cannot turn them back on. Memory and threads are capped so a
runaway query fails plainly instead of starving the machine. What is left is a query over tables.
"""

from __future__ import annotations

from pathlib import Path

LOCKED = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "memory_limit": "1GB",
    "threads": 2,
    "lock_configuration": True,
}


def learner_query(warehouse: Path | str, sql: str, params=None) -> tuple[list[str], list[tuple]]:
    """(column names, rows) of the learner's ``sql`` on ``warehouse`` (a copy, never ``pristine``). Raises
    ``duckdb.Error`` when it does not run (the caller words it for the learner); ``([], [])`` when the last
    statement returns nothing."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True, config=LOCKED) as con:
        rel = con.sql(sql, params=params)
        if rel is None:
            return [], []
        return list(rel.columns), rel.fetchall()
