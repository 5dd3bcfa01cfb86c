"""Builds repo/ with two commits; the second one breaks the query. The seed names the author."""

from datetime import datetime, timezone
from pathlib import Path

from flowcamp.prepare import ScriptedRepo


def prepare(exercise_dir: Path, seed: int) -> dict:
    repo = ScriptedRepo(exercise_dir / "repo", identity=(f"Analyst {seed}", "analyst@example.org"))
    repo.write("query.sql", "select count(*) from people where age >= 18;\n")
    repo.commit("Count adults", when=datetime(2025, 1, 6, 9, 0, tzinfo=timezone.utc))
    repo.write("query.sql", "select count(*) from people where age > 18;\n")
    start = repo.commit("Tidy", when=datetime(2025, 1, 6, 9, 30, tzinfo=timezone.utc))
    return {"repo": {"start": start}}
