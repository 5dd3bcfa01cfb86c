"""A synthetic cohort, made from the course's solutions and its tests' alternative answers (right and wrong mixed,
some exercises left as the starter): what the grading tests and the grading benchmark grade.

Each learner is a real workspace (``flowcamp init`` with its own seed, so its practice repositories differ),
answered exercise by exercise, then written in the submission layout (:mod:`.layout`) exactly as ``flowcamp
submit`` would find it. Expected outcomes are known: a solution or a right alternative passes, a wrong one or a
starter does not.
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from flowcamp.course import Course, Exercise
from flowcamp.grading import layout
from flowcamp.workspace import Workspace

ALTERNATIVES = Path(__file__).resolve().parents[3] / "tests" / "alternatives"


@dataclass
class Learner:
    name: str
    email: str
    seed: int
    answers: dict[str, str] = field(default_factory=dict)  # exercise id -> "solution" | "starter" | alternative name

    def expected_pass(self, ex_id: str) -> bool:
        a = self.answers.get(ex_id, "starter")
        return a == "solution" or a.startswith("right")


def alternatives(ex: Exercise) -> list[Path]:
    base = ALTERNATIVES / ex.id
    return sorted(p for p in base.iterdir() if p.is_dir()) if base.is_dir() else []


def plan(course: Course, n: int, seed: int = 1, exercises: list[Exercise] | None = None) -> list[Learner]:
    """``n`` learners with answers drawn at random (reproducibly): about half solutions, a fifth right
    alternatives, a fifth wrong ones, the rest untouched starters."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        learner = Learner(name=f"Learner {i + 1:02d}", email=f"learner{i + 1:02d}@example.org",
                          seed=1000 + rng.randrange(3))
        for ex in exercises or course.exercises:
            alts = alternatives(ex)
            roll = rng.random()
            right = [a.name for a in alts if a.name.startswith("right")]
            wrong = [a.name for a in alts if a.name.startswith("wrong")]
            if roll < 0.5 or (roll < 0.7 and not right) or (roll < 0.9 and not wrong):
                learner.answers[ex.id] = "solution"
            elif roll < 0.7:
                learner.answers[ex.id] = rng.choice(right)
            elif roll < 0.9:
                learner.answers[ex.id] = rng.choice(wrong)
            else:
                learner.answers[ex.id] = "starter"
        out.append(learner)
    return out


def _base_workspace(course: Course, seed: int, cache: Path) -> Path:
    root = cache / f"ws-{seed}"
    if not (root / ".flowcamp" / "workspace.json").is_file():
        shutil.rmtree(root, ignore_errors=True)
        Workspace(root, course).init(seed=seed)
    return root


def build(course: Course, learner: Learner, dest: Path, cache: Path,
          exercises: list[Exercise] | None = None) -> Path:
    """The learner's submission, unpacked, at ``dest`` (made from a copy of a base workspace for their seed)."""
    from flowcamp import curriculum
    from flowcamp.kinds import kind_of

    work = cache / f"work-{learner.email}"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(_base_workspace(course, learner.seed, cache), work, symlinks=True)
    ws = Workspace(work, course)
    chosen = exercises or course.exercises
    (cache / "home").mkdir(parents=True, exist_ok=True)
    env = curriculum.no_global_git_env(cache / "home")  # as the tests run answers: no identity of the machine's
    for ex in chosen:
        answer = learner.answers.get(ex.id, "starter")
        if answer == "solution":
            kind_of(ex).apply_solution(ws, ex, env)
        elif answer != "starter":
            curriculum.apply_alternative(ws, ex, ALTERNATIVES / ex.id / answer, env)
    write_layout(ws, dest, learner.name, learner.email, chosen)
    shutil.rmtree(work, ignore_errors=True)
    return dest


def write_layout(ws: Workspace, dest: Path, name: str, email: str, exercises: list[Exercise] | None = None) -> Path:
    """A workspace's exercise folders and manifest in the submission layout, unpacked."""
    dest = Path(dest)
    files: dict[str, dict] = {}
    for ex in exercises or ws.course.exercises:
        src = ws.exercise_dir(ex)
        if not src.is_dir():
            continue
        entry = files.setdefault(ex.id, {"path": ex.path, "files": {}})
        for rel in layout.exercise_files(src):
            target = dest / layout.WORKSPACE_DIR / ex.path / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if (src / rel).is_symlink():
                target.symlink_to((src / rel).readlink())
            else:
                shutil.copy2(src / rel, target)
            entry["files"][rel.as_posix()] = layout.file_hash(src / rel)
    manifest = {"format": layout.FORMAT, "kind": layout.KIND,
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "learner": {"name": name, "email": email},
                "course": {"version": layout.course_version(), "fingerprint": layout.course_fingerprint(ws.course)},
                "workspace_seed": ws.seed, "exercises": files, "progress": ws.progress()}
    (dest / layout.MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return dest
