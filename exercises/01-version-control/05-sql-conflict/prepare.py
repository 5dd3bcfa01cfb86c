"""Builds project/: main, and two branches that changed the same query in different ways.

- dem-only keeps only Democrats (party cleaned with upper(trim())); it is already merged into main.
- by-district groups by state house district instead of county, and adds a column with_email.
Merging by-district into main gives a conflict in active_voters.sql.

Authors and dates come from the seed (hashes are the same for one seed). The starting commits
are written to .git/flowcamp-start (JSON) so the checks can tell old work from new.
"""

import json
import os
import subprocess
from pathlib import Path

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

RUNNER = '''\
"""Run active_voters.sql and print the result: python run_query.py"""

import os
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent


def find_warehouse() -> Path:
    """FLOWCAMP_WAREHOUSE if set, else the first warehouse.duckdb in this folder or above."""
    if os.environ.get("FLOWCAMP_WAREHOUSE"):
        return Path(os.environ["FLOWCAMP_WAREHOUSE"])
    for folder in [HERE, *HERE.parents]:
        if (folder / "warehouse.duckdb").exists():
            return folder / "warehouse.duckdb"
    raise SystemExit("No warehouse.duckdb found. Set FLOWCAMP_WAREHOUSE to its path.")


if __name__ == "__main__":
    query = (HERE / "active_voters.sql").read_text()
    with duckdb.connect(str(find_warehouse()), read_only=True) as con:
        con.sql(query).show(max_rows=300)
'''


def prepare(exercise_dir: Path, seed: int) -> None:
    repo = exercise_dir / "project"
    repo.mkdir(exist_ok=True)
    first = seed % len(PEOPLE)
    a_name, a_email = PEOPLE[first]
    b_name, b_email = PEOPLE[(first + 1 + seed // 7 % (len(PEOPLE) - 1)) % len(PEOPLE)]
    day = 1 + seed % 27
    clock = [0]

    def git(*args, who=(a_name, a_email)):
        clock[0] += 1
        when = f"2024-05-{day:02d}T10:{clock[0]:02d}:00+00:00"
        env = {**os.environ, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when,
               "GIT_AUTHOR_NAME": who[0], "GIT_AUTHOR_EMAIL": who[1]}
        return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True,
                               env=env).stdout

    sql = repo / "active_voters.sql"
    git("init", "-q")
    git("symbolic-ref", "HEAD", "refs/heads/main")
    git("config", "user.name", a_name)
    git("config", "user.email", a_email)
    sql.write_text(BASE, encoding="utf-8")
    (repo / "run_query.py").write_text(RUNNER, encoding="utf-8")
    git("add", "active_voters.sql", "run_query.py")
    git("commit", "-q", "-m", "Add the active voters query from Civis, and a script to run it")

    git("switch", "-q", "-c", "by-district")
    sql.write_text(BY_DISTRICT, encoding="utf-8")
    git("commit", "-q", "-am", "Count per state house district, and how many have an email", who=(b_name, b_email))

    git("switch", "-q", "main")
    git("switch", "-q", "-c", "dem-only")
    sql.write_text(DEM_ONLY, encoding="utf-8")
    git("commit", "-q", "-am", "Keep only Democrats, however the party is spelled")

    git("switch", "-q", "main")
    git("merge", "-q", "--ff-only", "dem-only")

    tips = {"dem-only": git("rev-parse", "dem-only").strip(), "by-district": git("rev-parse", "by-district").strip()}
    (repo / ".git" / "flowcamp-start").write_text(json.dumps(tips) + "\n", encoding="utf-8")
