"""Builds pipeline/: the nightly event-attendance pipeline, with a warehouse password in its history.

Five commits by three colleagues. The second one pasted the production password into settings.py; the
third saved a notebook whose output printed it. Both are still there at the last commit.

The seed picks the fake password (it starts with "fcsecret-", like every planted secret of the course).
Every text committed here is frozen: changing it changes the commit hashes of every workspace's pipeline/.
"""

import json
import random
from datetime import datetime, timezone
from pathlib import Path

from flowcamp.prepare import ScriptedRepo

CREDENTIAL = "WAREHOUSE_PASSWORD"

README_FIRST = """# Nightly event attendance

Counts, for every event, how many people signed up and how many came.
It runs every night.

- On a laptop it reads the DuckDB file `warehouse.duckdb` (or the file named by `FLOWCAMP_WAREHOUSE`).
- In production it reads the team's warehouse.
"""

README_RUN = README_FIRST + """
## Run it

```bash
uv run python nightly_attendance.py
```

Set `PIPELINE_ENV=prod` on the server. Leave it unset on a laptop.
"""

GITIGNORE = """.env
*.duckdb
__pycache__/
.ipynb_checkpoints/
"""

SETTINGS_DEV = '''"""Where the nightly attendance pipeline finds its warehouse."""

import os

# "dev" on a laptop (the DuckDB file), "prod" on the server.
PIPELINE_ENV = os.environ.get("PIPELINE_ENV", "dev")
DUCKDB_PATH = os.environ.get("FLOWCAMP_WAREHOUSE", "warehouse.duckdb")
'''

SETTINGS_PROD = SETTINGS_DEV + '''
# The production warehouse.
WAREHOUSE_HOST = "warehouse.example.org"
WAREHOUSE_PORT = 5439
WAREHOUSE_USER = "etl_nightly"
WAREHOUSE_PASSWORD = "{password}"


def production_url() -> str:
    """The production warehouse's address, with the user and password in it."""
    return f"postgresql://{{WAREHOUSE_USER}}:{{WAREHOUSE_PASSWORD}}@{{WAREHOUSE_HOST}}:{{WAREHOUSE_PORT}}/events"
'''

PIPELINE = '''"""The nightly attendance pipeline: one row per event, with sign-ups and attendance."""

from pathlib import Path

import duckdb

import settings

QUERY = Path(__file__).with_name("attendance.sql").read_text()


def connect():
    """The DuckDB file on a laptop; in production, the team's warehouse (through DuckDB's postgres extension)."""
    if settings.PIPELINE_ENV == "prod":
        con = duckdb.connect()
        con.execute("INSTALL postgres")
        con.execute("LOAD postgres")
        con.execute(f"ATTACH '{settings.production_url()}' AS warehouse (TYPE postgres)")
        return con
    return duckdb.connect(settings.DUCKDB_PATH, read_only=True)


if __name__ == "__main__":
    with connect() as con:
        for row in con.sql(QUERY).fetchall():
            print(row)
'''

SQL_FIRST = """-- Sign-ups and attendance per event.
SELECT e.event_id, e.title,
       COUNT(*) AS signups,
       COUNT(*) FILTER (WHERE s.status = 'attended') AS attended
FROM mobilize.events AS e
JOIN mobilize.signups AS s ON s.event_id = e.event_id
GROUP BY e.event_id, e.title
ORDER BY e.event_id;
"""

SQL_NO_SHOWS = """-- Sign-ups, attendance and no-shows per event.
SELECT e.event_id, e.title,
       COUNT(*) AS signups,
       COUNT(*) FILTER (WHERE s.status = 'attended') AS attended,
       COUNT(*) FILTER (WHERE s.status = 'no_show') AS no_shows
FROM mobilize.events AS e
JOIN mobilize.signups AS s ON s.event_id = e.event_id
GROUP BY e.event_id, e.title
ORDER BY e.event_id;
"""


def notebook(password: str) -> str:
    """A notebook saved with its outputs: the second cell printed the password while someone debugged."""
    cells = [
        {"cell_type": "markdown", "id": "a1", "metadata": {}, "source": ["# Why did attendance drop in March?"]},
        {"cell_type": "code", "execution_count": 1, "id": "a2", "metadata": {},
         "source": ["import settings\n", "\n",
                    "print(\"Connecting to\", settings.WAREHOUSE_HOST, \"as\", settings.WAREHOUSE_USER,\n",
                    "      \"with password\", settings.WAREHOUSE_PASSWORD)"],
         "outputs": [{"name": "stdout", "output_type": "stream",
                      "text": [f"Connecting to warehouse.example.org as etl_nightly with password {password}\n"]}]},
        {"cell_type": "code", "execution_count": 2, "id": "a3", "metadata": {},
         "source": ["import duckdb\n", "\n",
                    "con = duckdb.connect(settings.DUCKDB_PATH, read_only=True)\n",
                    "con.sql(open(\"attendance.sql\").read()).limit(3)"],
         "outputs": [{"data": {"text/plain": [
             "┌──────────┬──────────────────┬─────────┬──────────┐\n",
             "│ event_id │      title       │ signups │ attended │\n",
             "├──────────┼──────────────────┼─────────┼──────────┤\n",
             "│        1 │ Phone bank       │      41 │       29 │\n",
             "│        2 │ Canvass kickoff  │      37 │       30 │\n",
             "│        3 │ Volunteer social │      22 │       12 │\n",
             "└──────────┴──────────────────┴─────────┴──────────┘"]},
             "execution_count": 2, "metadata": {}, "output_type": "execute_result"}]},
    ]
    doc = {"cells": cells,
           "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                        "language_info": {"name": "python"}},
           "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def prepare(exercise_dir: Path, seed: int) -> dict:
    rng = random.Random(f"leaked-secret-{seed}")
    password = f"fcsecret-{rng.getrandbits(64):016x}"
    dana = ("Dana Ortiz", "dana@example.org")
    sam = (rng.choice(["Sam Reyes", "Sam Okoye", "Sam Lindqvist"]), "sam@example.org")
    lee = ("Lee Park", "lee@example.org")

    repo = ScriptedRepo(exercise_dir / "pipeline", identity=("Data Team", "data-team@example.org"))
    repo.write("README.md", README_FIRST)
    repo.write(".gitignore", GITIGNORE)
    repo.write("settings.py", SETTINGS_DEV)
    repo.write("nightly_attendance.py", PIPELINE)
    repo.write("attendance.sql", SQL_FIRST)
    first = repo.commit("Start the nightly attendance pipeline", author=dana,
                        when=datetime(2025, 4, 1, 9, 30, tzinfo=timezone.utc))

    repo.write("settings.py", SETTINGS_PROD.format(password=password))
    leak_when = datetime(2025, 4, 8, 16, 45, tzinfo=timezone.utc)
    leak = repo.commit("Add the production warehouse settings", author=sam, when=leak_when)

    repo.write("explore_attendance.ipynb", notebook(password))
    notebook_leak = repo.commit("Explore the drop in March attendance", author=lee,
                                when=datetime(2025, 4, 15, 11, 5, tzinfo=timezone.utc))

    repo.write("attendance.sql", SQL_NO_SHOWS)
    repo.commit("Count no-shows per event", author=dana, when=datetime(2025, 4, 22, 10, 0, tzinfo=timezone.utc))

    repo.write("README.md", README_RUN)
    start = repo.commit("Say how to run the pipeline", author=dana,
                        when=datetime(2025, 5, 6, 14, 20, tzinfo=timezone.utc))

    subjects = [c for c in repo.git("log", "--reverse", "--format=%s").splitlines() if c]
    return {"pipeline": {
        "first": first, "leak": leak, "notebook_leak": notebook_leak, "start": start,
        "subjects": subjects, "secret": password, "credential": CREDENTIAL,
        "leak_file": "settings.py", "notebook": "explore_attendance.ipynb",
        "leaked_on": leak_when.date().isoformat(),
    }}
