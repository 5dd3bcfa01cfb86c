"""The secrets module's promise: no check, message, output or results document ever shows a secret value.

Every exercise of the module is checked, as shipped and with its solution, through the real command line,
with known fake secrets in the environment (names a secret scanner would flag and names it would not) and in
a `.env` file in the exercise's folder; every byte the command prints, and the results document, is searched
for them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flowcamp import curriculum
from flowcamp.course import Course
from flowcamp.kinds import kind_of

pytestmark = pytest.mark.usefixtures("warm_worker")

ROOT = Path(__file__).resolve().parents[1]
COURSE = Course(ROOT)
MODULE = "05-secrets"
EXERCISES = [ex for ex in COURSE.exercises if ex.module == MODULE]

# Made-up values, long enough to be recognised; some under names the redaction knows (…_PASSWORD, …_TOKEN),
# some under names a learner might choose, which only the exercises' own care keeps out of output.
FAKE = {
    "REDSHIFT_PASSWORD": "fc-fake-Redshift-pw-91x",
    "WAREHOUSE_PASSWORD": "fc-fake-Warehouse-pw-27q",
    "VAN_API_TOKEN": "fc-fake-van-token-55k",
    "DB_PASS": "fc-fake-db-pass-80m",
    "PIPELINE_CONNECTION": "postgresql://svc:fc-fake-conn-pw-13z@warehouse.example.invalid/prod",
}
NEEDLES = ["fc-fake-Redshift-pw-91x", "fc-fake-Warehouse-pw-27q", "fc-fake-van-token-55k", "fc-fake-db-pass-80m",
           "fc-fake-conn-pw-13z"]


def _marks(ex):
    return [pytest.mark.slow] if kind_of(ex).slow else []


def test_the_module_has_its_five_exercises():
    assert len(EXERCISES) >= 5, [e.id for e in EXERCISES]


@pytest.mark.parametrize("ex", [pytest.param(e, id=e.id, marks=_marks(e)) for e in EXERCISES])
@pytest.mark.parametrize("state", ["starter", "solution"])
def test_no_secret_reaches_any_output(ex, state, shared_workspace, request):
    ws = shared_workspace
    if kind_of(ex).needs_server:
        request.getfixturevalue("prefect_server")
    curriculum.fresh_copy(ws, ex)
    if state == "solution":
        kind_of(ex).apply_solution(ws, ex, {})
    dotenv = ws.exercise_dir(ex) / ".env"
    had = dotenv.read_text(encoding="utf-8") if dotenv.exists() else None
    dotenv.write_text((had or "") + "".join(f"{k}={v}\n" for k, v in FAKE.items()), encoding="utf-8")
    env = {**os.environ, **FAKE, "FLOWCAMP_WORKSPACE": str(ws.root), "CI": "true"}
    try:
        for args in (["check", ex.id, "--json"], ["check", ex.id]):
            done = subprocess.run([sys.executable, "-m", "flowcamp.cli", *args], env=env, cwd=ws.root,
                                  capture_output=True, text=True, timeout=600)
            said = done.stdout + done.stderr
            if "--json" in args:
                doc = json.loads(done.stdout)
                assert doc["status"] == ("pass" if state == "solution" else "fail"), said[-3000:]
            leaked = [n for n in NEEDLES if n in said]
            assert not leaked, f"{ex.id} ({state}): a secret reached the output of flowcamp {' '.join(args)}"
    finally:
        if had is None:
            dotenv.unlink(missing_ok=True)
        else:
            dotenv.write_text(had, encoding="utf-8")
