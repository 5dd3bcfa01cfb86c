"""Builds project/ with three everyday mistakes to undo.

History: a first commit with the turnout query and its runner, then a commit that adds
deadline_check.sql, with a typo in its message and without run_deadline_check.py (left on disk).
Then: a voter export is staged by accident, and run_turnout.py is deleted by accident.
The seed picks the typo and the rows of the export.
"""

import os
import random
import subprocess
from pathlib import Path

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

import os

import duckdb

with duckdb.connect(os.environ.get("FLOWCAMP_WAREHOUSE", "warehouse.duckdb"), read_only=True) as con:
    rows = con.sql(open("deadline_check.sql").read()).fetchall()
print(f"{len(rows)} people registered after the deadline")
'''

# The message of the last commit, each with one misspelled word (the checks know all of them).
MESSAGES = [
    "Add a chek for people who registered after the deadline",
    "Add a check for late registratons",
    "Add a check for the registration deadlne",
]

FIRST = ["Ana", "Ben", "Chloe", "Dev", "Esther", "Felix", "Grace", "Hugo", "Imani", "Jonah"]
LAST = ["Alvarez", "Brown", "Chen", "Diallo", "Evans", "Fischer", "Garcia", "Hughes", "Ito", "Jones"]


def prepare(exercise_dir: Path, seed: int) -> None:
    rng = random.Random(f"undo-toolkit-{seed}")
    project = exercise_dir / "project"
    project.mkdir()

    def git(*args, date="2025-04-07T10:00:00+00:00"):
        env = {**os.environ, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
        subprocess.run(["git", *args], cwd=project, check=True, capture_output=True, env=env)

    def write(name, text):
        (project / name).write_text(text, encoding="utf-8")

    git("init", "-q")
    git("symbolic-ref", "HEAD", "refs/heads/main")
    git("config", "user.name", rng.choice(["Rosa Diaz", "Kwame Boateng", "Mei Lin", "Tom Okafor"]))
    git("config", "user.email", "data-team@example.org")

    write("turnout_by_district.sql", TURNOUT_SQL)
    write("run_turnout.py", RUN_TURNOUT)
    git("add", "turnout_by_district.sql", "run_turnout.py")
    git("commit", "-q", "-m", "Add the turnout query and its runner")

    # Mistake (c): the commit has a typo in its message and lacks its runner script.
    write("deadline_check.sql", DEADLINE_SQL)
    git("add", "deadline_check.sql")
    git("commit", "-q", "-m", rng.choice(MESSAGES), date="2025-04-08T15:30:00+00:00")
    write("run_deadline_check.py", RUN_DEADLINE)

    # Mistake (a): a file of personal data staged by accident.
    rows = ["person_id,first_name,last_name,phone"]
    for _ in range(rng.randint(6, 12)):
        rows.append(f"{rng.randint(10000, 99999)},{rng.choice(FIRST)},{rng.choice(LAST)},555-01{rng.randint(0, 99):02d}")
    write("voter_export.csv", "\n".join(rows) + "\n")
    git("add", "voter_export.csv")

    # Mistake (b): a committed file deleted by accident.
    (project / "run_turnout.py").unlink()
