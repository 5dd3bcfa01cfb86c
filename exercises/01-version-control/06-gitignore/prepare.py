"""Builds project/: one commit with the code, and untracked secrets, data and caches next to it.

The seed picks the fake passwords in .env, so no two learners have the same ones.
"""

import os
import random
import subprocess
from pathlib import Path

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


def prepare(exercise_dir: Path, seed: int) -> None:
    rng = random.Random(f"gitignore-{seed}")
    project = exercise_dir / "project"
    project.mkdir()
    env = {
        **os.environ,
        "GIT_AUTHOR_DATE": "2025-03-10T09:15:00+00:00",
        "GIT_COMMITTER_DATE": "2025-03-10T09:15:00+00:00",
    }

    def git(*args):
        subprocess.run(["git", *args], cwd=project, check=True, capture_output=True, env=env)

    git("init", "-q")
    git("symbolic-ref", "HEAD", "refs/heads/main")
    git("config", "user.name", rng.choice(["Rosa Diaz", "Kwame Boateng", "Mei Lin", "Tom Okafor"]))
    git("config", "user.email", "data-team@example.org")

    (project / "load_signups.py").write_text(LOAD_SIGNUPS, encoding="utf-8")
    (project / "signups_by_event.sql").write_text(SIGNUPS_SQL, encoding="utf-8")
    git("add", "load_signups.py", "signups_by_event.sql")
    git("commit", "-q", "-m", "Add the sign-up loader, copied from Civis")

    # Untracked: what belongs in the repository ...
    (project / ".env.example").write_text(ENV_EXAMPLE, encoding="utf-8")
    (project / "explore_signups.ipynb").write_text(NOTEBOOK, encoding="utf-8")
    # ... and what never does. The fake secrets start with "fcsecret-" so the checks can spot them.
    password = f"fcsecret-{rng.getrandbits(48):012x}"
    api_key = f"fcsecret-{rng.getrandbits(64):016x}"
    (project / ".env").write_text(
        "# Real values: never commit this file.\n"
        "FLOWCAMP_WAREHOUSE=warehouse.duckdb\n"
        f"WAREHOUSE_PASSWORD={password}\n"
        f"MOBILIZE_API_KEY={api_key}\n",
        encoding="utf-8",
    )
    (project / "warehouse.duckdb").write_bytes(b"DUCK" + rng.randbytes(2048))
    (project / "__pycache__").mkdir()
    (project / "__pycache__" / "load_signups.cpython-311.pyc").write_bytes(b"\xa7\r\r\n" + rng.randbytes(256))
    (project / ".ipynb_checkpoints").mkdir()
    (project / ".ipynb_checkpoints" / "explore_signups-checkpoint.ipynb").write_text(NOTEBOOK, encoding="utf-8")
