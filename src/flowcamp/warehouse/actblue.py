"""ActBlue: ``actblue.donations``."""

from __future__ import annotations

from .common import ALT_EMAIL, EMAIL, _identity_ctes, _typed_first, _who
from .data import EMPLOYERS, OCCUPATIONS
from .sql import _email_mess, _from_list, _name_mess, _pick, _Sql, _ts_us, _zip_mess


def _donations(s: dict[str, int]) -> str:
    """actblue.donations: donations, some recurring, refunded or test donations."""
    N, O = s["people"], s["outsiders"]
    return f"""
CREATE TABLE actblue.donations AS
WITH a AS (
  SELECT id AS donation_id,
    1 + floor(pow(u(id, '~dn:donor'), 2) * {s["donors"]})::BIGINT AS k,
    u(id, '~dn:test') < 0.002 AS is_test,
    u(id, '~dn:amount') AS u_amount
  FROM _ids WHERE id <= {s["donations"]}
), b AS (
  SELECT *,
    {_who("u(k, '~donor:who')", 0.70, 0.10)} AS kind,
    1 + floor(u(k, '~donor:person') * {N})::BIGINT AS vp,
    1 + floor(u(k, '~donor:out') * {O})::BIGINT AS vo,
    u(k, '~donor:recurring') < 0.15 AS recurring,
    u(k, '~donor:occupation') AS u_occ,
    u(k, '~donor:employer') AS u_emp
  FROM a
), src AS (
  SELECT *, CASE WHEN kind = 'outsider' THEN -vo ELSE fc_base(vp) END AS ik FROM b
), {_identity_ctes("src")}, f AS (
  SELECT *,
    {_ts_us("2023-01-01 05:00:00+00:00", "2024-12-31 23:00:00+00:00", "u(donation_id, '~dn:at')", 0.7)} AS donated_us,
    is_test OR u(donation_id, '~dn:refund') < 0.025 AS refunded,
    {_pick("u_occ", OCCUPATIONS)} AS occ,
    {_typed_first("donation_id", "dn:first", "0.15")} AS _fn,
    CASE WHEN u(k, '~donor:alt') < 0.2 THEN {ALT_EMAIL} ELSE {EMAIL} END AS _e
  FROM i2
)
SELECT
  donation_id,
  CASE WHEN is_test THEN NULL WHEN kind = 'matched' THEN vp END AS person_id,
  CASE WHEN is_test THEN 'Test' ELSE {_name_mess("_fn", "donation_id", "dn:first", 0.06, 0.10, 0.05)} END AS donor_first_name,
  CASE WHEN is_test THEN 'Test' ELSE {_name_mess("i_last", "donation_id", "dn:last", 0.08, 0.06, 0.04)} END AS donor_last_name,
  CASE WHEN is_test THEN 'test@example.org'
       ELSE {_email_mess("_e", "donation_id", "dn:email")} END AS donor_email,
  CASE WHEN is_test THEN '19104'
       WHEN i_zip LIKE '0%' AND u(donation_id, '~dn:zip0') < 0.4 THEN ltrim(i_zip, '0')
       ELSE {_zip_mess("i_zip", "donation_id", "dn:zip4", 0.10)} END AS zip,
  (CASE WHEN is_test THEN 1
        WHEN recurring THEN {_from_list([5, 10, 10, 15, 25, 25, 50], "u(k, '~donor:amount')")}
        ELSE {_pick("u_amount", [(5, 8), (10, 14), (15, 5), (20, 8), (25, 18), (27, 6), (50, 15),
                                 (100, 13), (250, 7), (500, 3), (1000, 2), (3300, 1),
                                 (_Sql("5 + floor(u(donation_id, '~dn:custom') * 196)"), 5)])} END
  )::DECIMAL(10, 2) AS amount,
  make_timestamptz(donated_us) AS donated_at,
  NOT is_test AND recurring AS is_recurring,
  refunded,
  CASE WHEN refunded THEN make_timestamptz(donated_us + 1000000 * floor((0.02 + 20 * u(donation_id, '~dn:refund:at')) * 86400)::BIGINT) END AS refunded_at,
  CASE WHEN is_test THEN NULL
       WHEN lower(occ) IN ('retired', 'not employed') THEN {_from_list(["None", "N/A", "Retired", None], "u(k, '~donor:noemp')")}
       ELSE {_pick("u_emp", EMPLOYERS)} END AS employer,
  CASE WHEN is_test THEN NULL ELSE occ END AS occupation
FROM f
"""


def statements(s: dict[str, int]) -> list[str]:
    """ActBlue's statements, in order."""
    return [_donations(s)]
