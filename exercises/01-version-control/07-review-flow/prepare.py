"""Builds remote.git: a bare repository that stands in for the team's GitHub.

It holds main (the turnout pipeline, three commits by two colleagues) and a branch
review-notes with REVIEW.md, where a reviewer asks for a change. The seed picks the
column name the reviewer asks for, so answers cannot be copied between learners.
Dates are fixed, so the hashes are the same for the same seed.
"""

import json
import os
import subprocess
import tempfile
from pathlib import Path

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

SELECT
    p.state_house_district                  AS district,
    COUNT(DISTINCT p.person_id)             AS registered,
    COUNT(DISTINCT vh.person_id)            AS voted,
    ROUND(100.0 * COUNT(DISTINCT vh.person_id)
          / NULLIF(COUNT(DISTINCT p.person_id), 0), 1) AS turnout_pct
FROM voterfile.people AS p
LEFT JOIN voterfile.vote_history AS vh
       ON vh.person_id = p.person_id
      AND vh.election_date = '2022-11-08'
WHERE p.registration_date <= '2022-10-24'
GROUP BY p.state_house_district
ORDER BY p.state_house_district;
"""

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


def prepare(exercise_dir: Path, seed: int) -> None:
    column = COLUMN_NAMES[seed % len(COLUMN_NAMES)]
    reviewer, reviewer_email = REVIEWERS[(seed // len(COLUMN_NAMES)) % len(REVIEWERS)]
    remote = exercise_dir / "remote.git"

    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        env.pop(key, None)

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "pipeline"
        src.mkdir()

        def git(*args, cwd=src, **extra):
            subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env={**env, **extra})

        def commit(message, who, when):
            name, email = who
            stamp = f"2026-03-{when:02d}T10:00:00+00:00"
            git("add", "-A")
            git("-c", f"user.name={name}", "-c", f"user.email={email}", "commit", "-q", "-m", message,
                GIT_AUTHOR_DATE=stamp, GIT_COMMITTER_DATE=stamp)

        git("init", "-q")
        git("symbolic-ref", "HEAD", "refs/heads/main")
        git("config", "user.name", "Flowcamp Setup")
        git("config", "user.email", "setup@example.org")
        git("config", "commit.gpgsign", "false")
        maya = ("Maya Okafor", "maya@example.org")
        (src / "turnout_by_district.sql").write_text(QUERY_2022, encoding="utf-8")
        commit("Add the turnout query, moved from Civis", maya, 2)
        (src / "run_turnout.py").write_text(RUNNER, encoding="utf-8")
        commit("Add a script that runs the turnout query", maya, 3)
        (src / "README.md").write_text(PROJECT_README, encoding="utf-8")
        commit("Say how we change the pipeline", (reviewer, reviewer_email), 4)
        main_sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=src, check=True, capture_output=True,
                                  text=True, env=env).stdout.strip()

        git("checkout", "-q", "-b", "review-notes")
        (src / "REVIEW.md").write_text(REVIEW.format(reviewer=reviewer, column=column), encoding="utf-8")
        commit("Review notes for the 2024 update", (reviewer, reviewer_email), 9)
        review_sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=src, check=True, capture_output=True,
                                    text=True, env=env).stdout.strip()

        git("init", "-q", "--bare", str(remote), cwd=exercise_dir)
        git("symbolic-ref", "HEAD", "refs/heads/main", cwd=remote)
        git("push", "-q", str(remote), "main", "review-notes")

    # What the checks compare against. Git ignores extra files in a bare repository.
    (remote / "flowcamp.json").write_text(json.dumps({
        "main": main_sha, "review_notes": review_sha, "column": column, "reviewer": reviewer,
    }, indent=2) + "\n", encoding="utf-8")
