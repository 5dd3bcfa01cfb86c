"""Builds project/: one commit with the code, and untracked secrets, data and caches next to it.

The seed picks the fake passwords in .env, so no two learners have the same ones.

Every text committed here is frozen: changing it changes the commit hashes of every workspace's project/.
(The files are written with the platform's newlines, as this script always did, so that repositories
made before it used flowcamp.prepare stay byte-identical on Windows too.)
"""

import random
from datetime import datetime, timezone
from pathlib import Path

from flowcamp.prepare import ScriptedRepo

LOAD_SIGNUPS = '''"""Load this week's event sign-ups into the warehouse.

On Civis the password came from a Credential attached to the script.
Here it comes from the environment: put it in .env (never commit that file).
"""

import os

import duckdb


def connect():
    """Open the warehouse named by FLOWCAMP_WAREHOUSE (a DuckDB file stands in for Redshift)."""
    path = os.environ.get("FLOWCAMP_WAREHOUSE", "warehouse.duckdb")
    return duckdb.connect(path)


def mobilize_key() -> str:
    """The Mobilize API key, from the environment."""
    return os.environ["MOBILIZE_API_KEY"]


if __name__ == "__main__":
    with connect() as con:
        print(con.sql(open("signups_by_event.sql").read()).fetchall())
'''

SIGNUPS_SQL = """-- Sign-ups per event, newest events first.
SELECT e.event_id, e.title, COUNT(*) AS signups
FROM events AS e
JOIN event_signups AS s ON s.event_id = e.event_id
GROUP BY e.event_id, e.title
ORDER BY e.event_id DESC;
"""

ENV_EXAMPLE = """# Copy this file to .env and fill in the real values.
# .env is ignored by git; this example file is committed so the team knows what to set.
FLOWCAMP_WAREHOUSE=warehouse.duckdb
WAREHOUSE_PASSWORD=change-me
MOBILIZE_API_KEY=change-me
"""

NOTEBOOK = """{
 "cells": [
  {"cell_type": "markdown", "metadata": {}, "source": ["# A first look at sign-ups"]},
  {"cell_type": "code", "execution_count": null, "metadata": {}, "outputs": [],
   "source": ["import duckdb\\n", "duckdb.connect('warehouse.duckdb').sql(open('signups_by_event.sql').read())"]}
 ],
 "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
 "nbformat": 4,
 "nbformat_minor": 5
}
"""


def prepare(exercise_dir: Path, seed: int) -> dict:
    rng = random.Random(f"gitignore-{seed}")
    # A team member's name is the repository's identity, as it always was here.
    identity = (rng.choice(["Rosa Diaz", "Kwame Boateng", "Mei Lin", "Tom Okafor"]), "data-team@example.org")
    project = ScriptedRepo(exercise_dir / "project", identity=identity)

    project.write("load_signups.py", LOAD_SIGNUPS, newline=None)
    project.write("signups_by_event.sql", SIGNUPS_SQL, newline=None)
    start = project.commit("Add the sign-up loader, copied from Civis",
                           when=datetime(2025, 3, 10, 9, 15, tzinfo=timezone.utc))

    # Untracked: what belongs in the repository ...
    project.write(".env.example", ENV_EXAMPLE, newline=None)
    project.write("explore_signups.ipynb", NOTEBOOK, newline=None)
    # ... and what never does. The fake secrets start with "fcsecret-" so the checks can spot them.
    password = f"fcsecret-{rng.getrandbits(48):012x}"
    api_key = f"fcsecret-{rng.getrandbits(64):016x}"
    project.write(
        ".env",
        "# Real values: never commit this file.\n"
        "FLOWCAMP_WAREHOUSE=warehouse.duckdb\n"
        f"WAREHOUSE_PASSWORD={password}\n"
        f"MOBILIZE_API_KEY={api_key}\n",
        newline=None,
    )
    project.write_bytes("warehouse.duckdb", b"DUCK" + rng.randbytes(2048))
    project.write_bytes("__pycache__/load_signups.cpython-311.pyc", b"\xa7\r\r\n" + rng.randbytes(256))
    project.write(".ipynb_checkpoints/explore_signups-checkpoint.ipynb", NOTEBOOK, newline=None)
    return {"project": {"start": start}}
