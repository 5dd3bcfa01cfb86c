"""Phone and text banks: ``phonebank.contacts``."""

from __future__ import annotations

from .data import CALLERS
from .sql import _from_list, _pick, _us


def _contacts(s: dict[str, int]) -> str:
    """phonebank.contacts: calls and texts to voters in the autumn of 2024."""
    N = s["people"]
    score = {
        "D": [(5, 45), (4, 32), (3, 15), (2, 5), (1, 3)],
        "R": [(1, 45), (2, 30), (3, 15), (4, 6), (5, 4)],
        "O": [(1, 12), (2, 18), (3, 40), (4, 18), (5, 12)],
    }
    score_cases = " ".join(f"WHEN '{pc}' THEN {_pick('u_score', w)}" for pc, w in score.items())
    # Calls happen 9:00-21:00 in Pennsylvania: UTC-4 until 3 Nov 2024, then UTC-5.
    return f"""
CREATE TABLE phonebank.contacts AS
WITH a AS (
  SELECT id AS contact_id,
    1 + floor(u(1 + floor(u(id, '~pb:target') * {s["targets"]})::BIGINT, '~target:person') * {N})::BIGINT AS person_id,
    CASE WHEN u(id, '~pb:channel') < 0.55 THEN 'call' ELSE 'text' END AS channel,
    u(id, '~pb:result') AS u_res,
    u(id, '~pb:score') AS u_score,
    floor(u(id, '~pb:day') * 63)::INTEGER AS day,
    floor((9 + 12 * u(id, '~pb:time')) * 3600)::INTEGER AS local_seconds
  FROM _ids WHERE id <= {s["contacts"]}
), b AS (
  SELECT *,
    fc_party(fc_base(person_id)) AS party_code,
    CASE WHEN channel = 'call'
         THEN {_pick("u_res", [("answered", 20), ("no_answer", 45), ("wrong_number", 8),
                               ("refused", 7), ("left_message", 20)])}
         ELSE {_pick("u_res", [("replied", 15), ("no_answer", 75), ("wrong_number", 4),
                               ("opted_out", 6)])} END AS result
  FROM a
)
SELECT contact_id, person_id, channel,
  make_timestamptz({_us("2024-09-03T00:00:00+00:00")} + 1000000 * (
    day * 86400 + local_seconds + (CASE WHEN day >= 61 THEN 5 ELSE 4 END) * 3600)::BIGINT) AS contacted_at,
  result,
  (CASE WHEN result IN ('answered', 'replied') AND u(contact_id, '~pb:scored') < 0.85
        THEN CASE party_code {score_cases} END END)::INTEGER AS support_score,
  CASE WHEN u(contact_id, '~pb:nocaller') < 0.02 THEN NULL
       ELSE {_from_list(CALLERS, "pow(u(contact_id, '~pb:caller'), 1.3)")} END AS caller
FROM b
"""


def statements(s: dict[str, int]) -> list[str]:
    """The phone and text banks' statements, in order."""
    return [_contacts(s)]
