"""Builds project/: a small repository on branch main with the turnout query and its runner.

Dates and the author come from the seed, so hashes are the same for one seed and differ between learners.
prepare() returns the starting commit, so the checks can tell old work from new.

Every text committed here is frozen: changing it changes the commit hashes of every workspace's project/.
(The files are written with the platform's newlines, as this script always did, so that repositories
made before it used flowcamp.prepare stay byte-identical on Windows too.)
"""

from datetime import datetime, timezone
from pathlib import Path

from flowcamp.prepare import ScriptedRepo, shared_text

AUTHORS = [("Dana Ortiz", "dana@example.org"), ("Kwame Mensah", "kwame@example.org"),
           ("Priya Natarajan", "priya@example.org"), ("Lee Walsh", "lee@example.org")]

HEADER = """\
-- Turnout by state house district, 2022 general election
-- Copied out of the Civis SQL script "Turnout by district (weekly)".

"""

QUERY_V2 = HEADER + shared_text("turnout_by_district.sql")  # the course's turnout query
TURNOUT_PCT = (
    "    COUNT(DISTINCT vh.person_id)            AS voted,\n"
    "    ROUND(100.0 * COUNT(DISTINCT vh.person_id)\n"
    "          / NULLIF(COUNT(DISTINCT p.person_id), 0), 1) AS turnout_pct\n"
)
assert QUERY_V2.count(TURNOUT_PCT) == 1
QUERY_V1 = QUERY_V2.replace(TURNOUT_PCT, "    COUNT(DISTINCT vh.person_id)            AS voted\n")  # before turnout_pct

RUNNER = shared_text("run_sql_file.py.template").format(sql="turnout_by_district.sql", script="run_turnout.py")


def prepare(exercise_dir: Path, seed: int) -> dict:
    name, email = AUTHORS[seed % len(AUTHORS)]
    day = 1 + seed % 27
    # The seed's author is also the repository's identity, as it always was here.
    repo = ScriptedRepo(exercise_dir / "project", identity=(name, email))

    def at(minute: int) -> datetime:
        return datetime(2024, 3, day, 9, minute, tzinfo=timezone.utc)

    repo.write("turnout_by_district.sql", QUERY_V1, newline=None)
    repo.commit("Add the turnout query from Civis", when=at(6))
    repo.write("run_turnout.py", RUNNER, newline=None)
    repo.commit("Add a script that runs the turnout query", when=at(8))
    repo.write("turnout_by_district.sql", QUERY_V2, newline=None)
    start = repo.commit("Show turnout as a percentage", when=at(9))
    return {"project": {"start": start}}
