"""What every schema's SQL relies on.

The table sizes, the statements that come first (the random-number macro
``u()``, the macros about voters and identity keys, the schemas and the
``_ids`` table of row numbers), and the identity CTEs and email expressions
that give a row a made-up person.
"""

from __future__ import annotations

import hashlib

from .data import (
    ALT_EMAIL_DOMAINS,
    DUP_RATE,
    EMAIL_DOMAINS,
    L_AREA,
    L_DLEAN,
    L_FIRST,
    L_FSLUG,
    L_LSLUG,
    L_NICK,
    L_ZIP,
    LAST_NAMES,
    OTHER_AREA_CODES,
    OUT_OF_STATE,
    PEOPLE_PER_SCALE,
    SCHEMAS,
    SLOTS,
)
from .sql import _at, _from_list, _idx, _Sql, _ts_us

# --------------------------------------------------------------------------
# Sizes
# --------------------------------------------------------------------------


def _jitter(seed: int, name: str) -> float:
    """A number in [0.9, 1.1) fixed by the seed, so counts change with the seed."""
    digest = hashlib.sha256(f"flowcamp:{seed}:{name}".encode()).digest()
    return 0.9 + 0.2 * int.from_bytes(digest[:8], "big") / 2**64


def _sizes(seed: int, scale: float) -> dict[str, int]:
    """The number of rows of each table (and of each pool of people) to generate."""
    people = max(1, round(PEOPLE_PER_SCALE * scale))

    def n(base: float, name: str) -> int:
        return max(1, round(base * scale * _jitter(seed, name)))

    return {
        "people": people,
        "events": n(80, "events"),
        "signups": n(2500, "signups"),
        "donations": n(3000, "donations"),
        "subscribers": n(4000, "subscribers"),
        "actions": n(12000, "actions"),
        "contacts": n(8000, "contacts"),
        # pools that other tables draw people from
        "volunteers": max(1, round(people * 0.06)),
        "donors": max(1, round(people * 0.10)),
        "outsiders": max(1, round(people * 0.05)),
        "targets": max(1, round(people * 0.35)),
    }


# --------------------------------------------------------------------------
# The statements that come first
# --------------------------------------------------------------------------


def setup_statements(s: dict[str, int]) -> list[str]:
    """Macros, schemas and the _ids table that the table statements use."""
    n_slots = len(SLOTS)
    most = max(v for k, v in s.items())
    stmts: list[str] = []
    add = stmts.append

    # Randomness: u(k, salt) is a uniform number in [0, 1), fixed by the key and
    # the salt; the salt numbers come from the seed. hash(seed, k, salt) with
    # several arguments is NOT good enough: its results for two salts are
    # strongly correlated. Hashing twice, with the salt in between, is.
    add("CREATE TEMP MACRO u(k, salt) AS "
        "((hash(xor(hash((k)::BIGINT), salt)) >> 11)::DOUBLE / 9007199254740992.0)")
    # A voter record that duplicates an earlier one points at it (its base record).
    add("CREATE TEMP MACRO fc_src(pid) AS (1 + floor(u(pid, '~dup:src') * ((pid) - 1))::BIGINT)")
    add(f"CREATE TEMP MACRO fc_base(pid) AS (CASE WHEN (pid) > 1 AND u(pid, '~dup') < {DUP_RATE} "
        f"AND NOT (fc_src(pid) > 1 AND u(fc_src(pid), '~dup') < {DUP_RATE}) "
        f"THEN fc_src(pid) ELSE (pid) END)")
    # Facts about an identity key (see _identity_ctes).
    add(f"CREATE TEMP MACRO fc_slot(ik) AS {_idx('u(ik, ' + repr('~place') + ')', n_slots)}")
    add("CREATE TEMP MACRO fc_birth(ik) AS "
        "(DATE '2006-11-05' - floor((u(ik, '~age1') + u(ik, '~age2')) / 2 * 28000)::INTEGER)")
    add(f"CREATE TEMP MACRO fc_party(ik) AS (CASE "
        f"WHEN u(ik, '~party') < 0.85 * {_at(L_DLEAN, 'fc_slot(ik)')} THEN 'D' "
        f"WHEN u(ik, '~party') < 0.85 THEN 'R' ELSE 'O' END)")
    add(f"CREATE TEMP MACRO fc_subscribed_us(sid) AS "
        f"{_ts_us('2019-01-01 12:00:00+00:00', '2024-11-30 12:00:00+00:00', 'u(sid, ' + repr('~sub:at') + ')', 0.8)}")
    for schema in SCHEMAS:
        add(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    # A table of row numbers: scanning a table runs on all cores, range() does not.
    add(f"CREATE TEMP TABLE _ids AS SELECT range + 1 AS id FROM range({most})")
    return stmts


# --------------------------------------------------------------------------
# Identities
# --------------------------------------------------------------------------


def _identity_ctes(src: str) -> str:
    """CTEs i1, i2 that add a made-up identity to each row of CTE `src`.

    `src` has a column `ik`, the identity key: the base record of a voter
    (>= 1) or an outsider (<= -1). Everything about the identity is a pure
    function of `ik`, so the same voter looks the same in every source.
    Adds i_first, i_nick, i_last, i_zip, i_area and i_line (the phone
    number), and working columns that start with "_". The email addresses
    are expressions (EMAIL, ALT_EMAIL) to use in a later CTE, so that they
    are only built for the rows that need them.
    """
    return f"""
i1 AS (
  SELECT *,
    {_idx("u(ik, '~first')", len(L_FIRST))} AS _fi,
    {_idx("u(ik, '~last')", len(LAST_NAMES))} AS _li,
    fc_slot(ik) AS _slot,
    u(ik, '~email:pattern') AS _ue
  FROM {src}
), i2 AS (
  SELECT *,
    {_at(L_FIRST, "_fi")} AS i_first,
    {_at(L_NICK, "_fi")} AS i_nick,
    {_at(L_FSLUG, "_fi")} AS _fs,
    {_at(LAST_NAMES, "_li")} AS i_last,
    {_at(L_LSLUG, "_li")} AS _ls,
    CASE WHEN ik < 0 AND u(ik, '~out:instate') >= 0.6
         THEN {_from_list([z for z, _ in OUT_OF_STATE], "u(ik, '~out:zip')")}
         ELSE {_at(L_ZIP, "_slot")} END AS i_zip,
    CASE WHEN u(ik, '~phone:local') < 0.75 THEN {_at(L_AREA, "_slot")}
         ELSE {_from_list(OTHER_AREA_CODES, "u(ik, '~phone:area')")} END AS i_area,
    (1000 + floor(u(ik, '~phone:line') * 9000)::INTEGER)::VARCHAR AS i_line
  FROM i1
)"""


# first.last12, firstlast12, f_last12 ... (one concat is much faster than a CASE of concats)
EMAIL = _Sql(
    "concat(CASE WHEN _ue < 0.70 THEN _fs WHEN _ue < 0.85 THEN _fs[1] ELSE _ls END, "
    "CASE WHEN _ue < 0.30 THEN '.' WHEN _ue < 0.55 THEN '' ELSE '_' END, "
    "CASE WHEN _ue < 0.85 THEN _ls ELSE _fs[1] END, "
    "(1 + floor(u(ik, '~email:num') * 999)::INTEGER)::VARCHAR, '@', "
    + _from_list([d for d, weight in EMAIL_DOMAINS for _ in range(weight)], "u(ik, '~email:domain')") + ")")
ALT_EMAIL = _Sql(
    "concat(_fs, '.', _ls, (1 + floor(u(ik, '~alt:num') * 99)::INTEGER)::VARCHAR, '@', "
    + _from_list(ALT_EMAIL_DOMAINS, "u(ik, '~alt:domain')") + ")")


def _typed_first(key: str, salt: str, p_nick: str) -> str:
    """The first name a person typed into a form: sometimes their nickname."""
    return (f"(CASE WHEN i_nick IS NOT NULL AND u({key}, '~{salt}:nick') < {p_nick} "
            f"THEN i_nick ELSE i_first END)")


def _who(u_who: str, matched: float, unmatched: float) -> str:
    """Who a form filler is: a voter we can match, a voter we cannot, or someone out of the file."""
    return (f"CASE WHEN {u_who} < {matched!r} THEN 'matched' "
            f"WHEN {u_who} < {matched + unmatched!r} THEN 'unmatched' ELSE 'outsider' END")

