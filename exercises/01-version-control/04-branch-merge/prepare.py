"""Builds project/: a small repository on branch main with the turnout query and its runner.

Dates and the author come from the seed, so hashes are the same for one seed and differ between learners.
The starting commit is written to .git/flowcamp-start so the checks can tell old work from new.
"""

import os
import subprocess
from pathlib import Path

AUTHORS = [("Dana Ortiz", "dana@example.org"), ("Kwame Mensah", "kwame@example.org"),
           ("Priya Natarajan", "priya@example.org"), ("Lee Walsh", "lee@example.org")]

QUERY_V1 = """\
-- Turnout by state house district, 2022 general election
-- Copied out of the Civis SQL script "Turnout by district (weekly)".

SELECT
    p.state_house_district                  AS district,
    COUNT(DISTINCT p.person_id)             AS registered,
    COUNT(DISTINCT vh.person_id)            AS voted
FROM voterfile.people AS p
LEFT JOIN voterfile.vote_history AS vh
       ON vh.person_id = p.person_id
      AND vh.election_date = '2022-11-08'
WHERE p.registration_date <= '2022-10-24'
GROUP BY p.state_house_district
ORDER BY p.state_house_district;
"""

QUERY_V2 = QUERY_V1.replace(
    "    COUNT(DISTINCT vh.person_id)            AS voted\n",
    "    COUNT(DISTINCT vh.person_id)            AS voted,\n"
    "    ROUND(100.0 * COUNT(DISTINCT vh.person_id)\n"
    "          / NULLIF(COUNT(DISTINCT p.person_id), 0), 1) AS turnout_pct\n",
)

RUNNER = '''\
"""Run turnout_by_district.sql and print the result: python run_turnout.py"""

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
    query = (HERE / "turnout_by_district.sql").read_text()
    with duckdb.connect(str(find_warehouse()), read_only=True) as con:
        con.sql(query).show(max_rows=300)
'''


def prepare(exercise_dir: Path, seed: int) -> None:
    repo = exercise_dir / "project"
    repo.mkdir(exist_ok=True)
    name, email = AUTHORS[seed % len(AUTHORS)]
    day = 1 + seed % 27
    clock = [0]

    def git(*args):
        clock[0] += 1
        when = f"2024-03-{day:02d}T09:{clock[0]:02d}:00+00:00"
        env = {**os.environ, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
        return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True, env=env).stdout

    git("init", "-q")
    git("symbolic-ref", "HEAD", "refs/heads/main")
    git("config", "user.name", name)
    git("config", "user.email", email)
    sql = repo / "turnout_by_district.sql"
    sql.write_text(QUERY_V1, encoding="utf-8")
    git("add", "turnout_by_district.sql")
    git("commit", "-q", "-m", "Add the turnout query from Civis")
    (repo / "run_turnout.py").write_text(RUNNER, encoding="utf-8")
    git("add", "run_turnout.py")
    git("commit", "-q", "-m", "Add a script that runs the turnout query")
    sql.write_text(QUERY_V2, encoding="utf-8")
    git("commit", "-q", "-am", "Show turnout as a percentage")
    start = git("rev-parse", "HEAD").strip()
    (repo / ".git" / "flowcamp-start").write_text(start + "\n", encoding="utf-8")
