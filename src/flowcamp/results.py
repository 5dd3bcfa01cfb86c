"""The results document: one format for every kind of exercise.

Version 1 of the document (schema: ``results.schema.json`` beside this file)::

    {"version": 1, "exercise": "env-settings", "status": "pass|fail|error|timeout",
     "score": 3, "max_score": 5, "message": "...", "duration": 1.2,
     "checks": [{"name": ..., "status": "pass|fail|error|timeout|skipped",
                 "message": ..., "points": 1, "max_points": 1, "output": ...,
                 "visibility": "visible|hidden"}]}

``visibility`` is optional: a hidden check's name and message are for the instructor's eyes (cohort grading).
``heldout`` (optional, true when set): the check ran the learner's code on held-out data, so its message and
output may show held-out values; what a learner is shown of a graded run replaces them (cohort grading).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

RESULTS_VERSION = 1
SCHEMA_FILE = Path(__file__).with_name("results.schema.json")
MAX_MESSAGE = 2_000
MAX_OUTPUT = 1_000
MAX_DOCUMENT = 64_000


class Status(str, Enum):
    """What happened to a check, or to a whole run (a run is never `skipped`)."""

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    TIMEOUT = "timeout"
    SKIPPED = "skipped"

    def __str__(self) -> str:
        return self.value


RUN_STATUSES = (Status.PASS, Status.FAIL, Status.ERROR, Status.TIMEOUT)
VISIBILITIES = ("visible", "hidden")


def cap(text: str | None, limit: int) -> str:
    if not text:
        return ""
    if len(text) <= limit:
        return text
    cut = len(text) - limit
    return text[:limit] + f"\n... ({cut} more characters cut)"


@dataclass
class CheckResult:
    """One check's outcome. Its points follow from its status: all of max_points on a pass, else none."""

    name: str
    status: Status
    message: str = ""
    max_points: float = 1
    output: str = ""
    visibility: str = "visible"
    heldout: bool = False

    def __post_init__(self):
        self.status = Status(self.status)
        if self.visibility not in VISIBILITIES:
            raise ValueError(f"visibility must be one of {VISIBILITIES}")
        self.message = cap(self.message, MAX_MESSAGE)
        self.output = cap(self.output, MAX_OUTPUT)

    @property
    def points(self) -> float:
        return self.max_points if self.status is Status.PASS else 0

    def to_dict(self) -> dict:
        doc = {"name": self.name, "status": self.status.value, "message": self.message,
               "points": _num(self.points), "max_points": _num(self.max_points), "output": self.output}
        if self.visibility != "visible":
            doc["visibility"] = self.visibility
        if self.heldout:
            doc["heldout"] = True
        return doc


@dataclass
class Result:
    exercise: str
    status: Status
    message: str = ""
    checks: list[CheckResult] = field(default_factory=list)
    max_score: float | None = None
    duration: float = 0.0

    def __post_init__(self):
        self.status = Status(self.status)
        if self.status is Status.SKIPPED:
            raise ValueError("a run is pass, fail, error or timeout, never skipped")

    @property
    def score(self) -> float:
        return sum(c.points for c in self.checks)

    @property
    def passed(self) -> bool:
        return self.status is Status.PASS

    def to_dict(self) -> dict:
        max_score = self.max_score if self.max_score is not None else sum(c.max_points for c in self.checks)
        doc = {
            "version": RESULTS_VERSION,
            "exercise": self.exercise,
            "status": self.status.value,
            "score": _num(self.score),
            "max_score": _num(max_score),
            "message": cap(self.message, MAX_MESSAGE),
            "duration": round(self.duration, 3),
            "checks": [c.to_dict() for c in self.checks],
        }
        # Keep the whole document bounded: drop outputs first, then trim messages.
        if len(json.dumps(doc)) > MAX_DOCUMENT:
            for c in doc["checks"]:
                c["output"] = cap(c["output"], 100)
        if len(json.dumps(doc)) > MAX_DOCUMENT:
            for c in doc["checks"]:
                c["message"] = cap(c["message"], 200)
        return doc

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


def _num(x: float):
    return int(x) if float(x).is_integer() else round(x, 2)


def overall_status(checks: list[CheckResult]) -> Status:
    """The run's status from its checks: the worst of them; no checks at all is an error."""
    if not checks:
        return Status.ERROR
    statuses = {c.status for c in checks}
    for s in (Status.TIMEOUT, Status.ERROR, Status.FAIL):
        if s in statuses:
            return s
    return Status.PASS if statuses == {Status.PASS} else Status.FAIL
