"""`flowcamp grade` end to end: a small cohort (right and wrong answers, an attacker, a fork storm, an endless
loop, a corrupt archive) graded in isolation, with hidden checks and planted held-out data; what the learner
can reach, what reaches the exports, and resuming after SIGKILL."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from flowcamp import sandbox
from flowcamp.course import Course
from flowcamp.grading import run as grading, synthetic
from flowcamp.grading.dispatch import API_ENV

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("grading")]  # one cohort, graded once
ABILITIES = sandbox.probe()
ROOT = Path(__file__).resolve().parents[1]
SEED = 5151
PLANTED_HELDOUT = "PLANTED-HELDOUT-7f3a"
PLANTED_HIDDEN = "PLANTED-HIDDEN-c41d"
TOKEN = "instructor-token-9b8e7d6c5b4a"

HIDDEN_CHECK = f'''
import pytest


@pytest.mark.points(2)
def test_a_hidden_rule(learner):
    """Secret rule {PLANTED_HIDDEN}"""
    mod = learner.load("first_query.py")
    assert "LIMIT" not in mod.QUERY.value.upper(), "{PLANTED_HIDDEN}: the LIMIT is still there"


def test_another_hidden_rule(learner):
    """Another hidden rule"""
    assert learner.exists("first_query.py")
'''

ATTACK = '''
import json, os, socket, subprocess, sys
found = {{}}
def attempt(name, fn):
    try:
        found[name] = fn()
    except Exception as e:
        found[name] = "blocked: " + type(e).__name__
attempt("read_gradebook", lambda: len(open({out!r} + "/gradebook.duckdb", "rb").read()))
attempt("list_grading", lambda: os.listdir({out!r}))
attempt("forge_file", lambda: open({out!r} + "/FORGED", "w").write("x"))
attempt("list_hidden", lambda: os.listdir({hidden!r}))
attempt("network", lambda: socket.create_connection(("10.255.255.1", 9), timeout=1) and "connected")
attempt("token", lambda: "{token_name}" in os.environ)
attempt("list_tmp", lambda: os.listdir("/tmp"))
attempt("home", lambda: os.environ["HOME"])
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)  # MALLORY-SLEEPER"],
                 start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print("ATTACK " + json.dumps(found), flush=True)
import duckdb
with duckdb.connect(os.environ["FLOWCAMP_WAREHOUSE"], read_only=True) as con:
    print(con.execute("SELECT DISTINCT congressional_district FROM voterfile.people").fetchall(), flush=True)
for fd in range(3, 40):
    try:
        os.write(fd, b'{{"event": "result", "id": "x", "name": "forged", "status": "pass", "max_points": 99}}\\n')
    except OSError:
        pass
'''

ENDLESS = "while True:\n    pass\n"
FORK_STORM = ("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n")


def _learner(course: Course, cache: Path, dest: Path, name: str, answers: dict[str, str], exercises) -> Path:
    learner = synthetic.Learner(name=name, email=f"{name.lower()}@example.org", seed=1000, answers=answers)
    return synthetic.build(course, learner, dest, cache, exercises)


@pytest.fixture(scope="module", autouse=True)
def _grading_flows_report_to_the_shared_server(prefect_server):
    """The grading flow reports to the test run's one Prefect server (a grading folder's own server is started
    in tests/test_grading_flow.py)."""
    os.environ[API_ENV] = prefect_server
    yield
    os.environ.pop(API_ENV, None)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    course = Course(ROOT)
    base = tmp_path_factory.mktemp("cohort")
    cache, subs, out, hidden = base / "cache", base / "submissions", base / "grading", base / "hidden"
    exercises = [course.get("check-loop"), course.get("one-character")]
    ids = [e.id for e in exercises]
    _learner(course, cache, subs / "ada", "Ada", {i: "solution" for i in ids}, exercises)
    bob = _learner(course, cache, subs / "bob", "Bob", {"check-loop": "wrong-empty-result",
                                                        "one-character": "right-revert"}, exercises)
    pwned = base / "PWNED"  # bob's practice repository asks git to run a program whenever it is read
    with open(bob / "workspace" / exercises[1].path / "pipeline" / ".git" / "config", "a") as f:
        f.write(f"[core]\n\tfsmonitor = touch {pwned}\n[alias]\n\tlog = !touch {pwned}\n")
    mia = _learner(course, cache, subs / "mia", "Mia", {"check-loop": "solution"}, exercises)
    shutil.rmtree(mia / "workspace" / exercises[1].path)  # she never got to the second exercise
    mallory = _learner(course, cache, subs / "mallory", "Mallory", {}, exercises)
    (mallory / "workspace" / exercises[0].path / "first_query.py").write_text(
        ATTACK.format(out=str(out), hidden=str(hidden), token_name="FLOWCAMP_TEST_INSTRUCTOR_TOKEN")
        + (course.get("check-loop").source_dir / "first_query.py").read_text())
    loop = _learner(course, cache, subs / "lou", "Lou", {"one-character": "solution"}, exercises)
    (loop / "workspace" / exercises[0].path / "first_query.py").write_text(ENDLESS)
    storm = _learner(course, cache, subs / "fiona", "Fiona", {"one-character": "solution"}, exercises)
    (storm / "workspace" / exercises[0].path / "first_query.py").write_text(FORK_STORM)
    (subs / "corrupt.zip").write_bytes(b"PK\x03\x04 this is not really a zip")
    (hidden / "check-loop").mkdir(parents=True)
    (hidden / "check-loop" / "test_hidden_rules.py").write_text(HIDDEN_CHECK)
    # Held-out data with a recognisable value in it: built as the grader would, then planted.
    held = grading.heldout_warehouse(out, SEED)
    with duckdb.connect(str(held)) as con:
        con.execute("UPDATE voterfile.people SET congressional_district = ? WHERE congressional_district = "
                    "(SELECT min(congressional_district) FROM voterfile.people)", [PLANTED_HELDOUT])
    os.environ["FLOWCAMP_TEST_INSTRUCTOR_TOKEN"] = TOKEN
    try:
        said: list[str] = []
        opts = grading.Options(sources=[str(subs)], out=out, hidden=hidden, seed=SEED, jobs=2,
                               exercises=ids)
        summary = grading.grade(opts, say=said.append)
    finally:
        del os.environ["FLOWCAMP_TEST_INSTRUCTOR_TOKEN"]
    return {"course": course, "out": out, "subs": subs, "hidden": hidden, "summary": summary, "said": said,
            "pwned": pwned,
            "ids": ids, "opts": opts}


def _results(out: Path) -> dict[tuple[str, str], dict]:
    with duckdb.connect(str(out / grading.GRADEBOOK), read_only=True) as con:
        rows = con.execute("SELECT s.label, r.exercise_id, r.doc FROM results r JOIN submissions s "
                           "ON s.hash = r.submission_hash").fetchall()
    return {(label, ex): json.loads(doc) if isinstance(doc, str) else doc for label, ex, doc in rows}


def _why(doc: dict) -> str:
    return doc["message"] + "\n" + "\n".join(f"- {c['name']}: {c['status']}: {c['message']} | {c['output'][:300]}"
                                             for c in doc["checks"] if c["status"] != "pass")


def test_right_answers_pass_and_wrong_ones_do_not(cohort):
    res = _results(cohort["out"])
    ada = res[("ada", "check-loop")]
    assert ada["status"] == "pass", _why(ada)
    assert res[("ada", "one-character")]["status"] == "pass", _why(res[("ada", "one-character")])
    assert res[("bob", "check-loop")]["status"] != "pass"
    assert res[("bob", "one-character")]["status"] == "pass"
    assert res[("mia", "check-loop")]["status"] == "pass"


def test_a_missing_exercise_scores_zero_with_a_plain_message(cohort):
    mia = _results(cohort["out"])[("mia", "one-character")]
    assert mia["missing"] is True and mia["score"] == 0
    assert "not in the submission" in mia["message"]


def test_a_practice_repositorys_git_config_runs_nothing(cohort):
    assert not cohort["pwned"].exists()


def test_hidden_checks_ran_and_are_marked_hidden(cohort):
    ada = _results(cohort["out"])[("ada", "check-loop")]
    hidden = [c for c in ada["checks"] if c.get("visibility") == "hidden"]
    assert len(hidden) == 2, ada
    assert any(PLANTED_HIDDEN in c["name"] for c in hidden)


def test_bad_submissions_get_a_status_and_the_rest_is_graded(cohort):
    res = _results(cohort["out"])
    assert res[("lou", "check-loop")]["status"] in ("timeout", "error", "fail"), res[("lou", "check-loop")]
    assert res[("fiona", "check-loop")]["status"] in ("timeout", "error", "fail"), res[("fiona", "check-loop")]
    # the same lane went on: their other exercise was graded, and passed
    assert res[("lou", "one-character")]["status"] == "pass"
    assert res[("fiona", "one-character")]["status"] == "pass"
    assert any("corrupt" in s for s in cohort["said"]), cohort["said"]
    assert cohort["summary"].bad == 1


def test_learner_code_reaches_nothing_of_the_grader(cohort):
    out = cohort["out"]
    mallory = _results(out)[("mallory", "check-loop")]
    assert mallory["status"] != "pass"
    assert all(c["name"] != "forged" for c in mallory["checks"])
    outputs = "\n".join(c["output"] for c in mallory["checks"])
    line = next((x for x in outputs.splitlines() if x.startswith("ATTACK ")), None)
    assert line, _why(mallory)
    found = json.loads(line.removeprefix("ATTACK "))
    assert str(found["read_gradebook"]).startswith("blocked"), found
    assert found["list_grading"] == [], found
    assert found["list_hidden"] == [], found
    assert str(found["network"]).startswith("blocked"), found
    assert found["token"] is False, found
    # its own lane only (other names are the empty folders that stand in for hidden places under /tmp)
    assert [n for n in found["list_tmp"] if n.startswith("fcg-")] == [found["home"].split("/")[2]], found
    assert not (out / "FORGED").exists()
    assert not list(out.rglob("FORGED"))
    left = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if b"MALLORY-SLEEPER" in (p / "cmdline").read_bytes():
                    left.append(p.name)
            except OSError:
                pass
    assert not left, f"a learner's detached process outlived the grading: {left}"


def test_nothing_planted_reaches_what_learners_or_an_lms_see(cohort):
    out = cohort["out"]
    stored = json.dumps(list(_results(out).values()))
    assert PLANTED_HIDDEN in stored and PLANTED_HELDOUT in stored  # the instructor's gradebook keeps them
    exported = [out / "grades.csv", *(out / "gradescope").rglob("*.json"), *(out / "feedback").rglob("*")]
    assert len([p for p in exported if p.is_file()]) >= 1 + 5 + 5
    for p in exported:
        if p.is_file():
            text = p.read_text(encoding="utf-8")
            assert PLANTED_HIDDEN not in text, p
            assert PLANTED_HELDOUT not in text, p
            assert TOKEN not in text, p


def test_the_csv_has_a_row_per_learner_and_a_column_per_exercise(cohort):
    with open(cohort["out"] / "grades.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert {r["email"] for r in rows} >= {"ada@example.org", "bob@example.org"}
    assert not [r for r in rows if not r["email"] and not r["name"]], rows  # the corrupt file names nobody
    for ex_id in cohort["ids"]:
        assert ex_id in rows[0]


def test_a_second_run_over_unchanged_submissions_grades_nothing(cohort):
    summary = grading.grade(cohort["opts"], say=lambda _: None)
    assert summary.graded == 0
    assert summary.skipped == 6 * len(cohort["ids"])


def test_regrading_one_exercise_grades_only_that_exercise_again(cohort):
    # -e names another exercise: the one to regrade is graded too, never only set aside
    summary = grading.grade(grading.Options(**{**cohort["opts"].__dict__, "regrade": ["one-character"],
                                               "exercises": ["check-loop"]}), say=lambda _: None)
    assert summary.graded == 6 and summary.skipped == 6, summary
    with open(cohort["out"] / "grades.csv", newline="", encoding="utf-8") as f:
        assert "one-character" in next(csv.reader(f))


def test_a_mistyped_source_stops_before_anything_is_written(tmp_path):
    with pytest.raises(grading.GradeError, match="No such file or folder"):
        grading.grade(grading.Options(sources=[str(tmp_path / "inbx")], out=tmp_path / "grading"))
    assert not (tmp_path / "grading").exists()


@pytest.mark.skipif(not ABILITIES.netns, reason="needs lanes in their own namespaces")
def test_grading_killed_with_sigkill_resumes_without_losing_or_duplicating(tmp_path, cohort):
    subs = tmp_path / "subs"
    for name in ("ada", "bob"):
        shutil.copytree(cohort["subs"] / name, subs / name, symlinks=True)
    out = tmp_path / "grading"
    args = [str(Path(sys.executable).parent / "flowcamp"), "grade", str(subs), "--out", str(out), "--seed", str(SEED),
            "-e", "check-loop", "-e", "one-character", "-j", "1", "--no-export"]
    env = {**os.environ, "CI": "true"}
    first = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list((out / "logs").glob("lane-*.log")):
        time.sleep(0.2)
    time.sleep(4)  # inside the first submission's checks
    killed_lanes = [p for p in Path("/tmp").glob("fcg-*") if _locked(p)]  # (and any other grader's on this machine)
    first.send_signal(signal.SIGKILL)
    first.wait()
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    with duckdb.connect(str(out / grading.GRADEBOOK), read_only=True) as con:
        rows = con.execute("SELECT key, count(*) FROM results GROUP BY key").fetchall()
    assert len(rows) == 4 and all(n == 1 for _, n in rows), rows
    assert killed_lanes
    assert not [p for p in killed_lanes if p.exists() and not _locked(p)]  # what the killed lanes left is gone


def _locked(lane_root: Path) -> bool:
    import fcntl

    try:
        with open(lane_root / ".alive", "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return False
    except OSError:
        return True


def test_without_any_isolation_grading_still_works_and_says_so(tmp_path, cohort, monkeypatch):
    """A machine without bubblewrap, namespaces or cgroups (macOS in a VM without them, locked-down Ubuntu):
    the same verdicts, and a plain note at the start."""
    monkeypatch.setenv("FLOWCAMP_GRADE_ISOLATION", "none")
    subs = tmp_path / "subs"
    shutil.copytree(cohort["subs"] / "ada", subs / "ada", symlinks=True)
    said: list[str] = []
    summary = grading.grade(grading.Options(sources=[str(subs)], out=tmp_path / "grading", seed=SEED, jobs=1,
                                            exercises=["check-loop"], export=False), say=said.append)
    assert summary.graded == 1
    assert any("Isolation is turned off" in s for s in said), said
    assert _results(tmp_path / "grading")[("ada", "check-loop")]["status"] == "pass"


# ---------------------------------------------------------------------------------------- the grading flow
def _api_get(api: str, path: str, body: dict | None = None):
    import urllib.request

    req = urllib.request.Request(f"{api}/{path}", data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"}, method="POST" if body is not None
                                 else "GET")
    with urllib.request.urlopen(req, timeout=10) as answer:
        return json.loads(answer.read())


def _task_runs(flow_run_url: str) -> tuple[dict, list[dict]]:
    ui, _, run_id = flow_run_url.partition("/runs/flow-run/")
    api = ui + "/api"
    run = _api_get(api, f"flow_runs/{run_id}")
    tasks = _api_get(api, "task_runs/filter", {"flow_runs": {"id": {"any_": [run_id]}}})
    return run, tasks


def test_the_grading_run_is_a_prefect_flow_with_a_task_per_submission(cohort):
    assert cohort["summary"].flow_run_url, cohort["summary"]
    run, tasks = _task_runs(cohort["summary"].flow_run_url)
    assert run["state"]["type"] == "COMPLETED" and run["name"] == "grade grading"
    assert sorted(t["name"] for t in tasks) == [f"grade {n}" for n in ("ada", "bob", "fiona", "lou", "mallory",
                                                                      "mia")]
    assert all(t["state"]["type"] == "COMPLETED" for t in tasks)


@pytest.fixture(scope="module")
def dask_cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=":0") as cluster:
        yield cluster.scheduler_address


def test_the_dask_path_grades_like_the_local_run(tmp_path, cohort, dask_cluster):
    """The same submissions, hidden checks and seed graded on a Dask cluster's worker (the files travel with
    each task): the same verdicts and scores as the local run, and the runs show in the Prefect UI."""
    subs = tmp_path / "subs"
    for name in ("ada", "bob", "mia"):
        shutil.copytree(cohort["subs"] / name, subs / name, symlinks=True)
    said: list[str] = []
    summary = grading.grade(grading.Options(sources=[str(subs)], out=tmp_path / "grading", hidden=cohort["hidden"],
                                            seed=SEED, exercises=cohort["ids"], dask=dask_cluster, export=False),
                            say=said.append)
    assert summary.graded == 6, (summary, said)
    assert any("Dask cluster" in s and "1 worker(s), each checked" in s for s in said), said
    here, local = _results(tmp_path / "grading"), _results(cohort["out"])
    assert set(here) == {k for k in local if k[0] in ("ada", "bob", "mia")}
    for key, doc in here.items():
        assert (doc["status"], doc["score"]) == (local[key]["status"], local[key]["score"]), (key, _why(doc))
        assert [(c["name"], c["status"]) for c in doc["checks"]] == \
            [(c["name"], c["status"]) for c in local[key]["checks"]], key
    assert any(c.get("visibility") == "hidden" for c in here[("ada", "check-loop")]["checks"])
    run, tasks = _task_runs(summary.flow_run_url)
    assert run["state"]["type"] == "COMPLETED" and len(tasks) == 3


def test_a_dask_cluster_that_cannot_grade_is_told_before_anything_is_graded(tmp_path, dask_cluster, cohort):
    from flowcamp.grading import flowrun

    course = Course(ROOT)
    runtime = grading.runtime_version()
    good = {"runtime": runtime, "api": os.environ[API_ENV] + "/api", "bwrap": False, "netns": False,
            "checks": {"check-loop": grading.checks_version(course.get("check-loop"), None, runtime)}}
    assert flowrun.check_workers(dask_cluster, good) == (1, [])
    bad = {**good, "runtime": "0" * 16, "api": "http://127.0.0.1:9/api",
           "checks": {"check-loop": "f" * 16, "no-such-exercise": "0"}}
    workers, problems = flowrun.check_workers(dask_cluster, bad)
    text = "\n".join(problems)
    assert workers == 1 and len(problems) == 3, text
    assert "flowcamp differs" in text and "check-loop and" not in text and "no-such-exercise" in text
    assert "cannot reach the Prefect API at http://127.0.0.1:9/api" in text
    with pytest.raises(grading.GradeError, match="No Dask scheduler answered at tcp://127.0.0.1:9"):
        grading.grade(grading.Options(sources=[str(cohort["subs"] / "ada")], out=tmp_path / "g", seed=SEED,
                                      exercises=["check-loop"], dask="tcp://127.0.0.1:9", export=False),
                      say=lambda _: None)


def test_watch_grades_what_changed_and_refreshes_the_report(tmp_path, cohort):
    """`grade --watch` over a folder: round 1 grades everyone; a learner who fixes their work is graded again
    in a later round (and only they are); Ctrl-C stops it cleanly. It also starts the grading folder's own
    Prefect server (no --prefect-api), which the test stops."""
    import queue
    import threading

    from flowcamp import server
    from flowcamp.workspace import Workspace

    subs, out = tmp_path / "subs", tmp_path / "grading"
    for name in ("ada", "bob"):
        shutil.copytree(cohort["subs"] / name, subs / name, symlinks=True)
    env = {k: v for k, v in os.environ.items() if k != API_ENV}
    args = [str(Path(sys.executable).parent / "flowcamp"), "grade", str(subs), "--out", str(out), "--seed",
            str(SEED), "-e", "check-loop", "-j", "1", "--watch", "--interval", "1", "--json"]
    proc_ = subprocess.Popen(args, cwd=ROOT, env={**env, "CI": "true"}, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(json.loads(x)) for x in proc_.stdout], daemon=True).start()

    def next_round(pred, limit: float = 240) -> dict:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            try:
                r = lines.get(timeout=1)
            except queue.Empty:
                assert proc_.poll() is None, proc_.stderr.read()
                continue
            if pred(r):
                return r
        raise AssertionError("no such round")

    try:
        first = next_round(lambda r: r["round"] == 1)
        assert sorted(first["changed"]) == ["ada", "bob"] and first["graded"] == 2
        report_before = (out / "report.html").stat().st_mtime_ns
        next_round(lambda r: r["round"] >= 2 and not r["changed"])  # nothing changed: nothing graded
        ex = cohort["course"].get("check-loop")
        (subs / "bob" / "workspace" / ex.path / "first_query.py").write_text(
            (ROOT / "solutions" / ex.path / "first_query.py").read_text())
        again = next_round(lambda r: bool(r["changed"]))
        assert again["changed"] == ["bob"] and again["graded"] == 1, again
        proc_.send_signal(signal.SIGINT)
        assert proc_.wait(timeout=60) == 0, proc_.stderr.read()
        assert (out / "report.html").stat().st_mtime_ns > report_before
        with duckdb.connect(str(out / grading.GRADEBOOK), read_only=True) as con:  # the old result stays too
            bob = con.execute("SELECT r.status FROM results r JOIN submissions s ON s.hash = r.submission_hash "
                              "WHERE s.label = 'bob' ORDER BY r.seq").fetchall()
        assert [b[0] for b in bob][-1] == "pass" and len(bob) == 2, bob
        assert "Starting the grading folder's Prefect server" in proc_.stderr.read()
        # one lane for every round: kept alive between rounds (a lane started from a task's thread died with it)
        assert sorted(p.name for p in (out / "logs").glob("lane-*.log")) == ["lane-1.log"]
        stop = subprocess.run([args[0], "-w", str(out), "stop"], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert "Stopped: the Prefect server" in stop.stdout, stop.stdout + stop.stderr
    finally:
        if proc_.poll() is None:
            proc_.kill()
        server.stop(Workspace(out, cohort["course"]))


def test_grading_one_exercise_of_a_new_submission_says_the_others_are_not_graded_yet(tmp_path, cohort):
    """Ada hands in again and the instructor grades only -e check-loop: her newest submission counts, so her
    one-character result (graded before, on her older submission) would vanish from the exports: say so."""
    out = tmp_path / "grading"
    shutil.copytree(cohort["out"], out, ignore=shutil.ignore_patterns(".grading.lock", ".flowcamp", "logs",
                                                                       ".lanes", ".staging"))
    subs = tmp_path / "subs"
    shutil.copytree(cohort["subs"] / "ada", subs / "ada", symlinks=True)
    ex = cohort["course"].get("check-loop")
    with open(subs / "ada" / "workspace" / ex.path / "first_query.py", "a", encoding="utf-8") as f:
        f.write("\n# tidied up\n")
    said: list[str] = []
    summary = grading.grade(grading.Options(sources=[str(subs)], out=out, hidden=cohort["hidden"], seed=SEED,
                                            exercises=["check-loop"], export=False), say=said.append)
    assert summary.graded == 1
    [note] = [s for s in said if "handed in again" in s]
    assert "ada" in note and "without -e" in note
    bob = tmp_path / "subs2"
    shutil.copytree(cohort["subs"] / "bob", bob / "bob", symlinks=True)  # unchanged: nothing to say
    said.clear()
    grading.grade(grading.Options(sources=[str(bob)], out=out, hidden=cohort["hidden"], seed=SEED,
                                  exercises=["check-loop"], export=False), say=said.append)
    assert not [s for s in said if "handed in again" in s], said


def test_an_exercise_still_as_the_learner_got_it_is_not_begun_not_stuck(tmp_path, cohort):
    """`flowcamp submit` hands in every exercise: one whose files are still the starter's, never checked and
    with no hint, is marked not begun (the report does not count the learner as stuck there)."""
    from flowcamp.grading import intake
    from flowcamp.grading.gradebook import result_status

    course = cohort["course"]
    exs = [course.get("check-loop"), course.get("env-settings")]
    root = _learner(course, tmp_path / "cache", tmp_path / "subs" / "sam", "Sam", {"check-loop": "solution"}, exs)
    sub = intake.open_source(str(root), tmp_path / "open", course)
    assert grading.untouched(sub, exs) == ["env-settings"]
    sub.manifest.setdefault("progress", {}).setdefault("exercises", {})["env-settings"] = {"hints_shown": 1}
    assert grading.untouched(sub, exs) == []  # asked for a hint: begun
    sub.manifest["progress"]["exercises"] = {}
    settings = next(p for p in (Path(sub.root) / "workspace" / exs[1].path).rglob("*.py"))
    settings.write_text(settings.read_text() + "\n# started\n")
    assert grading.untouched(sub, exs) == []  # a changed file: begun
    mallory = intake.open_source(str(cohort["subs"] / "mallory"), tmp_path / "open2", course)
    assert grading.untouched(mallory, [course.get("one-character")]) == []  # a practice repository is never "as got"
    assert result_status({"status": "fail", "untouched": True}) == "untouched"
    assert result_status({"status": "pass", "untouched": True}) == "pass"
