"""Builds repo/ with two commits; the second one breaks the query. The seed names the author."""

import subprocess
from pathlib import Path


def prepare(exercise_dir: Path, seed: int) -> None:
    repo = exercise_dir / "repo"
    repo.mkdir()

    def git(*args):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)

    git("init", "-q")
    git("config", "user.name", f"Analyst {seed}")
    git("config", "user.email", "analyst@example.org")
    (repo / "query.sql").write_text("select count(*) from people where age >= 18;\n")
    git("add", "query.sql")
    git("commit", "-q", "-m", "Count adults")
    (repo / "query.sql").write_text("select count(*) from people where age > 18;\n")
    git("commit", "-q", "-am", "Tidy")
