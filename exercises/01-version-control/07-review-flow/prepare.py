"""Builds remote.git: a bare repository that stands in for the team's GitHub.

It holds main (the turnout pipeline, three commits by two colleagues) and a branch
review-notes with REVIEW.md, where a reviewer asks for a change. The seed picks the
column name the reviewer asks for, so answers cannot be copied between learners.
Dates are fixed, so the hashes are the same for the same seed. prepare() returns the two branches'
commits, the column and the reviewer for the checks.

Every text committed here is frozen: changing it changes the commit hashes of every workspace's remote.git.
(The files are written with the platform's newlines, as this script always did, so that repositories
made before it used flowcamp.prepare stay byte-identical on Windows too.)
"""

import tempfile
from datetime import datetime, timezone
from pathlib import Path

from flowcamp.prepare import ScriptedRepo, shared_text

# The reviewer asks to rename turnout_pct to one of these; the seed picks which.
COLUMN_NAMES = ["pct_voted", "share_voted", "turnout_percent", "percent_voted", "voted_share"]
REVIEWERS = [("Dana Reyes", "dana@example.org"), ("Kofi Mensah", "kofi@example.org"),
             ("Lena Park", "lena@example.org"), ("Omar Haddad", "omar@example.org")]

QUERY_2022 = """\
-- Turnout by state house district, general election.
-- Moved here from the Civis script "Turnout by district (weekly)".
--
-- One row per district: how many registered voters live there,
-- how many of them voted, and the share that voted.

""" + shared_text("turnout_by_district.sql")  # the course's turnout query

RUNNER = '''\
"""Run turnout_by_district.sql against the warehouse and print the result.

Run it from a terminal:  python run_turnout.py
It reads the file named by FLOWCAMP_WAREHOUSE, or else the first
warehouse.duckdb in this folder or a folder above it.
"""

import os
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent


def find_warehouse() -> Path:
    if os.environ.get("FLOWCAMP_WAREHOUSE"):
        return Path(os.environ["FLOWCAMP_WAREHOUSE"])
    for folder in [HERE, *HERE.parents]:
        if (folder / "warehouse.duckdb").exists():
            return folder / "warehouse.duckdb"
    raise SystemExit("No warehouse.duckdb found. Set FLOWCAMP_WAREHOUSE to its path.")


def main() -> None:
    query = (HERE / "turnout_by_district.sql").read_text()
    with duckdb.connect(str(find_warehouse()), read_only=True) as con:
        result = con.sql(query)
        print("  ".join(result.columns))
        for row in result.fetchall():
            print("  ".join(str(value) for value in row))


if __name__ == "__main__":
    main()
'''

PROJECT_README = """\
# Turnout pipeline

The weekly turnout numbers for the field team.

- `turnout_by_district.sql`: the query.
- `run_turnout.py`: runs the query and prints the table.

## How we change it

Nobody commits to `main` directly. Make a branch, push it, and open a pull
request. One teammate reviews it; it goes into `main` after their approval.
"""

REVIEW = """\
# Review notes

Reviewer: {reviewer}

Thanks for picking up the 2024 update! One change before I approve:

- Please rename the column `turnout_pct` to `{column}`. The dashboard
  team reads the columns by name, and `{column}` is what they expect.

Keep everything else as it is. Make the change in a new commit on the same
branch and push it, so I can see just what changed since my review.
"""


def prepare(exercise_dir: Path, seed: int) -> dict:
    column = COLUMN_NAMES[seed % len(COLUMN_NAMES)]
    reviewer = REVIEWERS[(seed // len(COLUMN_NAMES)) % len(REVIEWERS)]
    maya = ("Maya Okafor", "maya@example.org")

    def day(n: int) -> datetime:
        return datetime(2026, 3, n, 10, 0, tzinfo=timezone.utc)

    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        src = ScriptedRepo(Path(tmp) / "pipeline", identity=("Flowcamp Setup", "setup@example.org"))
        src.write("turnout_by_district.sql", QUERY_2022, newline=None)
        src.commit("Add the turnout query, moved from Civis", author=maya, when=day(2))
        src.write("run_turnout.py", RUNNER, newline=None)
        src.commit("Add a script that runs the turnout query", author=maya, when=day(3))
        src.write("README.md", PROJECT_README, newline=None)
        main_sha = src.commit("Say how we change the pipeline", author=reviewer, when=day(4))

        src.switch("review-notes", create=True)
        src.write("REVIEW.md", REVIEW.format(reviewer=reviewer[0], column=column), newline=None)
        review_sha = src.commit("Review notes for the 2024 update", author=reviewer, when=day(9))

        src.publish_bare(exercise_dir / "remote.git", ["main", "review-notes"], head="main")

    return {"remote.git": {"main": main_sha, "review_notes": review_sha, "column": column, "reviewer": reviewer[0]}}
