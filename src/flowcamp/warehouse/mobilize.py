"""Mobilize: ``mobilize.events`` and ``mobilize.signups``."""

from __future__ import annotations

from .common import ALT_EMAIL, EMAIL, _identity_ctes, _typed_first, _who
from .data import EVENT_TITLES, L_CITY
from .sql import _at, _email_mess, _from_list, _name_mess, _phone_fmt, _pick, _zip_mess


def _events(s: dict[str, int]) -> str:
    """mobilize.events: events in Pennsylvania or online, in several time zones."""
    E = s["events"]
    hours = {"canvass": [9, 10, 12, 13, 14], "phone_bank": [17, 18, 18, 19],
             "text_bank": [12, 18, 19], "meeting": [18, 19], "training": [12, 18, 19]}
    title_cases = " ".join(
        f"WHEN '{t}' THEN replace({_from_list(titles, 'u_title')}, '{{place}}', coalesce(city, 'online'))"
        for t, titles in EVENT_TITLES.items())
    hour_cases = " ".join(f"WHEN '{t}' THEN {_from_list(h, 'u_hour')}" for t, h in hours.items())
    return f"""
CREATE TABLE mobilize.events AS
WITH a AS (
  SELECT id AS event_id, u(id, '~ev:type') AS u_type, u(id, '~ev:virtual') AS u_virtual,
    u(id, '~ev:tz') AS u_tz, u(id, '~ev:title') AS u_title, u(id, '~ev:hour') AS u_hour,
    fc_slot(-1000000 - id) AS slot,
    DATE '2023-09-01' + floor(pow(u(id, '~ev:date'), 0.6) * 430)::INTEGER AS local_date
  FROM _ids WHERE id <= {E}
), b AS (
  SELECT *, {_pick("u_type", [("canvass", 35), ("phone_bank", 25), ("text_bank", 15),
                              ("meeting", 15), ("training", 10)])} AS event_type
  FROM a
), c AS (
  SELECT *,
    CASE event_type WHEN 'canvass' THEN FALSE WHEN 'phone_bank' THEN u_virtual < 0.7
         WHEN 'text_bank' THEN u_virtual < 0.95 WHEN 'meeting' THEN u_virtual < 0.4
         ELSE u_virtual < 0.6 END AS is_virtual
  FROM b
), d AS (
  SELECT *,
    CASE WHEN is_virtual THEN NULL ELSE {_at(L_CITY, "slot")} END AS city,
    CASE WHEN is_virtual THEN NULL ELSE 'PA' END AS state,
    CASE WHEN is_virtual THEN {_pick("u_tz", [("America/New_York", 55), ("America/Chicago", 15),
                                              ("America/Los_Angeles", 12), ("America/Denver", 5),
                                              ("UTC", 8), ("America/Phoenix", 5)])}
         ELSE 'America/New_York' END AS timezone,
    local_date + to_hours((CASE event_type {hour_cases} END)::BIGINT)
      + to_minutes(CASE WHEN u(event_id, '~ev:half') < 0.3 THEN 30 ELSE 0 END) AS local_start
  FROM c
)
SELECT event_id,
  CASE event_type {title_cases} END AS title,
  event_type,
  timezone(timezone, local_start) AS starts_at,
  timezone(timezone, local_start) + CASE event_type WHEN 'canvass' THEN INTERVAL 3 HOUR
      WHEN 'meeting' THEN INTERVAL 90 MINUTE WHEN 'training' THEN INTERVAL 1 HOUR
      ELSE INTERVAL 2 HOUR END AS ends_at,
  timezone, city, state, is_virtual
FROM d
"""


def _signups(s: dict[str, int]) -> str:
    """mobilize.signups: people signing up for events, some twice, some not in the voter file."""
    N, E, O = s["people"], s["events"], s["outsiders"]
    return f"""
CREATE TABLE mobilize.signups AS
WITH a AS (
  SELECT id AS signup_id,
    CASE WHEN id > 1 AND u(id, '~su:again') < 0.02 AND NOT (id > 2 AND u(id - 1, '~su:again') < 0.02)
         THEN id - 1 ELSE id END AS r
  FROM _ids WHERE id <= {s["signups"]}
), b AS (
  SELECT signup_id, r,
    1 + floor(u(r, '~su:event') * {E})::BIGINT AS event_id,
    {_who("u(r, '~su:who')", 0.68, 0.16)} AS kind,
    1 + floor(u(1 + floor(pow(u(r, '~su:vol'), 1.5) * {s["volunteers"]})::BIGINT, '~vol:person') * {N})::BIGINT AS vp,
    1 + floor(u(r, '~su:out') * {O})::BIGINT AS vo
  FROM a
), src AS (
  SELECT *, CASE WHEN kind = 'outsider' THEN -vo ELSE fc_base(vp) END AS ik FROM b
), {_identity_ctes("src")}, f AS (
  SELECT *, u(signup_id, '~su:status') AS u_status,
    {_typed_first("signup_id", "su:first", "CASE WHEN kind = 'unmatched' THEN 0.6 ELSE 0.2 END")} AS _fn,
    CASE WHEN u(r, '~su:alt') < (CASE WHEN kind = 'unmatched' THEN 0.6 ELSE 0.15 END)
         THEN {ALT_EMAIL} ELSE {EMAIL} END AS _e
  FROM i2
)
SELECT
  f.signup_id,
  f.event_id,
  CASE WHEN kind = 'matched' THEN vp END AS person_id,
  {_name_mess("_fn", "signup_id", "su:first", 0.06, 0.10, 0.05)} AS first_name,
  {_name_mess("i_last", "signup_id", "su:last", 0.06, 0.10, 0.05)} AS last_name,
  {_email_mess("_e", "signup_id", "su:email")} AS email,
  CASE WHEN u(signup_id, '~su:phone') < 0.5 THEN {_phone_fmt("signup_id", "su:phone:fmt")} END AS phone,
  CASE WHEN u(signup_id, '~su:zip') < 0.7 THEN {_zip_mess("i_zip", "signup_id", "su:zip4", 0.05)} END AS zip,
  {_pick("u_status", [("attended", 45), ("no_show", 15), ("cancelled", 12),
                      ("confirmed", 13), ("registered", 15)])} AS status,
  make_timestamptz(epoch_us(e.starts_at)
    - 1000000 * floor((0.05 + 29 * pow(u(signup_id, '~su:created'), 2)) * 86400)::BIGINT) AS created_at
FROM f JOIN mobilize.events e ON e.event_id = f.event_id
ORDER BY f.signup_id
"""


def statements(s: dict[str, int]) -> list[str]:
    """Mobilize's statements, in order."""
    return [_events(s), _signups(s)]
