"""Action Network: ``actionnetwork.subscribers`` and ``actionnetwork.actions``."""

from __future__ import annotations

from .common import ALT_EMAIL, EMAIL, _identity_ctes, _typed_first, _who
from .data import CAMPAIGNS
from .sql import _at, _email_mess, _idx, _name_mess, _pick, _us, _zip_mess


def _subscribers(s: dict[str, int]) -> str:
    """actionnetwork.subscribers: the email list, with some people not in the voter file."""
    N, O = s["people"], s["outsiders"]
    return f"""
CREATE TABLE actionnetwork.subscribers AS
WITH a AS (
  SELECT id AS subscriber_id,
    {_who("u(id, '~sub:who')", 0.60, 0.12)} AS kind,
    1 + floor(u(id, '~sub:person') * {N})::BIGINT AS vp,
    1 + floor(u(id, '~sub:out') * {O})::BIGINT AS vo,
    u(id, '~sub:noname') < 0.10 AS no_name,
    u(id, '~sub:status') AS u_status
  FROM _ids WHERE id <= {s["subscribers"]}
), src AS (
  SELECT *, CASE WHEN kind = 'outsider' THEN -vo ELSE fc_base(vp) END AS ik FROM a
), {_identity_ctes("src")}, f AS (
  SELECT *,
    CASE WHEN NOT no_name THEN {_typed_first("subscriber_id", "sub:first", "0.15")} END AS _fn,
    CASE WHEN NOT no_name THEN i_last END AS _ln,
    CASE WHEN u(subscriber_id, '~sub:alt') < (CASE WHEN kind = 'unmatched' THEN 0.6 ELSE 0.2 END)
         THEN {ALT_EMAIL} ELSE {EMAIL} END AS _e
  FROM i2
)
SELECT
  subscriber_id,
  CASE WHEN kind = 'matched' THEN vp END AS person_id,
  {_email_mess("_e", "subscriber_id", "sub:email")} AS email,
  {_name_mess("_fn", "subscriber_id", "sub:first", 0.06, 0.10, 0.05)} AS first_name,
  {_name_mess("_ln", "subscriber_id", "sub:last", 0.06, 0.10, 0.04)} AS last_name,
  CASE WHEN u(subscriber_id, '~sub:zip') >= 0.35 THEN {_zip_mess("i_zip", "subscriber_id", "sub:zip4", 0.05)} END AS zip,
  {_pick("u_status", [("subscribed", 78), ("unsubscribed", 16), ("bouncing", 6)])} AS status,
  make_timestamptz(fc_subscribed_us(subscriber_id)) AS subscribed_at
FROM f
"""


def _actions(s: dict[str, int]) -> str:
    """actionnetwork.actions: petitions signed, letters sent, forms filled in."""
    return f"""
CREATE TABLE actionnetwork.actions AS
WITH a AS (
  SELECT id AS action_id,
    1 + floor(pow(u(id, '~act:sub'), 1.6) * {s["subscribers"]})::BIGINT AS subscriber_id,
    {_idx("u(id, '~act:campaign')", len(CAMPAIGNS))} AS ci
  FROM _ids WHERE id <= {s["actions"]}
)
SELECT action_id, subscriber_id,
  {_at([c[0] for c in CAMPAIGNS], "ci")} AS action_type,
  {_at([c[1] for c in CAMPAIGNS], "ci")} AS action_title,
  make_timestamptz(start_us + 1000000 * floor(pow(u(action_id, '~act:at'), 2)
    * greatest(0, least({45 * 86400}, ({_us("2024-12-31T23:00:00+00:00")} - start_us) // 1000000)))::BIGINT) AS acted_at
FROM (
  SELECT *, greatest(fc_subscribed_us(subscriber_id),
                     {_at([_us(c[2] + "T14:00:00+00:00") for c in CAMPAIGNS], "ci")}) AS start_us
  FROM a
)
"""


def statements(s: dict[str, int]) -> list[str]:
    """Action Network's statements, in order."""
    return [_subscribers(s), _actions(s)]
