"""Workspaces: creation, course updates, nested repositories, reset, hints, progress."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from flowcamp.course import Course
from flowcamp.workspace import Workspace, WorkspaceError

from conftest import GOLDEN


def git(cwd, *args):
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


@pytest.fixture
def course_copy(tmp_path):
    """A copy of the real course's exercises and lessons, so tests can add exercises to it."""
    from conftest import ROOT

    root = tmp_path / "course"
    root.mkdir()
    shutil.copy(ROOT / "pyproject.toml", root)
    for sub in ("exercises", "solutions", "lessons"):
        shutil.copytree(ROOT / sub, root / sub, ignore=shutil.ignore_patterns("__pycache__"))
    return Course(root)


def test_init_creates_a_git_repository_with_the_starters(course, make_workspace):
    ws = make_workspace(course)
    assert (ws.root / ".git").is_dir()
    assert git(ws.root, "log", "--format=%s").strip() == "Start of my flowcamp workspace"
    for ex in course.exercises:
        for f in ex.files:
            assert (ws.exercise_dir(ex) / f).read_bytes() == (ex.source_dir / f).read_bytes()
        # The course's checks and metadata stay in the course.
        assert not (ws.exercise_dir(ex) / "checks").exists()
        assert not (ws.exercise_dir(ex) / "exercise.toml").exists()
    assert git(ws.root, "status", "--porcelain") == ""


def test_nested_exercise_repositories_do_not_trip_the_workspace(course, make_workspace):
    ws = make_workspace(course)
    git_exercises = [ex for ex in course.exercises if ex.repos]
    assert git_exercises
    for ex in git_exercises:
        for repo in ex.repos:
            d = ws.exercise_dir(ex) / repo
            d.mkdir(parents=True, exist_ok=True)
            if not (d / ".git").exists():
                git(d, "init", "-q")
            (d / "scratch.sql").write_text("select 1;\n")
    git(ws.root, "add", ".")
    staged = git(ws.root, "diff", "--cached", "--name-only")
    assert staged == "", f"git add . at the workspace root picked up nested repositories: {staged}"
    assert git(ws.root, "status", "--porcelain") == ""


def test_workspace_state_is_ignored_by_git(course, make_workspace):
    ws = make_workspace(course)
    ws.warehouse_path.write_bytes(b"x")
    ws.record(course.exercises[0], hints_shown=1)
    assert git(ws.root, "status", "--porcelain") == ""


def test_update_adds_new_exercises_and_never_touches_work(course_copy, make_workspace):
    ws = make_workspace(course_copy)
    first = course_copy.exercises[0]
    mine = ws.exercise_dir(first) / first.files[0]
    mine.write_text("my own work\n")
    # A course update brings a new exercise.
    new = course_copy.root / "exercises" / "99-extra" / "01-more"
    shutil.copytree(course_copy.exercises[1].source_dir, new)
    toml = (new / "exercise.toml").read_text().replace(f'id = "{course_copy.exercises[1].id}"', 'id = "more"')
    (new / "exercise.toml").write_text(toml)
    updated = Course(course_copy.root)
    report = Workspace(ws.root, updated).init()
    assert [e.id for e in report.added] == ["more"]
    assert not report.created
    assert mine.read_text() == "my own work\n"
    assert (ws.root / "99-extra" / "01-more").is_dir()


def test_init_refuses_a_folder_with_other_files(course, tmp_path):
    d = tmp_path / "stuff"
    d.mkdir()
    (d / "thesis.docx").write_text("precious")
    with pytest.raises(WorkspaceError, match="not a flowcamp workspace"):
        Workspace(d, course).init()
    assert (d / "thesis.docx").read_text() == "precious"


def test_reset_backs_up_and_restores(course, make_workspace):
    ws = make_workspace(course)
    ex = next(e for e in course.exercises if e.kind == "code")
    f = ws.exercise_dir(ex) / ex.files[0]
    f.write_text("my broken attempt\n")
    (ws.exercise_dir(ex) / "notes.txt").write_text("my notes\n")
    backup = ws.reset(ex)
    assert f.read_bytes() == (ex.source_dir / ex.files[0]).read_bytes()
    assert (backup / ex.files[0]).read_text() == "my broken attempt\n"
    assert (backup / "notes.txt").read_text() == "my notes\n"
    # A second reset keeps both backups.
    f.write_text("second attempt\n")
    backup2 = ws.reset(ex)
    assert backup2 != backup and (backup2 / ex.files[0]).read_text() == "second attempt\n"


def test_reset_restores_a_deleted_exercise_folder(course, make_workspace):
    ws = make_workspace(course)
    ex = course.exercises[0]
    shutil.rmtree(ws.exercise_dir(ex))
    assert ws.reset(ex) is None
    assert (ws.exercise_dir(ex) / ex.files[0]).is_file()


def test_hints_come_one_at_a_time(golden_course, make_workspace):
    ws = make_workspace(golden_course)
    ex = golden_course.get("add")
    assert ws.next_hint(ex) == (1, "Use +.")
    assert ws.next_hint(ex) == (2, "return a + b")
    assert ws.next_hint(ex) is None
    assert ws.status(ex) == "started"


def test_progress_and_current_exercise(golden_course, make_workspace):
    ws = make_workspace(golden_course)
    ex = golden_course.get("add")
    assert ws.status(ex) == "todo" and ws.current() == ex
    (ws.exercise_dir(ex) / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    assert ws.status(ex) == "started"
    ws.record_result(ex, "pass", 3, 3)
    assert ws.status(ex) == "done" and ws.current() == golden_course.get("fix-typo")
    data = json.loads(ws.progress_file.read_text())
    assert data["exercises"]["add"]["passed"] is True


def test_corrupt_progress_file_is_survivable(golden_course, make_workspace):
    ws = make_workspace(golden_course)
    ws.progress_file.write_text("{not json")
    ex = golden_course.get("add")
    assert ws.status(ex) == "todo"
    ws.record(ex, hints_shown=1)
    assert ws.entry(ex)["hints_shown"] == 1


def test_locate_prefers_flag_then_env_then_enclosing_folder(golden_course, make_workspace, monkeypatch, tmp_path):
    ws = make_workspace(golden_course)
    monkeypatch.delenv("FLOWCAMP_WORKSPACE", raising=False)
    monkeypatch.chdir(ws.exercise_dir(golden_course.get("add")))
    assert Workspace.locate(golden_course).root == ws.root
    monkeypatch.setenv("FLOWCAMP_WORKSPACE", str(tmp_path / "other"))
    assert Workspace.locate(golden_course).root == tmp_path / "other"
    assert Workspace.locate(golden_course, tmp_path / "flag").root == tmp_path / "flag"


def test_seeds_differ_between_workspaces(golden_course, tmp_path):
    seeds = set()
    for i in range(5):
        ws = Workspace(tmp_path / f"w{i}", golden_course)
        ws.init()
        seeds.add(ws.seed)
    assert len(seeds) > 1


OLD_WORKSPACE = Path(__file__).resolve().parent / "fixtures" / "workspace-b4be27e.tar.gz"


@pytest.fixture
def old_workspace(course, tmp_path):
    """A workspace made by flowcamp at commit b4be27e (before the engine redesign), seed 4242: check-loop
    solved, one hint of env-settings seen."""
    import tarfile

    with tarfile.open(OLD_WORKSPACE) as tar:
        tar.extractall(tmp_path, filter="data")
    return Workspace(tmp_path / "workspace", course)


def test_a_workspace_from_before_the_redesign_is_migrated_and_keeps_working(old_workspace):
    from flowcamp.kinds import kind_of
    from flowcamp.results import Status
    from flowcamp.runner import run_check

    ws = old_workspace
    assert ws.meta()["version"] == 1 and "course" in ws.meta()
    # The exercises the old workspace had, as they were when it was made (the fixture is frozen at b4be27e).
    had = {"check-loop", "first-repository", "read-history", "one-character", "branch-merge", "sql-conflict",
           "gitignore", "review-flow", "undo-toolkit", "env-settings", "explore-warehouse", "first-flow"}
    report = ws.init()
    assert report.migrated_from == 1
    # Only exercises the course has gained since are added, never one the learner already had.
    assert {e.id for e in report.added} == {e.id for e in ws.course.exercises} - had
    assert ws.meta()["version"] == 2 and "course" not in ws.meta() and ws.seed == 4242
    assert ws.init().migrated_from is None  # once is enough
    # Progress is kept: check-loop is done, the hint count stays.
    assert ws.status(ws.course.get("check-loop")) == "done"
    assert ws.entry(ws.course.get("env-settings"))["hints_shown"] == 1
    # Repositories prepared by the old flowcamp still give the right verdicts: the checks' facts, rebuilt
    # from the seed, match them.
    for ex_id in ("one-character", "branch-merge", "sql-conflict"):
        ex = ws.course.get(ex_id)
        assert run_check(ws, ex).status is Status.FAIL, ex_id
        kind_of(ex).apply_solution(ws, ex)
        result = run_check(ws, ex)
        assert result.status is Status.PASS, result.to_json()


def test_a_workspace_from_a_newer_flowcamp_is_refused_plainly(course, make_workspace):
    ws = make_workspace(course)
    meta = ws.meta()
    meta["version"] = 99
    (ws.state_dir / "workspace.json").write_text(json.dumps(meta))
    with pytest.raises(WorkspaceError, match="newer flowcamp"):
        ws.init()
