"""What a check says to a learner who made a common slip: the message must lead with the real cause.

Each case is a wrong alternative answer of the course (tests/alternatives/<exercise-id>/<name>/) and, per
check, patterns its message must match (and words it must not contain). test_curriculum.py already proves
these answers fail; here we prove the learner is told why.
"""

from __future__ import annotations

import re

import pytest

from flowcamp import curriculum
from flowcamp.course import Course
from flowcamp.kinds import kind_of
from flowcamp.results import Status
from flowcamp.runner import run_check

from conftest import ROOT

pytestmark = pytest.mark.usefixtures("warm_worker")

ALTERNATIVES = ROOT / "tests" / "alternatives"
COURSE = Course(ROOT)

CREDENTIALS = "database_credentials returns (username, password) from PREFIX_USERNAME and PREFIX_PASSWORD"
NAMES_MISSING = "database_credentials names the variable that is missing"
IMPORT = "Importing pipeline.py does not run the pipeline"
IS_FLOW = "build_event_attendance is a Prefect flow with a warehouse parameter"
COMPLETES = "The flow run completes"
TASKS = "At least three different tasks ran and completed, with no connection passed between them"
WRONG_TYPE = "A value of the wrong type stops with a ConfigError that names the variable and the type it expects"

# (exercise, alternative) -> {check name: ([patterns the message must match], [words it must not contain])}
CASES = {
    ("deploy-schedule", "wrong-timezone-est"): {
        "When the clocks change in spring and autumn, the runs stay at the Civis job's local time": (
            [r"time zone, `EST`, has no summer time", r'Use `timezone: "America/New_York"`'], []),
    },
    ("leaked-secret", "wrong-hook-keywords-only"): {
        "The committed pre-commit hook refuses a commit with a new secret and lets a harmless one through": (
            [r"a commit of a new nightly_export\.sh went through, with a password inside a database address",
             r"run detect-secrets"], ["fcsecret"]),
    },
    ("env-settings", "wrong-user-typo"): {
        CREDENTIALS: ([r"^Your code asked for (VAN_\w+?)_USER, which is not set; the variables that are set are "
                       r"\1_USERNAME and \1_PASSWORD\. Did you mean \1_USERNAME\?"],
                      ["imported", "v-"]),
        NAMES_MISSING: ([r"^Your code asked for (VAN_\w+?)_USER, which is not set; the variable that is set is "
                         r"\1_USERNAME\. Did you mean \1_USERNAME\?"], ["v-"]),
    },
    ("first-flow", "wrong-misspelled-flow"): {
        IMPORT: ([r"has no function called `build_event_attendance`\. Did you mean `build_event_attendence`\?"],
                 ["good"]),
        IS_FLOW: ([r"Did you mean `build_event_attendence`\?"], []),
    },
    ("first-flow", "wrong-status-filter-in-sql"): {
        "The table has one row per event, with the right counts and rate": (
            [r"statuses typed in different ways", r"lower\(trim\(coalesce\(status, ''\)\)\)"], []),
    },
    ("dotenv-local", "wrong-unset-raises"): {
        "A variable that is set nowhere gives None (not an error, not an empty text)": (
            [r"^With none of the three names set anywhere", r"stopped with KeyError",
             r"`os\.environ\.get\(name\)` gives None"], ["made-up-pw"]),
    },
    ("dotenv-local", "wrong-unset-empty-text"): {
        "A variable that is set nowhere gives None (not an error, not an empty text)": (
            [r"returned an empty text for WAREHOUSE_PATH, an empty text for REDSHIFT_USERNAME, an empty text for "
             r"REDSHIFT_PASSWORD instead of None"], ["made-up-pw"]),
    },
    ("typed-settings", "wrong-value-in-message"): {
        WRONG_TYPE: ([r"shows the value itself \('lots-[0-9a-f]{6}'\)", r"Leave 'input' out"], []),
    },
    ("typed-settings", "wrong-port-as-text"): {
        WRONG_TYPE: ([r"returned settings instead of stopping",
                      r"kept PIPELINE_WAREHOUSE_PORT='abc-[0-9a-f]{6}' as it is: give the field `warehouse_port`"],
                     ["imported"]),
    },
    ("sql-tasks", "wrong-warehouse-fixed-at-import"): {
        "Each file's SQL runs inside its own task run, once": (
            [r"ran 2 times", r"the second file was never touched", r"not the flow's `warehouse` parameter"], []),
        "The tables the files build hold what the check's own SQL computes": (
            [r"the second file was never touched"], ["Each {{name}}"]),
    },
    ("first-flow", "wrong-task-without-return"): {
        COMPLETES: ([r"^The task `extract_signups` has no `return`", r"`count_attendance` gets None"], []),
        TASKS: ([r"^The task `extract_signups` has no `return`"], []),
    },
    ("first-flow", "wrong-shared-connection"): {
        TASKS: ([r"^Your flow passes a DuckDB connection to `get_signups` and `write`\.", r"\(retries\)",
                 r"\(caching\)", r"\(parallel tasks\)", r"`with duckdb\.connect\(warehouse\) as con:`"], []),
    },
    # Only the run shows this one is a connection (a helper makes it): Prefect's log says so.
    ("first-flow", "wrong-connection-from-helper"): {
        TASKS: ([r"^Your flow passes a DuckDB connection to `read_signups` and `save`\.",
                 r"Error encountered when computing cache key"], []),
    },
}


def _params():
    for (ex_id, alt), expected in CASES.items():
        ex = COURSE.get(ex_id)
        marks = [pytest.mark.slow] if kind_of(ex).slow else []
        yield pytest.param(ex, alt, expected, id=f"{ex_id}/{alt}", marks=marks)


@pytest.mark.parametrize(("ex", "alt", "expected"), list(_params()))
def test_the_message_names_the_real_cause(ex, alt, expected, shared_workspace, request):
    ws = shared_workspace
    curriculum.fresh_copy(ws, ex)
    curriculum.apply_alternative(ws, ex, ALTERNATIVES / ex.id / alt)
    server = request.getfixturevalue("prefect_server") if kind_of(ex).needs_server else None
    result = run_check(ws, ex, server)
    assert result.status is not Status.PASS, result.to_json()
    messages = {c.name: c.message for c in result.checks}
    for name, (patterns, banned) in expected.items():
        assert name in messages, f"no check called {name!r}: {sorted(messages)}"
        message = messages[name]
        for pattern in patterns:
            assert re.search(pattern, message), f"{name}: {pattern!r} not in {message!r}"
        for word in banned:
            assert word not in message, f"{name}: {word!r} should not be in {message!r}"
