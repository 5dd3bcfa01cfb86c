"""Builds project/: main, and two branches that changed the same query in different ways.

- dem-only keeps only Democrats (party cleaned with upper(trim())); it is already merged into main.
- by-district groups by state house district instead of county, and adds a column with_email.
Merging by-district into main gives a conflict in active_voters.sql.

Authors and dates come from the seed (hashes are the same for one seed). prepare() returns the branches'
starting commits, so the checks can tell old work from new.

Every text committed here is frozen: changing it changes the commit hashes of every workspace's project/.
(The files are written with the platform's newlines, as this script always did, so that repositories
made before it used flowcamp.prepare stay byte-identical on Windows too.)
"""

from datetime import datetime, timezone
from pathlib import Path

from flowcamp.prepare import ScriptedRepo, shared_text

PEOPLE = [("Dana Ortiz", "dana@example.org"), ("Kwame Mensah", "kwame@example.org"),
          ("Priya Natarajan", "priya@example.org"), ("Lee Walsh", "lee@example.org"),
          ("Rosa Delgado", "rosa@example.org")]

BASE = """\
-- Active registered voters per county.
-- Copied out of the Civis SQL script "Active voters (monthly)".

SELECT
    p.county AS county,
    COUNT(*) AS voters
FROM voterfile.people AS p
WHERE p.voter_status = 'active'
GROUP BY p.county
ORDER BY 1;
"""

DEM_ONLY = BASE.replace(
    "WHERE p.voter_status = 'active'\n",
    "WHERE p.voter_status = 'active'\n"
    "  AND UPPER(TRIM(p.party)) IN ('D', 'DEM', 'DEMOCRAT', 'DEMOCRATIC')\n",
).replace("-- Active registered voters per county.", "-- Active registered Democrats per county.")

BY_DISTRICT = BASE.replace(
    "    p.county AS county,\n    COUNT(*) AS voters\n",
    "    p.state_house_district AS district,\n    COUNT(*) AS voters,\n    COUNT(p.email) AS with_email\n",
).replace("GROUP BY p.county\n", "GROUP BY p.state_house_district\n").replace(
    "-- Active registered voters per county.",
    "-- Active registered voters per state house district, and how many have an email.")

RUNNER = shared_text("run_sql_file.py.template").format(sql="active_voters.sql", script="run_query.py")


def prepare(exercise_dir: Path, seed: int) -> dict:
    first = seed % len(PEOPLE)
    a = PEOPLE[first]
    b = PEOPLE[(first + 1 + seed // 7 % (len(PEOPLE) - 1)) % len(PEOPLE)]
    day = 1 + seed % 27
    # The first author is also the repository's identity (and so the committer of every commit).
    repo = ScriptedRepo(exercise_dir / "project", identity=a)

    def at(minute: int) -> datetime:
        return datetime(2024, 5, day, 10, minute, tzinfo=timezone.utc)

    repo.write("active_voters.sql", BASE, newline=None)
    repo.write("run_query.py", RUNNER, newline=None)
    repo.commit("Add the active voters query from Civis, and a script to run it", when=at(6))

    repo.switch("by-district", create=True)
    repo.write("active_voters.sql", BY_DISTRICT, newline=None)
    by_district = repo.commit("Count per state house district, and how many have an email", author=b,
                              committer=a, when=at(8))

    repo.switch("main")
    repo.switch("dem-only", create=True)
    repo.write("active_voters.sql", DEM_ONLY, newline=None)
    dem_only = repo.commit("Keep only Democrats, however the party is spelled", when=at(11))

    repo.switch("main")
    repo.git("merge", "-q", "--ff-only", "dem-only")
    return {"project": {"start": repo.head(), "branches": {"dem-only": dem_only, "by-district": by_district}}}
