"""Builds project/ with three everyday mistakes to undo.

History: a first commit with the turnout query and its runner, then a commit that adds
deadline_check.sql, with a typo in its message and without run_deadline_check.py (left on disk).
Then: a voter export is staged by accident, and run_turnout.py is deleted by accident.
The seed picks the typo and the rows of the export.

Every text committed here is frozen: changing it changes the commit hashes of every workspace's project/.
(The files are written with the platform's newlines, as this script always did, so that repositories
made before it used flowcamp.prepare stay byte-identical on Windows too.) run_deadline_check.py is never
committed by prepare, so it finds the warehouse with the course's shared header.
"""

import random
from datetime import datetime, timezone
from pathlib import Path

from flowcamp.prepare import ScriptedRepo, warehouse_header

TURNOUT_SQL = """-- Turnout by state house district, 2022 general election.
SELECT
    p.state_house_district                  AS district,
    COUNT(DISTINCT p.person_id)             AS registered,
    COUNT(DISTINCT vh.person_id)            AS voted
FROM people AS p
LEFT JOIN vote_history AS vh
    ON vh.person_id = p.person_id AND vh.election_id = 'G2022'
GROUP BY p.state_house_district
ORDER BY p.state_house_district;
"""

RUN_TURNOUT = '''"""Run turnout_by_district.sql against the warehouse and print the rows."""

import os

import duckdb

with duckdb.connect(os.environ.get("FLOWCAMP_WAREHOUSE", "warehouse.duckdb"), read_only=True) as con:
    for row in con.sql(open("turnout_by_district.sql").read()).fetchall():
        print(*row)
'''

DEADLINE_SQL = """-- People who registered after the 2022 registration deadline (24 October 2022).
-- They could not vote in the general election; the field team calls them first in 2024.
SELECT person_id, first_name, last_name, registration_date
FROM people
WHERE registration_date > DATE '2022-10-24'
ORDER BY registration_date;
"""

RUN_DEADLINE = '''"""Run deadline_check.sql and say how many people registered too late."""

''' + warehouse_header() + '''

def main() -> None:
    with duckdb.connect(str(find_warehouse()), read_only=True) as con:
        rows = con.sql((HERE / "deadline_check.sql").read_text()).fetchall()
    print(f"{len(rows)} people registered after the deadline")


if __name__ == "__main__":
    main()
'''

# The message of the last commit, each with one misspelled word (the checks know all of them).
MESSAGES = [
    "Add a chek for people who registered after the deadline",
    "Add a check for late registratons",
    "Add a check for the registration deadlne",
]

FIRST = ["Ana", "Ben", "Chloe", "Dev", "Esther", "Felix", "Grace", "Hugo", "Imani", "Jonah"]
LAST = ["Alvarez", "Brown", "Chen", "Diallo", "Evans", "Fischer", "Garcia", "Hughes", "Ito", "Jones"]


def prepare(exercise_dir: Path, seed: int) -> dict:
    rng = random.Random(f"undo-toolkit-{seed}")
    # A team member's name is the repository's identity, as it always was here.
    identity = (rng.choice(["Rosa Diaz", "Kwame Boateng", "Mei Lin", "Tom Okafor"]), "data-team@example.org")
    project = ScriptedRepo(exercise_dir / "project", identity=identity)

    project.write("turnout_by_district.sql", TURNOUT_SQL, newline=None)
    project.write("run_turnout.py", RUN_TURNOUT, newline=None)
    start = project.commit("Add the turnout query and its runner", when=datetime(2025, 4, 7, 10, 0, tzinfo=timezone.utc))

    # Mistake (c): the commit has a typo in its message and lacks its runner script.
    project.write("deadline_check.sql", DEADLINE_SQL, newline=None)
    last = project.commit(rng.choice(MESSAGES), when=datetime(2025, 4, 8, 15, 30, tzinfo=timezone.utc))
    project.write("run_deadline_check.py", RUN_DEADLINE, newline=None)

    # Mistake (a): a file of personal data staged by accident.
    rows = ["person_id,first_name,last_name,phone"]
    for _ in range(rng.randint(6, 12)):
        rows.append(f"{rng.randint(10000, 99999)},{rng.choice(FIRST)},{rng.choice(LAST)},555-01{rng.randint(0, 99):02d}")
    project.write("voter_export.csv", "\n".join(rows) + "\n", newline=None)
    project.add("voter_export.csv")

    # Mistake (b): a committed file deleted by accident.
    project.delete("run_turnout.py")
    return {"project": {"start": start, "last": last}}
