"""The voter file: ``voterfile.people``, ``voterfile.elections`` and ``voterfile.vote_history``."""

from __future__ import annotations

from .common import EMAIL, _identity_ctes
from .data import (
    ELECTIONS,
    L_CD,
    L_CITY,
    L_COUNTY,
    L_HDA,
    L_HDB,
    L_STREET_V,
    SPECIAL_2023_DISTRICTS,
    STREETS,
)
from .sql import _at, _email_mess, _idx, _name_mess, _phone_fmt, _pick, _zip_mess


def _party_spellings() -> tuple[str, str, str]:
    """CASE expressions spelling Democrats, Republicans and the rest in several ways."""
    d_spell = _pick("u_spell", [("D", 38), ("DEM", 28), ("Democrat", 14), ("Democratic", 8),
                                ("dem", 8), ("D ", 4)])
    r_spell = _pick("u_spell", [("R", 40), ("REP", 28), ("Republican", 16), ("rep", 12), ("R ", 4)])
    o_spell = _pick("u_spell", [("NPA", 35), ("IND", 20), ("Independent", 10), ("GRN", 10),
                                ("Green", 5), ("LIB", 10), ("Libertarian", 5), ("OTH", 5)])
    return d_spell, r_spell, o_spell


def _people(s: dict[str, int]) -> str:
    """voterfile.people: one row per voter record; a few records duplicate earlier ones."""
    N = s["people"]
    d_spell, r_spell, o_spell = _party_spellings()
    n_st = len(STREETS)
    return f"""
CREATE TABLE voterfile.people AS
WITH src AS (
  SELECT id AS person_id, fc_base(id) AS ik FROM _ids WHERE id <= {N}
), {_identity_ctes("src")}, p1 AS (
  SELECT *,
    ik <> person_id AS is_dup,
    {_idx("u(ik, '~street')", len(STREETS))} AS _si,
    1 + floor(pow(u(ik, '~house'), 2) * 4999)::INTEGER AS house_no,
    CASE WHEN u(ik, '~apt') < 0.15 THEN 1 + floor(u(ik, '~apt:no') * 24)::INTEGER END AS apt_no,
    fc_party(ik) AS party_code,
    fc_birth(ik) AS _birth,
    u(ik, '~reg') AS u_reg,
    u(person_id, '~party:spell') AS u_spell,
    u(person_id, '~vf:city') AS u_city,
    u(person_id, '~vf:sfx') AS u_sfx
  FROM i2
), p2 AS (
  SELECT *,
    {_at(L_STREET_V, f"_si + (CASE WHEN u_sfx < 0.70 THEN 0 WHEN u_sfx < 0.82 THEN {n_st} ELSE {2 * n_st} END)")} AS _street,
    {_at(L_CITY, "_slot")} AS _city,
    greatest(_birth + 6500, DATE '1972-01-01') AS reg_lo,
    CASE WHEN u(person_id, '~vf:email') < 0.55 THEN {EMAIL} END AS _e,
    CASE WHEN is_dup AND i_nick IS NOT NULL AND u(person_id, '~vf:nick') < 0.6 THEN i_nick ELSE i_first END AS _fn
  FROM p1
), p3 AS (
  SELECT *, reg_lo + floor(pow(u_reg, 0.7) * (DATE '2024-10-21' - reg_lo))::INTEGER AS reg_base
  FROM p2
)
SELECT
  person_id,
  {_name_mess("_fn", "person_id", "vf:first", 0.12, 0.03, 0.04)} AS first_name,
  {_name_mess("i_last", "person_id", "vf:last", 0.12, 0.03, 0.04)} AS last_name,
  {_email_mess("_e", "person_id", "vf:email")} AS email,
  CASE WHEN u(person_id, '~vf:phone') < 0.6 THEN {_phone_fmt("person_id", "vf:phone:fmt")} END AS phone,
  concat(house_no::VARCHAR, ' ', _street,
         CASE WHEN apt_no IS NULL THEN ''
              WHEN u(person_id, '~vf:apt') < 0.7 THEN ' Apt ' || apt_no::VARCHAR
              ELSE ' #' || apt_no::VARCHAR END) AS street_address,
  CASE WHEN _city = 'Philadelphia' AND u_city < 0.06 THEN 'Phila'
       WHEN _city = 'Pittsburgh' AND u_city < 0.06 THEN 'Pgh'
       WHEN u_city > 0.93 THEN upper(_city)
       ELSE _city END AS city,
  'PA' AS state,
  {_zip_mess("i_zip", "ik", "vf:zip4", 0.07)} AS zip,
  {_at(L_COUNTY, "_slot")} AS county,
  {_at(L_CD, "_slot")} AS congressional_district,
  CASE WHEN u(ik, '~hd') < 0.5 THEN {_at(L_HDA, "_slot")} ELSE {_at(L_HDB, "_slot")} END AS state_house_district,
  CASE WHEN u(person_id, '~party:null') < 0.03 THEN NULL
       WHEN party_code = 'D' THEN {d_spell}
       WHEN party_code = 'R' THEN {r_spell}
       ELSE {o_spell} END AS party,
  CASE WHEN u(person_id, '~vf:nobirth') < 0.003 THEN DATE '1900-01-01' ELSE _birth END AS birth_date,
  CASE WHEN is_dup
       THEN reg_base + floor(u(person_id, '~reg:again') * (DATE '2024-10-21' - reg_base))::INTEGER
       ELSE reg_base END AS registration_date,
  CASE WHEN u(person_id, '~vf:status') < 0.08 THEN 'inactive' ELSE 'active' END AS voter_status
FROM p3
"""


def _elections() -> str:
    """voterfile.elections: the elections in ELECTIONS."""
    return ("CREATE TABLE voterfile.elections AS SELECT * FROM (VALUES "
            + ", ".join(f"(DATE '{d}', '{t}', '{desc}')" for d, t, desc, *_ in ELECTIONS)
            + ") AS t(election_date, election_type, description)")


def _eligible() -> str:
    """The temporary table _vh: who could vote in each election, and how likely they are to."""
    return f"""
CREATE TEMP TABLE _vh AS
WITH a AS (
  SELECT person_id, registration_date, birth_date, state_house_district, fc_base(person_id) AS ik
  FROM voterfile.people
)
SELECT person_id,
  greatest(registration_date + 15, (birth_date + INTERVAL 18 YEAR)::DATE) AS eligible_from,
  fc_party(ik) IN ('D', 'R') AS major_party,
  state_house_district IN {tuple(SPECIAL_2023_DISTRICTS)!r} AS in_special,
  0.3 + 1.4 * u(ik, '~propensity') AS propensity
FROM a
"""


def _vote_history() -> str:
    """voterfile.vote_history: one SELECT per election, from _vh (no join needed)."""
    parts = []
    for e, (day, kind, _desc, turnout, mail, early) in enumerate(ELECTIONS, start=1):
        key = f"person_id * 16 + {e}"
        where = [f"eligible_from <= DATE '{day}'"]
        if kind == "primary":
            where.append("major_party")  # closed primaries
        if kind == "special":
            where.append("in_special")
        where.append(f"u({key}, '~vh:voted') < least(0.97, {turnout!r} * propensity)")
        parts.append(
            f"SELECT person_id, DATE '{day}' AS election_date, '{kind}' AS election_type, "
            f"CASE WHEN u({key}, '~vh:method') < {mail!r} THEN 'mail' "
            f"WHEN u({key}, '~vh:method') < {mail + early!r} THEN 'early' ELSE 'in_person' END AS vote_method "
            f"FROM _vh WHERE " + " AND ".join(where))
    return "CREATE TABLE voterfile.vote_history AS\n" + "\nUNION ALL\n".join(parts)


def statements(s: dict[str, int]) -> list[str]:
    """The voter file's statements, in order."""
    return [_people(s), _elections(), _eligible(), _vote_history()]
