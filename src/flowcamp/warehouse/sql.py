"""Helpers that write the SQL text of the generator.

Randomness in the SQL is ``u(key, '~salt name')``; ``_with_salts`` swaps each
salt name for a 64-bit number fixed by the seed just before the statements
run.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime


class _Sql(str):
    """Text that is already SQL (so _q leaves it alone)."""


def _q(value) -> str:
    """A SQL literal for a Python value."""
    if isinstance(value, _Sql):
        return str(value)
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _list(values) -> str:
    """A SQL list literal: [1, 'a', NULL]."""
    return "[" + ", ".join(_q(v) for v in values) + "]"


# Constant lists are passed to DuckDB as variables (SET VARIABLE): a variable is
# one constant for the planner, a list literal is an expression per element,
# and planning the big queries was a large part of a small build.
_LISTS: dict[str, str] = {}


def _at(values, index: str) -> str:
    """values[index] for a constant list (index is 1-based SQL)."""
    literal = _list(values)
    name = "fc_" + hashlib.sha1(literal.encode()).hexdigest()[:12]
    _LISTS[name] = literal
    return f"getvariable('{name}')[{index}]"


def _list_variables(statements: list[str]) -> list[str]:
    """SET VARIABLE statements for the lists the statements use."""
    used = sorted(set(re.findall(r"getvariable\('(fc_[0-9a-f]+)'\)", "\n".join(statements))))
    return [f"SET VARIABLE {name} = {_LISTS[name]}" for name in used]


def _idx(u: str, n: int) -> str:
    """A 1-based index in 1..n from a uniform number."""
    return f"(1 + floor({u} * {n})::INTEGER)"


def _from_list(values, u: str) -> str:
    """Pick uniformly from a constant list."""
    return _at(values, _idx(u, len(values)))


def _pick(u: str, choices) -> str:
    """CASE expression choosing a value by weight. `u` should be a column."""
    total = float(sum(w for _, w in choices))
    parts, acc = [], 0.0
    for value, weight in choices[:-1]:
        acc += weight / total
        parts.append(f"WHEN {u} < {acc!r} THEN {_q(value)}")
    return "(CASE " + " ".join(parts) + f" ELSE {_q(choices[-1][0])} END)"


# The mess functions are one flat CASE over a column: nesting CASE expressions
# makes DuckDB evaluate the inner ones several times, which is slow.


def _name_mess(col: str, key: str, salt: str, upper: float, lower: float, spaces: float) -> str:
    """A name (a column) with mixed case or a stray space."""
    uc, uw = f"u({key}, '~{salt}:case')", f"u({key}, '~{salt}:ws')"
    return (f"(CASE WHEN {uw} < {spaces / 2!r} THEN ' ' || {col} "
            f"WHEN {uw} < {spaces!r} THEN {col} || ' ' "
            f"WHEN {uc} < {upper!r} THEN upper({col}) "
            f"WHEN {uc} < {upper + lower!r} THEN lower({col}) ELSE {col} END)")


def _email_mess(col: str, key: str, salt: str, spaces: float = 0.08) -> str:
    """An email address (a column) with mixed case or stray spaces."""
    uc, uw = f"u({key}, '~{salt}:case')", f"u({key}, '~{salt}:ws')"
    return (f"(CASE WHEN {uw} < {spaces / 2!r} THEN ' ' || {col} "
            f"WHEN {uw} < {spaces!r} THEN {col} || ' ' "
            f"WHEN {uc} < 0.70 THEN {col} "
            f"WHEN {uc} < 0.85 THEN upper({col}[1]) || {col}[2:] "
            f"WHEN {uc} < 0.93 THEN upper({col}) "
            f"ELSE split_part({col}, '@', 1) || '@' || upper(split_part({col}, '@', 2)) END)")


def _phone_fmt(key: str, salt: str) -> str:
    """A phone number (columns i_area, i_line) written in one of several formats."""
    u = f"u({key}, '~{salt}')"
    return (f"(CASE WHEN {u} < 0.35 THEN concat('(', i_area, ') 555-', i_line) "
            f"WHEN {u} < 0.65 THEN concat(i_area, '-555-', i_line) "
            f"WHEN {u} < 0.85 THEN concat(i_area, '555', i_line) "
            f"WHEN {u} < 0.95 THEN concat('+1 ', i_area, ' 555 ', i_line) "
            f"ELSE concat(i_area, '.555.', i_line) END)")


def _zip_mess(zip5: str, key: str, salt: str, plus4: float) -> str:
    """Some ZIP codes get a +4 suffix."""
    return (f"(CASE WHEN u({key}, '~{salt}') < {plus4!r} "
            f"THEN concat({zip5}, '-', (1000 + floor(u({key}, '~{salt}:4') * 9000)::INTEGER)::VARCHAR) "
            f"ELSE {zip5} END)")


def _us(instant: str) -> int:
    """Microseconds since 1970 for an ISO instant with an offset."""
    return int(datetime.fromisoformat(instant).timestamp()) * 1_000_000


def _ts_us(start: str, end: str, u: str, power: float = 1.0) -> str:
    """Microseconds since 1970 between two instants (power > 1 skews early, < 1 late).

    Timestamps are made with integer arithmetic and make_timestamptz():
    adding intervals to a TIMESTAMPTZ goes through the calendar and is slow.
    """
    seconds = (_us(end) - _us(start)) // 1_000_000
    frac = u if power == 1.0 else f"pow({u}, {power!r})"
    return f"({_us(start)} + 1000000 * floor({frac} * {seconds})::BIGINT)"


def _salt(seed: int, name: str) -> int:
    """A 64-bit number for a (seed, salt name) pair."""
    return int.from_bytes(hashlib.sha256(f"flowcamp:{seed}:{name}".encode()).digest()[:8], "big")


def _with_salts(sql: str, seed: int) -> str:
    """Replace salt names written as '~name' by the seed's 64-bit salt numbers."""
    return re.sub(r"'~([A-Za-z0-9_:]+)'", lambda m: f"{_salt(seed, m.group(1))}::UBIGINT", sql)

