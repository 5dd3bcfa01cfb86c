"""Learners coming from Civis read query results as pandas DataFrames (`read_civis_sql(..., return_as="pandas")`):
`.df()` on a DuckDB query must work in a learner process, as the warehouse lesson shows."""

from __future__ import annotations

from flowcamp.results import Status
from flowcamp.runner import run_check

# add(a, b) answered by DuckDB, read back through a DataFrame: it passes only if `.df()` works.
WITH_A_DATAFRAME = '''import duckdb


def add(a, b):
    df = duckdb.sql(f"select {a!r} + {b!r} as total").df()
    return df["total"].iloc[0].item()
'''


def test_a_learner_process_can_read_a_query_as_a_dataframe(golden_course, make_workspace):
    # The first import after an install compiles pandas (seconds): done here, not against the check's time limit.
    # If pandas is not installed this line fails, and that is the point of the test too.
    import pandas  # noqa: F401

    ws = make_workspace(golden_course)
    ex = golden_course.get("add")
    (ws.exercise_dir(ex) / "calc.py").write_text(WITH_A_DATAFRAME, encoding="utf-8")
    result = run_check(ws, ex)
    assert result.status is Status.PASS, result.to_json()
