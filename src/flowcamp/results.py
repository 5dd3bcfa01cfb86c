"""The results document: one format for every kind of exercise.

Version 1 of the document::

    {"version": 1, "exercise": "env-settings", "status": "pass|fail|error|timeout",
     "score": 3, "max_score": 5, "message": "...", "duration": 1.2,
     "checks": [{"name": ..., "status": "pass|fail|error|timeout|skipped",
                 "message": ..., "points": 1, "max_points": 1, "output": ...}]}
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

RESULTS_VERSION = 1
STATUSES = ("pass", "fail", "error", "timeout")
MAX_MESSAGE = 2_000
MAX_OUTPUT = 1_000
MAX_DOCUMENT = 64_000


def cap(text: str | None, limit: int) -> str:
    if not text:
        return ""
    if len(text) <= limit:
        return text
    cut = len(text) - limit
    return text[:limit] + f"\n... ({cut} more characters cut)"


@dataclass
class CheckResult:
    name: str
    status: str
    message: str = ""
    points: float = 0
    max_points: float = 1
    output: str = ""

    def __post_init__(self):
        self.message = cap(self.message, MAX_MESSAGE)
        self.output = cap(self.output, MAX_OUTPUT)
        if self.status == "pass":
            self.points = self.max_points
        else:
            self.points = 0


@dataclass
class Result:
    exercise: str
    status: str
    message: str = ""
    checks: list[CheckResult] = field(default_factory=list)
    max_score: float | None = None
    duration: float = 0.0

    @property
    def score(self) -> float:
        return sum(c.points for c in self.checks)

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    def to_dict(self) -> dict:
        max_score = self.max_score if self.max_score is not None else sum(c.max_points for c in self.checks)
        doc = {
            "version": RESULTS_VERSION,
            "exercise": self.exercise,
            "status": self.status,
            "score": _num(self.score),
            "max_score": _num(max_score),
            "message": cap(self.message, MAX_MESSAGE),
            "duration": round(self.duration, 3),
            "checks": [
                {**asdict(c), "points": _num(c.points), "max_points": _num(c.max_points)} for c in self.checks
            ],
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


def overall_status(checks: list[CheckResult]) -> str:
    statuses = {c.status for c in checks}
    for s in ("timeout", "error", "fail"):
        if s in statuses:
            return s
    if not checks:
        return "error"
    return "pass" if statuses <= {"pass"} else "fail"
