"""Building the warehouse file: the statements in order, atomic writes, the
folder lock, the build settings (``_flowcamp.meta``) and table counts."""

from __future__ import annotations

import math
import os
from contextlib import contextmanager
from pathlib import Path

import duckdb

from . import actblue, actionnetwork, boundaries, mobilize, phonebank, voterfile
from .common import _sizes, setup_statements
from .data import DEFAULT_SCALE, LEARNER_SEED, SCHEMA_VERSION
from .sql import _list_variables, _q, _with_salts

# --------------------------------------------------------------------------
# The statements
# --------------------------------------------------------------------------


def _meta_statement(seed: int, scale: float, people: int) -> str:
    """The _flowcamp.meta table: the build settings, and nothing that changes between builds."""
    meta = [("seed", str(int(seed))), ("scale", repr(float(scale))), ("version", str(SCHEMA_VERSION)),
            ("people", str(people)), ("generator", "flowcamp.warehouse"),
            ("boundary_rows", "planted" if boundaries.planted(seed) else "none")]
    return ("CREATE TABLE _flowcamp.meta AS SELECT * FROM (VALUES "
            + ", ".join(f"({_q(k)}, {_q(v)})" for k, v in sorted(meta)) + ") AS t(key, value)")


def _statements(seed: int, scale: float) -> list[str]:
    """Every SQL statement that builds the warehouse, in order."""
    s = _sizes(seed, scale)
    stmts = [
        *setup_statements(s),
        *voterfile.statements(s),
        *mobilize.statements(s),
        *actblue.statements(s),
        *actionnetwork.statements(s),
        *phonebank.statements(s),
        *boundaries.statements(seed, s),  # rows on every boundary the checks' filters depend on
        _meta_statement(seed, scale, s["people"]),
    ]
    # The list variables come first; they are known once every statement is written.
    return [_with_salts(x, seed) for x in _list_variables(stmts) + stmts]


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def _check_args(path, seed, scale) -> tuple[Path, int, float]:
    """Check the arguments of build() and ensure(); return them as Path, int, float."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be a whole number, got {seed!r}")
    if not -(2**63) <= seed < 2**63:
        raise ValueError(f"seed must fit in 64 bits, got {seed}")
    if isinstance(scale, bool) or not isinstance(scale, (int, float)):
        raise TypeError(f"scale must be a number, got {scale!r}")
    scale = float(scale)
    if not math.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale must be a number greater than 0 (1.0 is about 10,000 people), got {scale}")
    try:
        path = Path(os.fspath(path))
    except TypeError:
        raise TypeError(f"path must be a file path, got {path!r}") from None
    if str(path) == "" or path.is_dir():
        raise IsADirectoryError(
            f"{str(path) or '(empty path)'} is a folder, not a file. "
            f"Give the path of the database file, for example {path / 'warehouse.duckdb'}")
    return path, seed, scale


def _remove(p: Path) -> None:
    """Delete a file if it is there."""
    try:
        p.unlink()
    except FileNotFoundError:
        pass


def _make_parent(path: Path) -> None:
    """Create the folders above ``path``, with a clear error if a file is in the way."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise NotADirectoryError(
            f"cannot create {path}: a file is in the way of the folder {path.parent}") from None


@contextmanager
def _folder_lock(path: Path):
    """Hold an exclusive lock on the folder of ``path`` while a build writes there.

    Two processes that build the same warehouse at once (two checks that both
    need the held-out warehouse, say) would otherwise share ``path + '.tmp'``.
    Locking the folder leaves no lock file behind. Where folders cannot be
    locked (Windows, some network drives) the build goes ahead without it.
    """
    try:
        import fcntl
    except ImportError:  # Windows
        yield
        return
    try:
        fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            pass
        yield
    finally:
        os.close(fd)  # also releases the lock


def _write(path: Path, seed: int, scale: float, threads: int | None = None) -> None:
    """Build into path + '.tmp', then move it over ``path``. Call with the folder locked."""
    tmp = path.with_name(path.name + ".tmp")
    tmp_wal = tmp.with_name(tmp.name + ".wal")
    _remove(tmp)
    _remove(tmp_wal)
    # No progress bar: the CLI shows its own, and DuckDB's would write over it.
    config = {"threads": threads} if threads else {}
    try:
        con = duckdb.connect(str(tmp), config=config)
        con.execute("SET enable_progress_bar = false")
        try:
            for stmt in _statements(seed, scale):
                con.execute(stmt)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        # A write-ahead log left by an old connection would be replayed on top
        # of the new file: remove it before the swap.
        _remove(path.with_name(path.name + ".wal"))
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        _remove(tmp_wal)
        raise


def build(path: str | os.PathLike, seed: int = LEARNER_SEED, scale: float = DEFAULT_SCALE,
          *, threads: int | None = None) -> Path:
    """Build a complete warehouse at ``path`` and return ``path``.

    The file is built next to ``path`` (as ``path + '.tmp'``) and moved into
    place only when it is complete, so a failed build never leaves half a
    warehouse behind, and a program that has the old file open keeps reading
    the old file. Missing parent folders are created. ``threads`` is for
    tests: the output is the same whatever the number of threads.
    """
    path, seed, scale = _check_args(path, seed, scale)
    _make_parent(path)
    with _folder_lock(path):
        _write(path, seed, scale, threads)
    return path


def _up_to_date(path: Path, seed: int, scale: float) -> bool:
    """Whether ``path`` is a warehouse built with this seed, scale and SCHEMA_VERSION."""
    meta = read_meta(path)
    return (meta is not None and meta["seed"] == seed and meta["scale"] == scale
            and meta["version"] == SCHEMA_VERSION)


def read_meta(path) -> dict | None:
    """The build settings of the warehouse at ``path``.

    Returns a dict with ``seed`` (int), ``scale`` (float), ``version`` (int)
    and any other keys as text, or ``None`` if the file is missing, cannot be
    opened, or is not a flowcamp warehouse.
    """
    try:
        path = Path(os.fspath(path))
    except TypeError:
        return None
    if not path.is_file():
        return None
    try:
        con = duckdb.connect(str(path), read_only=True)
    except (duckdb.Error, OSError):
        return None
    try:
        rows = con.execute("SELECT key, value FROM _flowcamp.meta").fetchall()
    except duckdb.Error:
        return None
    finally:
        con.close()
    meta: dict = dict(rows)
    try:
        meta["seed"] = int(meta["seed"])
        meta["scale"] = float(meta["scale"])
        meta["version"] = int(meta["version"])
    except (KeyError, TypeError, ValueError):
        return None
    return meta


def ensure(path, seed: int = LEARNER_SEED, scale: float = DEFAULT_SCALE) -> Path:
    """Return ``path``, building the warehouse first unless an up-to-date one is there.

    It rebuilds when the file is missing or unreadable, or when it was built
    with another seed, scale or SCHEMA_VERSION. When several processes ensure
    the same warehouse at once, one builds it and the others wait and use it.
    """
    path, seed, scale = _check_args(path, seed, scale)
    if _up_to_date(path, seed, scale):
        return path
    _make_parent(path)
    with _folder_lock(path):
        if not _up_to_date(path, seed, scale):  # another process may have built it meanwhile
            _write(path, seed, scale)
    return path


def table_counts(path) -> dict[str, int]:
    """Row counts of the warehouse's tables, as ``{'schema.table': rows}``.

    The internal ``_flowcamp`` schema is left out.
    """
    path = Path(os.fspath(path))
    if not path.is_file():
        raise FileNotFoundError(f"no warehouse at {path}")
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' AND table_catalog = current_database() "
            "AND table_schema NOT LIKE '\\_%' ESCAPE '\\' "
            "ORDER BY table_schema, table_name").fetchall()
        return {f"{sch}.{tbl}": con.execute(f'SELECT count(*) FROM "{sch}"."{tbl}"').fetchone()[0]
                for sch, tbl in tables}
    finally:
        con.close()
