"""The nbgrader route: `flowcamp nbgrader course` and `collect` make a standard nbgrader course from the notebook
exercises, and nbgrader's own generate_assignment and autograde score honest answers as `flowcamp grade` does.

Two cheats show where the routes differ: nbgrader runs its test cells in the learner's kernel, so an answer cell
can change what they see; flowcamp works out the expected values outside the kernel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flowcamp.course import Course
from flowcamp.grading import nbgrader_route as route
from flowcamp.grading import synthetic

ROOT = Path(__file__).resolve().parents[1]
EXERCISE = "explore-warehouse"
SEED = 4711  # the nbgrader course's warehouse
GRADE_SEED = 5252  # flowcamp grade's held-out warehouse

# Cheat 1: from the first answer cell on, every cell that starts with "# Check:" (nbgrader's test cells) runs as an
# empty cell. No answer is given at all.
SKIP_CHECKS = ('# From here on, a cell that starts with "# Check:" runs as an empty cell.\n'
               "def _skip_checks(lines):\n"
               '    return [] if lines and lines[0].startswith("# Check:") else lines\n\n\n'
               "get_ipython().input_transformers_cleanup.append(_skip_checks)\n"
               "n_active = 0\n")
# Cheat 2 is tests/alternatives/explore-warehouse/wrong-fake-warehouse: an answer cell builds a tiny warehouse,
# points FLOWCAMP_WAREHOUSE at it and answers from it; the hidden tests then read the same made-up data.


@pytest.fixture(scope="module")
def course() -> Course:
    return Course(ROOT)


@pytest.fixture(scope="module")
def ex(course):
    return course.get(EXERCISE)


def _gid(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _starter(ex) -> dict:
    return json.loads((ex.source_dir / ex.files[0]).read_text())


def _solution(ex) -> dict:
    return json.loads((ex.solution_dir / ex.files[0]).read_text())


def _answer(nb: dict, gid: str) -> str:
    return "".join(next(c for c in nb["cells"] if _gid(c) == gid)["source"])


# ------------------------------------------------------------------------------ fast: the pieces


def test_the_notebooks_test_cells_match_the_checks(ex):
    """Same checks by name, same points, each with hidden tests; a change on either side is caught."""
    nb = _solution(ex)
    assert route.agreement_problems(ex, nb) == []
    cells = route.notebook_checks(nb)
    assert [s.points for _, s, _ in cells] == [c.points for c in route.course_checks(ex)] == [1, 2, 3, 2, 2]
    cell = next(c for c in nb["cells"] if _gid(c) == "check_emails")
    cell["metadata"]["nbgrader"]["points"] = 3
    assert any("worth 3 point(s); its check is worth 2" in p for p in route.agreement_problems(ex, nb))
    cell["source"] = "".join(cell["source"]).split("### BEGIN HIDDEN TESTS")[0]
    assert any("no ### BEGIN HIDDEN TESTS" in p for p in route.agreement_problems(ex, nb))
    nb["cells"].remove(cell)
    assert any("has no test cell" in p for p in route.agreement_problems(ex, nb))


def test_answers_land_in_the_nbgrader_version(ex):
    template, learner = _starter(ex), _solution(ex)
    learner["cells"].insert(5, {"cell_type": "code", "id": "mine1", "metadata": {}, "source": "x = 1", "outputs": []})
    for c in learner["cells"]:  # the learner's copy lost its metadata: matched by cell id
        if _gid(c) == "answer_emails":
            c["metadata"] = {}
        if _gid(c) == "connect":
            c["source"] = "con = None  # tampered"
    learner["cells"] = [c for c in learner["cells"] if _gid(c) != "check_lapsed"]  # a test cell deleted
    merged, notes = route.merge_answers(template, learner)
    assert _answer(merged, "answer_emails") == _answer(_solution(ex), "answer_emails")
    assert _answer(merged, "answer_active") == _answer(_solution(ex), "answer_active")
    assert _answer(merged, "connect") == _answer(template, "connect")  # locked cells: the course's text
    assert _answer(merged, "check_lapsed") == _answer(template, "check_lapsed")  # put back, after its answer
    order = [_gid(c) for c in merged["cells"] if _gid(c)]
    assert order == [_gid(c) for c in template["cells"] if _gid(c)]
    assert any(c.get("id") == "mine1" and c["source"] == "x = 1" for c in merged["cells"])  # own cells kept
    assert notes == ["put back the deleted cell 'check_lapsed'"]
    assert all(c.get("outputs", []) == [] for c in merged["cells"])
    assert len({c["id"] for c in merged["cells"]}) == len(merged["cells"])


@pytest.mark.parametrize("change, why", [
    (lambda nb: nb["cells"].__delitem__(next(i for i, c in enumerate(nb["cells"]) if _gid(c) == "answer_monthly")),
     "the answer cell 'answer_monthly' is gone"),
    (lambda nb: nb["cells"].reverse(), "not in the order"),
    (lambda nb: nb["cells"].append(json.loads(json.dumps(next(c for c in nb["cells"] if _gid(c) == "answer_active")))),
     "appears 2 times"),
    (lambda nb: nb.update(cells="nope"), "not a Jupyter notebook"),
])
def test_a_notebook_that_changed_shape_is_refused(ex, change, why):
    nb = _solution(ex)
    change(nb)
    with pytest.raises(route.ShapeError, match=why):
        route.merge_answers(_starter(ex), nb)


def test_student_ids_are_the_gradebook_key_made_safe():
    assert route.student_id("ada@example.org") == "ada@example.org"
    assert route.student_id("jose-nunez") == "jose-nunez"
    assert route.student_id("a+b/../x@example.org") == "a-b-..-x@example.org"
    assert "/" not in route.student_id("../../etc") and route.student_id("///")


def test_running_course_again_updates_it_and_keeps_the_instructors_work(course, tmp_path):
    dest = tmp_path / "nbc"
    built = route.build_course(course, dest, seed=SEED)
    nb_rel = f"source/{EXERCISE}/explore.ipynb"
    assert set(built.written) == {"nbgrader_config.py", nb_rel}
    config = (dest / "nbgrader_config.py").read_text()
    assert f"c.CourseDirectory.root = {str(dest.resolve())!r}" in config and "course_id = 'flowcamp'" in config
    source = json.loads((dest / nb_rel).read_text())
    assert "### BEGIN SOLUTION" in _answer(source, "answer_active")
    assert all(isinstance(c.get("id"), str) for c in source["cells"])
    assert (dest / route.WAREHOUSE).is_file()
    # nbgrader's own files are never touched
    (dest / "gradebook.db").write_bytes(b"instructor's gradebook")
    (dest / "submitted" / "ada" / EXERCISE).mkdir(parents=True)
    (dest / "submitted" / "ada" / EXERCISE / "explore.ipynb").write_text("{}")
    again = route.build_course(course, dest)
    assert again.written == [] and set(again.unchanged) == {"nbgrader_config.py", nb_rel}
    # the instructor edits the source: refused without --yes, nothing written
    (dest / nb_rel).write_text(json.dumps(source).replace("Task 1", "Task one"))
    with pytest.raises(route.RouteError, match="changed since flowcamp wrote them.*--yes"):
        route.build_course(course, dest)
    assert "Task one" in (dest / nb_rel).read_text()
    forced = route.build_course(course, dest, yes=True)
    assert forced.written == [nb_rel] and len(forced.backed_up) == 1
    assert "Task one" in (dest / forced.backed_up[0]).read_text() and "Task one" not in (dest / nb_rel).read_text()
    assert (dest / "gradebook.db").read_bytes() == b"instructor's gradebook"
    assert (dest / "submitted" / "ada" / EXERCISE / "explore.ipynb").read_text() == "{}"
    assert json.loads((dest / route.STATE).read_text())["seed"] == SEED  # kept from the first run


def test_a_course_flowcamp_did_not_make_is_not_overwritten(course, tmp_path):
    theirs = tmp_path / "theirs"
    (theirs / "source").mkdir(parents=True)
    (theirs / "nbgrader_config.py").write_text("c = get_config()\n")
    done = subprocess.run([sys.executable, "-m", "flowcamp.cli", "nbgrader", "course", str(theirs)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode != 0
    assert "flowcamp did not make" in done.stderr and "--yes" in done.stderr
    assert (theirs / "nbgrader_config.py").read_text() == "c = get_config()\n"
    with pytest.raises(route.RouteError, match="not an nbgrader course made by flowcamp"):
        route.collect(course, theirs, [str(tmp_path)])


# ------------------------------------------------------------------------------ slow: real nbgrader, real grading


def _jupyter_env(base: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "IPYTHON"))}
    for var, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"), ("IPYTHONDIR", "ipython"),
                     ("JUPYTER_RUNTIME_DIR", "runtime")):
        env[var] = str(base / sub)
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def nbgrader(args: list[str], cwd: Path, env: dict, **kw) -> subprocess.Popen:
    return subprocess.Popen([str(Path(sys.executable).parent / "nbgrader"), *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def cohort_answers(ex) -> list[str]:
    return ["solution", "starter", *[a.name for a in synthetic.alternatives(ex)]]


def make_cohort(course: Course, ex, subs: Path, cache: Path) -> dict[str, str]:
    """One learner per answer (the solution, the starter, every alternative) and the input-transformer cheat.
    Returns student id -> what they handed in."""
    who = {}
    for answer in cohort_answers(ex):
        learner = synthetic.Learner(name=f"Learner {answer}", email=f"{answer}@example.org", seed=1000,
                                    answers={ex.id: answer})
        synthetic.build(course, learner, subs / answer, cache, [ex])
        who[f"{answer}@example.org"] = answer
    cheat = synthetic.Learner(name="Learner cheat", email="cheat-skip-checks@example.org", seed=1000,
                              answers={ex.id: "starter"})
    dest = synthetic.build(course, cheat, subs / "cheat-skip-checks", cache, [ex])
    path = dest / "workspace" / ex.path / ex.files[0]
    nb = json.loads(path.read_text())
    next(c for c in nb["cells"] if _gid(c) == "answer_active")["source"] = SKIP_CHECKS
    path.write_text(json.dumps(nb))
    who["cheat-skip-checks@example.org"] = "cheat-skip-checks"
    moved = synthetic.Learner(name="Learner moved", email="moved@example.org", seed=1000, answers={ex.id: "solution"})
    dest = synthetic.build(course, moved, subs / "moved", cache, [ex])  # an answer cell deleted: skipped by collect
    path = dest / "workspace" / ex.path / ex.files[0]
    nb = json.loads(path.read_text())
    nb["cells"] = [c for c in nb["cells"] if _gid(c) != "answer_monthly"]
    path.write_text(json.dumps(nb))
    return who


@pytest.fixture(scope="module")
def both_routes(course, ex, tmp_path_factory):
    """The same submissions graded by nbgrader (generate_assignment, autograde: subprocesses, offline) and by
    `flowcamp grade -e explore-warehouse`, side by side (one core each)."""
    from nbgrader.api import Gradebook

    from flowcamp.grading import run as grading

    base = tmp_path_factory.mktemp("nbgrader-route")
    subs, nbc, out = base / "submissions", base / "course", base / "grading"
    who = make_cohort(course, ex, subs, base / "cache")
    route.build_course(course, nbc, seed=SEED)
    collected = route.collect(course, nbc, [str(subs)])
    env = _jupyter_env(base / "jupyter")
    gen = nbgrader(["generate_assignment", EXERCISE, "--force"], nbc, env)
    gen_out, _ = gen.communicate(timeout=300)
    assert gen.returncode == 0, gen_out
    auto = nbgrader(["autograde", EXERCISE], nbc, env)
    try:
        summary = grading.grade(grading.Options(sources=[str(subs)], out=out, seed=GRADE_SEED, jobs=1,
                                                exercises=[EXERCISE], export=False), say=lambda _: None)
        auto_out, _ = auto.communicate(timeout=900)
    finally:
        if auto.poll() is None:
            auto.kill()
    assert auto.returncode == 0, auto_out[-5000:]
    with Gradebook("sqlite:///" + (nbc / "gradebook.db").as_posix(), route.COURSE_ID) as gb:
        nbg = {sid: gb.find_submission(EXERCISE, sid).score for sid in who}
    import duckdb

    with duckdb.connect(str(out / grading.GRADEBOOK), read_only=True) as con:
        rows = con.execute("SELECT s.email, r.score, r.status FROM results r JOIN submissions s "
                           "ON s.hash = r.submission_hash WHERE r.exercise_id = ?", [EXERCISE]).fetchall()
    flowcamp = {email: score for email, score, _ in rows}
    return {"who": who, "nbgrader": nbg, "flowcamp": flowcamp, "collected": collected, "course": nbc,
            "summary": summary, "statuses": {email: status for email, _, status in rows}, "subs": subs}


@pytest.mark.slow
@pytest.mark.xdist_group("nbgrader-route")  # both routes graded once
def test_collect_places_every_notebook_and_adds_the_students(both_routes):
    from nbgrader.api import Gradebook

    got, nbc = both_routes["collected"], both_routes["course"]
    assert len(got.skipped) == 1 and got.skipped[0].startswith("moved: its explore.ipynb (explore-warehouse) was "
                                                               "skipped: the answer cell 'answer_monthly' is gone")
    assert "flowcamp reset explore-warehouse" in got.skipped[0]
    assert not (nbc / "submitted" / "moved@example.org").exists()
    assert sorted(got.students) == sorted(both_routes["who"])
    for sid in both_routes["who"]:
        placed = nbc / "submitted" / sid / EXERCISE / "explore.ipynb"
        assert placed.is_file() and (placed.parent / "timestamp.txt").is_file()
    with Gradebook("sqlite:///" + (nbc / "gradebook.db").as_posix(), route.COURSE_ID) as gb:
        ada = gb.find_student("solution@example.org")
        assert (ada.first_name, ada.last_name, ada.email) == ("Learner", "solution", "solution@example.org")


@pytest.mark.slow
@pytest.mark.xdist_group("nbgrader-route")  # both routes graded once
def test_honest_answers_score_the_same_both_ways(both_routes):
    who, nbg, fc = both_routes["who"], both_routes["nbgrader"], both_routes["flowcamp"]
    honest = [sid for sid, answer in who.items() if answer != "wrong-fake-warehouse" and not answer.startswith("cheat")]
    assert len(honest) >= 10
    differ = {sid: (nbg[sid], fc[sid]) for sid in honest if nbg[sid] != fc[sid]}
    assert differ == {}, f"nbgrader vs flowcamp: {differ}"
    assert fc["solution@example.org"] == nbg["solution@example.org"] == 10
    assert fc["starter@example.org"] == nbg["starter@example.org"] == 0
    assert any(0 < fc[sid] < 10 for sid in honest)  # partial scores agree too, not only all or nothing


@pytest.mark.slow
@pytest.mark.xdist_group("nbgrader-route")  # both routes graded once
def test_cheats_fool_nbgrader_but_not_flowcamp(both_routes):
    nbg, fc = both_routes["nbgrader"], both_routes["flowcamp"]
    for sid in ("cheat-skip-checks@example.org", "wrong-fake-warehouse@example.org"):
        assert fc[sid] == 0, sid
        assert nbg[sid] == 10, f"{sid}: nbgrader gave {nbg[sid]}; if nbgrader now catches it, update the docs"


@pytest.mark.slow
@pytest.mark.xdist_group("nbgrader-route")  # both routes graded once
def test_collect_again_prints_the_nbgrader_commands(both_routes):
    """The command itself, after a first autograde: where things went, what was skipped, what to run next."""
    nbc, subs = both_routes["course"], both_routes["subs"]
    done = subprocess.run([sys.executable, "-m", "flowcamp.cli", "nbgrader", "collect", str(subs / "solution"),
                           str(subs / "moved"), "--course", str(nbc)], capture_output=True, text=True, cwd=ROOT,
                          timeout=300, env={**os.environ, "COLUMNS": "250"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "solution@example.org: explore-warehouse from solution" in done.stdout
    assert "Skipped moved: its explore.ipynb" in done.stderr
    for command in (f"cd {nbc}", f"generate_assignment {EXERCISE}", f"autograde {EXERCISE}",
                    f"generate_feedback {EXERCISE}", "nbgrader export"):
        assert command in done.stdout, done.stdout
    assert "add --force to autograde" in done.stdout
