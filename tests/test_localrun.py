"""A learner's own runs, outside the checks (issue: learner experience, items 1-4): Prefect finds the workspace's
server with nothing to paste (from the exercise folder, from workspace/, through `flowcamp run`), check runs are
tagged and tidied, the warehouse lock becomes a plain sentence naming its holder, and starters find the
warehouse from their own file and never create an empty one."""

from __future__ import annotations

import json
from datetime import datetime, timezone
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import duckdb
import pytest

from flowcamp import explain, localrun, server
from flowcamp import warehouse as wh

ROOT = Path(__file__).resolve().parents[1]
FLOWCAMP = [sys.executable, "-m", "flowcamp.cli"]


def _env(ws, **extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "FLOWCAMP_"))}
    env.update({"FLOWCAMP_WORKSPACE": str(ws.root), "CI": "true", "FLOWCAMP_WORKER": "0", **extra})
    return env


def _flowcamp(ws, *args, cwd=None, **extra) -> subprocess.CompletedProcess:
    return subprocess.run([*FLOWCAMP, *args], cwd=cwd or ws.root, env=_env(ws, **extra), capture_output=True,
                          text=True, timeout=600)


def _flow_runs(url: str, body: dict | None = None) -> list[dict]:
    req = urllib.request.Request(f"{url}/api/flow_runs/filter", data=json.dumps(body or {}).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


# ------------------------------------------------------------------------------------------------ no server needed
def test_prefect_toml_goes_where_prefect_runs_start_and_leaves_the_learners_own_alone(course, make_workspace):
    ws = make_workspace(course)
    flow_ex = next(e for e in course.exercises if e.kind == "prefect")
    written = localrun.sync_prefect_toml(ws, "http://127.0.0.1:42123")
    assert ws.root / "prefect.toml" in written and ws.exercise_dir(flow_ex) / "prefect.toml" in written
    git_ex = next(e for e in course.exercises if e.kind == "git")
    assert not (ws.exercise_dir(git_ex) / "prefect.toml").exists()  # only where a flow runs
    text = (ws.root / "prefect.toml").read_text(encoding="utf-8")
    assert 'url = "http://127.0.0.1:42123/api"' in text and "PASSWORD" not in text.upper()
    assert localrun.sync_prefect_toml(ws, "http://127.0.0.1:42123") == []  # unchanged: nothing rewritten
    # A new address (the port was taken) rewrites ours; a prefect.toml the learner wrote stays theirs.
    mine = ws.exercise_dir(flow_ex) / "prefect.toml"
    mine.write_text("[logging]\nlevel = 'DEBUG'\n", encoding="utf-8")
    rewritten = localrun.sync_prefect_toml(ws, "http://127.0.0.1:42124")
    assert ws.root / "prefect.toml" in rewritten and mine not in rewritten
    assert mine.read_text(encoding="utf-8") == "[logging]\nlevel = 'DEBUG'\n"
    # Prefect reads it: a Python started in that folder sees the address, with nothing in its environment.
    code = "from prefect.settings import PREFECT_API_URL; print(PREFECT_API_URL.value())"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    out = subprocess.run([sys.executable, "-c", code], cwd=ws.root, env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "http://127.0.0.1:42124/api", out.stderr[-800:]
    # and the workspace's repository does not track it (the address is this computer's).
    assert "prefect.toml" in (ws.root / ".gitignore").read_text(encoding="utf-8")


def _hold_lock(path: Path, *argv: str) -> subprocess.Popen:
    """A process that keeps the warehouse open for writing; ``argv`` shows in its command line."""
    code = ("import sys, time, duckdb\ncon = duckdb.connect(sys.argv[1])\nprint('ready', flush=True)\n"
            "time.sleep(60)\n")
    holder = subprocess.Popen([sys.executable, "-c", code, str(path), *argv], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "ready"
    return holder


def test_a_locked_warehouse_becomes_a_sentence_naming_the_notebook(course, make_workspace, tmp_path):
    ws = make_workspace(course)
    db = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(db)).close()
    script = tmp_path / "write.py"
    script.write_text(f"import duckdb\nduckdb.connect({str(db)!r}).execute('CREATE TABLE t(x INT)')\n",
                      encoding="utf-8")
    holder = _hold_lock(db, "-m", "ipykernel_launcher", "-f", "kernel-1.json")  # what Jupyter's kernel looks like
    try:
        done = _flowcamp(ws, "run", str(script), cwd=tmp_path)
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 1
    said = done.stderr + done.stdout
    assert "Could not set lock" in said  # the program's own output is passed through
    plain = " ".join(said.split("What happened:", 1)[1].split())  # the terminal may wrap it
    assert "Jupyter notebook kernel" in plain and str(holder.pid) in plain and "read_only=True" in plain


def test_explanations_name_other_holders_and_leave_other_errors_alone(tmp_path):
    db = tmp_path / "w.duckdb"
    duckdb.connect(str(db)).close()
    holder = _hold_lock(db)
    try:
        with pytest.raises(duckdb.IOException) as err:
            duckdb.connect(str(db))
    finally:
        holder.kill()
        holder.wait()
    said = explain.explain(str(err.value))
    assert said and "another Python program" in said and f"process {holder.pid}" in said
    assert explain.explain("ZeroDivisionError: division by zero") is None
    missing = explain.explain('IO Error: Cannot open database "/x/warehouse.duckdb" in read-only mode: '
                              "database does not exist")
    assert missing and "uv run flowcamp" in missing


# ----------------------------------------------------------------------- starters find the warehouse from their file
def _python_starters(course) -> list[Path]:
    files = []
    for ex in course.exercises:
        for name in ex.files:
            for base in (ex.source_dir, ex.solution_dir):
                p = base / name
                if p.suffix == ".py" and p.is_file():
                    files.append(p)
    return files


def test_every_python_starter_and_solution_finds_the_warehouse_from_its_own_file(course):
    files = _python_starters(course)
    assert files
    for p in files:
        text = p.read_text(encoding="utf-8")
        if '/ "warehouse.duckdb"' not in text and "../warehouse.duckdb" not in text:
            continue  # builds no path to the workspace's warehouse (a comment, a stand-alone project's own file)
        assert '"../../warehouse.duckdb"' not in text, f"{p}: a path relative to the folder it is run from"
        assert re.search(r"Path\(__file__\)\.resolve\(\)\.parents\[2\] / \"warehouse\.duckdb\"", text), p


@pytest.mark.parametrize("where", ["exercise folder", "workspace", "elsewhere"])
def test_the_pipeline_starter_runs_from_any_folder_and_never_creates_an_empty_warehouse(course, make_workspace,
                                                                                         tmp_path, where):
    ws = make_workspace(course)
    ex = next(e for e in course.exercises if e.kind == "prefect")
    script = ws.exercise_dir(ex) / "pipeline.py"
    cwd = {"exercise folder": script.parent, "workspace": ws.root, "elsewhere": tmp_path}[where]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "FLOWCAMP_"))}
    before = set(cwd.rglob("*.duckdb"))
    done = subprocess.run([sys.executable, str(script)], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode != 0 and "There is no warehouse at" in done.stderr and "uv run flowcamp" in done.stderr
    assert set(cwd.rglob("*.duckdb")) == before, "the starter created a database file"
    wh.build(ws.warehouse_path, seed=wh.LEARNER_SEED, scale=0.05)
    done = subprocess.run([sys.executable, str(script)], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout[-500:] + done.stderr[-1500:]
    with duckdb.connect(str(ws.warehouse_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM analytics.event_attendance").fetchone()[0] > 0


# ------------------------------------------------------------------------------------------------ with a server
@pytest.mark.slow
def test_own_runs_find_the_server_with_nothing_to_paste_and_check_runs_are_tidied(course, shared_workspace,
                                                                                 prefect_server, tmp_path):
    from flowcamp import curriculum
    from flowcamp.kinds import kind_of

    ws, url = shared_workspace, prefect_server
    # The web UI finds the API at the workspace's own port (not Prefect's default 4200).
    with urllib.request.urlopen(f"{url}/ui-settings", timeout=10) as resp:
        assert json.loads(resp.read())["api_url"] == f"{url}/api"
    ex = next(e for e in course.exercises if e.kind == "prefect")
    curriculum.fresh_copy(ws, ex)
    kind_of(ex).apply_solution(ws, ex, {})
    if not ws.warehouse_path.exists():
        wh.build(ws.warehouse_path, seed=wh.LEARNER_SEED, scale=0.05)
    # `flowcamp check` records the server's address where the learner's runs start.
    from datetime import datetime, timezone

    started = datetime.now(timezone.utc).isoformat()
    for _ in range(2):
        done = _flowcamp(ws, "check", ex.id, "--json")
        assert json.loads(done.stdout)["status"] == "pass", done.stdout[-2000:] + done.stderr[-2000:]
    assert f'{url}/api' in (ws.exercise_dir(ex) / "prefect.toml").read_text(encoding="utf-8")
    runs = _flow_runs(url, {"flow_runs": {"tags": {"all_": ["flowcamp-check"]}}})
    # The runs this exercise's checks started (other tests on this server ran flows of their own: the test-flow
    # exercise's learner tests run flows tagged, not named, as a check's) are named so a learner tells them apart.
    ours = [r for r in runs if r["created"] >= started]
    assert ours and all(r["name"].startswith("check-") for r in ours)
    # The learner's own runs: plain python from the exercise folder and from workspace/, and `flowcamp run`.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "FLOWCAMP_"))}
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    script = ws.exercise_dir(ex) / "pipeline.py"
    def own_runs() -> int:
        runs = _flow_runs(url, {"limit": 200})
        return sum(1 for r in runs if "flowcamp-check" not in (r.get("tags") or []) and r["state_type"] == "COMPLETED")

    before = own_runs()
    for cwd, args in ((script.parent, ["pipeline.py"]), (ws.root, [str(script.relative_to(ws.root))])):
        done = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        assert "temporary server" not in done.stderr.lower()
    done = _flowcamp(ws, "run", "pipeline.py", cwd=script.parent)
    assert done.returncode == 0, done.stdout[-1000:] + done.stderr[-2000:]
    assert own_runs() == before + 3  # all three reached the workspace's server, none a temporary one
    assert server.status(ws).running


def test_the_course_folder_gets_one_too_when_the_workspace_is_inside_it(tmp_path):
    """setup.md has learners open the course folder in VS Code, whose Run button runs from there."""
    from flowcamp.course import Course
    from flowcamp.workspace import Workspace

    shutil.copytree(ROOT / "tests" / "golden" / "course", tmp_path / "course")
    c = Course(tmp_path / "course")
    inside = Workspace(tmp_path / "course" / "workspace", c)
    inside.init(seed=4242)
    assert tmp_path / "course" / "prefect.toml" in localrun.sync_prefect_toml(inside, "http://127.0.0.1:42001")
    outside = Workspace(tmp_path / "elsewhere", c)
    outside.init(seed=4242)
    (tmp_path / "course" / "prefect.toml").unlink()
    assert tmp_path / "course" / "prefect.toml" not in localrun.sync_prefect_toml(outside, "http://127.0.0.1:42002")


def test_earlier_check_runs_are_picked_for_deleting_once_old_and_finished():
    """Which check runs the tidy-up deletes: from before this check, finished, ended five minutes ago (a
    concurrent check may still read newer ones; the learner may still open them)."""
    from flowcamp import tidy

    now = 1_800_000_000.0

    def run(i, created, ended, state="COMPLETED", tags=("flowcamp-check",)):
        iso = lambda t: None if t is None else datetime.fromtimestamp(t, timezone.utc).isoformat()
        return {"id": f"r{i}", "created": iso(created), "end_time": iso(ended), "state": {"type": state},
                "tags": list(tags)}

    runs = [run(1, now - 900, now - 890), run(2, now - 900, now - 100), run(3, now - 10, now - 5),
            run(4, now - 900, None, "RUNNING"), run(5, now - 900, now - 890, tags=()),
            run(6, now - 900, now - 890, "FAILED")]
    assert tidy.to_forget(runs, before=now - 60, now=now) == ["r1", "r6"]
    assert tidy.to_forget(runs, before=now - 60, now=now, min_age=0) == ["r1", "r2", "r6"]
