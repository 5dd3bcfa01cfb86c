"""The check runtime's promises, tried the way a determined learner would: learner code runs apart from the
verdict, nothing it starts outlives the check, a broken warm parent is not the learner's failure, the
no-fork path gives the same results, two checks at once both come out right, memory has a limit."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest

from flowcamp.results import Status
from flowcamp.runner import run_check


RIGHT = "def add(a, b):\n    return a + b\n"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
def test_a_process_that_left_its_session_does_not_outlive_the_check(add_ws, tmp_path):
    ws, ex, calc = add_ws
    pidfile = tmp_path / "escaped.pid"
    calc.write_text(
        "import subprocess, sys\n"
        f"p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'], start_new_session=True)\n"
        f"open({str(pidfile)!r}, 'w').write(str(p.pid))\n" + RIGHT)
    assert run_check(ws, ex).status is Status.PASS
    pid = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid), "a process the learner's code started is still running after the check"


def test_learner_code_that_kills_its_warm_parent_is_not_its_failure(add_ws, tmp_path):
    """The learner's code kills the process it was forked from (once): later loads start a fresh Python."""
    ws, ex, calc = add_ws
    marker = tmp_path / "killed-once"
    calc.write_text("import os, signal\n"
                    f"if not os.path.exists({str(marker)!r}):\n"
                    f"    open({str(marker)!r}, 'w').close()\n"
                    "    os.kill(os.getppid(), signal.SIGKILL)\n" + RIGHT)
    result = run_check(ws, ex)
    assert result.status is Status.PASS, result.to_json()


def test_without_fork_the_results_are_the_same(add_ws, monkeypatch):
    ws, ex, calc = add_ws
    for source, status in ((RIGHT, Status.PASS), ("def add(a, b):\n    return a - b\n", Status.FAIL),
                           ("import sys\nsys.exit(3)\n", Status.FAIL)):
        calc.write_text(source)
        with_fork = run_check(ws, ex)
        monkeypatch.setenv("FLOWCAMP_NO_FORK", "1")
        without = run_check(ws, ex)
        monkeypatch.delenv("FLOWCAMP_NO_FORK")
        assert with_fork.status is without.status is status
        assert [(c.name, c.status, c.message) for c in with_fork.checks] == \
               [(c.name, c.status, c.message) for c in without.checks]


def test_two_checks_of_one_workspace_at_once(add_ws):
    ws, ex, calc = add_ws
    calc.write_text(RIGHT)
    results = []
    threads = [threading.Thread(target=lambda: results.append(run_check(ws, ex))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status for r in results] == [Status.PASS, Status.PASS], [r.to_json() for r in results]


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="memory is measured from /proc")
def test_too_much_memory_is_stopped_with_a_plain_message(add_ws, monkeypatch):
    ws, ex, calc = add_ws
    monkeypatch.setenv("FLOWCAMP_MEMORY_MB", "150")
    calc.write_text("import time\nblocks = []\nfor _ in range(60):\n    blocks.append(bytearray(10_000_000))\n"
                    "    time.sleep(0.02)\n" + RIGHT)
    result = run_check(ws, ex)
    assert result.status is Status.FAIL, result.to_json()
    assert "more than 150 MB" in result.checks[0].message


# ------------------------------------------------------------------------------------------ warm worker

def _fork_ok() -> bool:
    import sys

    return sys.platform.startswith("linux") and hasattr(os, "fork")


def worker_only(fn):
    """A test of the warm worker: it needs fork (Linux), and turns the worker on."""
    fn = pytest.mark.usefixtures("warm_worker")(fn)
    return pytest.mark.skipif(not _fork_ok(), reason="the warm worker needs fork (Linux)")(fn)


def _worker_pid(ws) -> int | None:
    from flowcamp import services, worker

    entry = services.service(ws, worker.SERVICE)
    return entry["pid"] if services.alive(entry) else None


def _wait_for_worker(ws, timeout: float = 30) -> int:
    import json

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = _worker_pid(ws)
        info = ws.state_dir / "worker.json"
        if pid and info.exists() and json.loads(info.read_text()).get("pid") == pid:
            return pid
        time.sleep(0.2)
    raise AssertionError("the warm worker did not start")


@worker_only
def test_memory_a_learner_process_shares_with_its_warm_parent_is_not_counted_as_its_own(add_ws, monkeypatch):
    ws, ex, calc = add_ws
    calc.write_text(RIGHT)
    run_check(ws, ex)  # starts the worker
    _wait_for_worker(ws)
    # Below the warm learner parent's resident size (DuckDB, Prefect: 120 MB or more), which a forked learner
    # process shares; its own memory is a few MB.
    monkeypatch.setenv("FLOWCAMP_MEMORY_MB", "100")
    result = run_check(ws, ex)
    assert result.status is Status.PASS, result.to_json()


@worker_only
def test_the_worker_gives_the_same_results_as_a_cold_check(add_ws, monkeypatch):
    ws, ex, calc = add_ws
    monkeypatch.setenv("FLOWCAMP_WORKER", "0")
    cold = {}
    for name, source in (("right", RIGHT), ("wrong", "def add(a, b):\n    return a * b\n")):
        calc.write_text(source)
        cold[name] = run_check(ws, ex)
    monkeypatch.delenv("FLOWCAMP_WORKER")
    run_check(ws, ex)  # starts the worker for next time
    _wait_for_worker(ws)
    for name, source in (("right", RIGHT), ("wrong", "def add(a, b):\n    return a * b\n")):
        calc.write_text(source)
        warm = run_check(ws, ex)
        assert [(c.name, c.status, c.message) for c in warm.checks] == \
               [(c.name, c.status, c.message) for c in cold[name].checks]


@worker_only
def test_a_worker_killed_between_or_during_checks_is_not_the_learners_failure(add_ws, tmp_path):
    ws, ex, calc = add_ws
    calc.write_text(RIGHT)
    run_check(ws, ex)
    pid = _wait_for_worker(ws)
    os.kill(pid, 9)  # between checks
    assert run_check(ws, ex).status is Status.PASS
    pid = _wait_for_worker(ws)
    # During a check: the learner's code kills the worker while its check runs.
    marker = tmp_path / "once"
    calc.write_text("import os, time\n"
                    f"if not os.path.exists({str(marker)!r}):\n"
                    f"    open({str(marker)!r}, 'w').close()\n"
                    f"    os.kill({pid}, 9)\n    time.sleep(0.5)\n" + RIGHT)
    assert run_check(ws, ex).status is Status.PASS


@worker_only
def test_edited_course_checks_and_an_updated_environment_are_seen_at_once(golden_course, tmp_path, make_workspace,
                                                                            monkeypatch):
    import shutil

    from flowcamp.course import Course

    root = tmp_path / "course"
    shutil.copytree(golden_course.root, root)
    course = Course(root)
    ws = make_workspace(course)
    ex = course.get("add")
    (ws.exercise_dir(ex) / "calc.py").write_text(RIGHT)
    assert run_check(ws, ex).status is Status.PASS
    first = _wait_for_worker(ws)
    assert run_check(ws, ex).status is Status.PASS
    check = ex.checks_dir / "test_add.py"
    check.write_text(check.read_text().replace("got == 5", "got == 6"))  # a course update changes a check
    assert run_check(ws, ex).status is Status.FAIL
    # The Python environment changes (a package installed): the worker is replaced, not trusted.
    from flowcamp import worker

    # Stand-in for site-packages: touching the real one would make every other test's worker stale too
    # (tests run in parallel), which is how this test once broke another.
    site = tmp_path / "fake-site"
    site.mkdir()
    real = worker.sysconfig.get_paths

    def paths(*args, **kwargs):
        return {**real(*args, **kwargs), "purelib": str(site), "platlib": str(site)}

    monkeypatch.setattr(worker.sysconfig, "get_paths", paths)
    before = worker.fingerprint(dict(os.environ))
    os.utime(site, ns=(0, 10**18))  # a package installed: the folder's time changes
    assert worker.fingerprint(dict(os.environ)) != before
    assert run_check(ws, ex).status is Status.FAIL
    second = _wait_for_worker(ws)
    assert second != first


@worker_only
@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
def test_the_warm_learner_parent_serves_many_checks_and_is_replaced_when_broken(add_ws, tmp_path):
    """The worker keeps one warm learner parent across checks (a learner process is forked from it in
    milliseconds); what a check's learner processes leave behind is gone before the next check; a parent
    the learner's code killed is replaced, and neither check is the learner's failure."""
    ws, ex, calc = add_ws
    parents, escaped = tmp_path / "parents", tmp_path / "escaped"
    calc.write_text("import os, subprocess, sys\n"
                    f"open({str(parents)!r}, 'a').write(f'{{os.getppid()}}\\n')\n"
                    "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'], "
                    "start_new_session=True)\n"
                    f"open({str(escaped)!r}, 'a').write(f'{{p.pid}}\\n')\n" + RIGHT)
    run_check(ws, ex)  # cold: starts the worker
    _wait_for_worker(ws)
    parents.unlink()
    for _ in range(2):
        assert run_check(ws, ex).status is Status.PASS
    seen = set(parents.read_text().split())
    assert len(seen) == 1, f"each check had a new warm parent: {seen}"
    time.sleep(0.5)
    left = [int(p) for p in escaped.read_text().split() if _alive(int(p))]
    assert not left, f"processes the learner's code started outlived their check: {left}"
    # The learner's code kills its warm parent: this check still passes, and the next gets a new parent.
    os.kill(int(next(iter(seen))), 9)
    assert run_check(ws, ex).status is Status.PASS
    parents.unlink()
    assert run_check(ws, ex).status is Status.PASS
    assert set(parents.read_text().split()) != seen


def test_a_warehouse_locked_by_another_program_is_explained_in_the_check(add_ws, tmp_path):
    """DuckDB's lock error, met by the learner's code during a check, comes with one plain sentence naming the
    program that holds the file."""
    import subprocess
    import sys

    ws, ex, calc = add_ws
    db = tmp_path / "held.duckdb"
    code = "import sys, time, duckdb\ncon = duckdb.connect(sys.argv[1])\nprint('ready', flush=True)\ntime.sleep(60)\n"
    holder = subprocess.Popen([sys.executable, "-c", code, str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        calc.write_text(f"import duckdb\n\ndef add(a, b):\n    duckdb.connect({str(db)!r})\n    return a + b\n")
        result = run_check(ws, ex)
    finally:
        holder.kill()
        holder.wait()
    assert result.status is not Status.PASS
    said = " ".join(c.message for c in result.checks)
    assert "Could not set lock" in said and f"another Python program (process {holder.pid})" in said, said


def test_a_learner_that_loaded_nothing_leaves_the_warm_parent_alive(tmp_path):
    """A check that only reads a file must not take the check's warm parent down with it: every later load of
    the check would then start a fresh Python (a cold Prefect check took 14 s instead of 7)."""
    import subprocess
    import sys

    (tmp_path / "calc.py").write_text(RIGHT)
    code = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from flowcamp.checks.learner import Learner, start_zygote\n"
        "z = start_zygote()\n"
        "if z is None:\n    print('no fork'); sys.exit(0)\n"
        "z._wait_ready()\n"
        "Learner(Path(sys.argv[1]), lambda: z).close()  # loaded nothing\n"
        "alive = os.path.exists(f'/proc/{z.process.pid}') and z.process.poll() is None\n"
        "lrn = Learner(Path(sys.argv[1]), lambda: z)\n"
        "mod = lrn.load('calc.py')\n"
        "print('alive' if alive else 'dead', lrn.call(lrn.get(mod, 'add'), 2, 3))\n"
        "lrn.close(); z.close()\n")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "FLOWCAMP_LEARNER_PRELOAD": "duckdb"})
    assert done.returncode == 0, done.stderr[-2000:]
    if done.stdout.strip() != "no fork":
        assert done.stdout.split() == ["alive", "5"], done.stdout + done.stderr[-1000:]


def test_staged_runs_the_learners_files_beside_the_courses_own_helpers(tmp_path):
    """A given helper file (course code in the exercise folder) that the learner changed is replaced by the
    course's copy in the staged folder; the learner's own files and folders come along; the workspace is left
    as it was."""
    import subprocess
    import sys

    work, course = tmp_path / "work", tmp_path / "course"
    (work / "sql").mkdir(parents=True)
    course.mkdir()
    (work / "steps.py").write_text("def step():\n    return 'forged'\n")
    (course / "steps.py").write_text("def step():\n    return 'course'\n")
    (work / "sql" / "01.sql").write_text("select 1")
    (work / "pipeline.py").write_text("from steps import step\nfrom pathlib import Path\n\n"
                                      "def run():\n    return [step(), Path('sql/01.sql').read_text()]\n")
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from flowcamp.checks.learner import Learner\n"
        "lrn = Learner(Path(sys.argv[1]))\n"
        "with lrn.staged(Path(sys.argv[3]), Path(sys.argv[2]), ['steps.py']) as staged:\n"
        "    mod = staged.load('pipeline.py')\n"
        "    print(*staged.call(staged.get(mod, 'run')))\n"
        "lrn.close()\n")
    done = subprocess.run([sys.executable, "-c", code, str(work), str(course), str(tmp_path / "staged")],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "FLOWCAMP_NO_FORK": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["course", "select", "1"], done.stdout
    assert "forged" in (work / "steps.py").read_text()


@worker_only
@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
def test_a_server_started_while_the_worker_is_warm_is_forked_from_it(add_ws):
    """The warm worker has imported Prefect's server, so starting the server forks it from the worker (seconds
    quicker than a new Python): it leads a session of its own, carries no check's run token, answers, and
    `server stop` ends it; the worker goes on serving checks. With no worker, the usual start still works."""
    from pathlib import Path

    from flowcamp import server, services, worker

    ws, ex, calc = add_ws
    calc.write_text(RIGHT)
    run_check(ws, ex)  # cold: starts the worker
    worker_pid = _wait_for_worker(ws)

    def parent(pid: int) -> int:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])

    try:
        url = server.start(ws)
        pid = services.service(ws, server.SERVER)["pid"]
        assert parent(pid) == worker_pid and os.getsid(pid) == pid
        assert b"FLOWCAMP_RUN_TOKEN" not in Path(f"/proc/{pid}/environ").read_bytes()
        assert server.healthy(url)
        assert run_check(ws, ex).status is Status.PASS  # the worker still serves checks
        assert server.stop(ws)
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not server.status(ws).running
        worker.stop(ws)
        assert server.start(ws) == url  # the usual way, the same address
        assert parent(services.service(ws, server.SERVER)["pid"]) != worker_pid
    finally:
        server.stop_everything(ws)


def test_the_held_out_warehouse_is_verified_again_only_when_it_changed(tmp_path, monkeypatch):
    from flowcamp import warehouse as wh
    from flowcamp.checks import plugin

    master = str(tmp_path / "heldout" / "warehouse-5.duckdb")
    plugin._ensure_heldout(master, 5)  # builds it, and stamps what it verified
    assert wh.read_meta(master)["seed"] == 5 and os.path.isfile(master + ".verified")

    calls = []
    real_ensure = wh.ensure
    monkeypatch.setattr(wh, "ensure", lambda *a, **k: calls.append(a) or real_ensure(*a, **k))
    plugin._ensure_heldout(master, 5)
    assert calls == []  # unchanged: not opened again

    with open(master, "r+b") as fh:  # anything that changes the file (here: its content) is seen
        fh.seek(0)
        fh.write(b"not a warehouse")
    plugin._ensure_heldout(master, 5)
    assert len(calls) == 1 and wh.read_meta(master)["seed"] == 5  # rebuilt
    plugin._ensure_heldout(master, 6)  # another seed: another stamp
    assert len(calls) == 2 and wh.read_meta(master)["seed"] == 6


def test_learner_sql_cannot_reach_beyond_the_warehouse(tmp_path):
    """A query from a learner's file runs in the check's process: it must not write to the results channel
    (an open descriptor), read other files, attach databases, load extensions or unlock its settings."""
    import duckdb

    from flowcamp.checks import learner_query

    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS a")
    secret = tmp_path / "secret.txt"
    secret.write_text("do not read", encoding="utf-8")
    r, w = os.pipe()
    try:
        for sql in (f"COPY (SELECT 'FORGED' AS x) TO '/proc/self/fd/{w}' (FORMAT CSV, HEADER false)",
                    f"SELECT * FROM read_text('{secret}')", f"ATTACH '{tmp_path / 'other.duckdb'}' AS o",
                    "SET enable_external_access = true", "SET memory_limit = '100GB'", "INSTALL httpfs",
                    "CREATE TABLE u AS SELECT 2"):
            with pytest.raises(duckdb.Error):
                learner_query(db, sql)
        os.set_blocking(r, False)
        with pytest.raises(BlockingIOError):
            os.read(r, 100)  # nothing reached the channel
    finally:
        os.close(r)
        os.close(w)
    assert learner_query(db, "SELECT a, a + 1 AS b FROM t") == (["a", "b"], [(1, 2)])
    assert not (tmp_path / "other.duckdb").exists()
    # The warehouse stays open for the check, but what one query makes for itself is gone for the next: learner
    # SQL run first cannot shadow the table the reference query reads.
    assert learner_query(db, "CREATE TEMP VIEW t AS SELECT 42 AS a; CREATE TEMP MACRO m() AS 5; SELECT a FROM t") \
        == (["a"], [(42,)])
    assert learner_query(db, "SELECT a FROM t") == (["a"], [(1,)])
    with pytest.raises(duckdb.Error):
        learner_query(db, "SELECT m()")


def test_what_a_load_described_is_asked_again_once_the_learners_code_ran(tmp_path):
    """The load answers with its functions already described (no round trip each); after a call, which may
    rebind a name, a check sees the module as it is now."""
    from flowcamp.checks.learner import Learner

    (tmp_path / "mod.py").write_text(
        "def first(a, b=1):\n    return 1\n\n"
        "def swap():\n    global first\n    def first(x):\n        return 2\n")
    lrn = Learner(tmp_path)  # no warm parent: a fresh Python per load, same protocol
    try:
        mod = lrn.load("mod.py")
        fn = lrn.get(mod, "first")
        assert fn.parameters == ["a", "b"] and fn.is_callable and lrn.call(fn, 0) == 1
        assert lrn.call(lrn.get(mod, "swap")) is None
        again = lrn.get(mod, "first")
        assert again.parameters == ["x"] and lrn.call(again, 0) == 2
        assert not mod.has("missing")
    finally:
        lrn.close()


def test_a_view_in_a_file_the_learner_wrote_cannot_read_files_for_the_check(tmp_path):
    """The check process opens every DuckDB file with file access off: a learner's view over read_text() fails
    there instead of bringing another file's content into the check's messages."""
    import subprocess
    import sys

    import duckdb

    hidden = tmp_path / "hidden.txt"
    hidden.write_text("the hidden checks", encoding="utf-8")
    db = tmp_path / "written.duckdb"
    with duckdb.connect(str(db)) as con:  # as the learner's flow would write it (this process is not locked)
        con.execute(f"CREATE VIEW leak AS SELECT content FROM read_text('{hidden}')")
        con.execute("CREATE TABLE fine AS SELECT 42 AS n")
        assert con.sql("SELECT count(*) FROM leak").fetchall() == [(1,)]
    code = ("import sys, duckdb\n"
            "from flowcamp.checks.sql import lock_every_connection\n"
            "lock_every_connection(); lock_every_connection()\n"
            "with duckdb.connect(sys.argv[1], read_only=True) as con:\n"
            "    print(con.sql('SELECT n FROM fine').fetchall()[0][0])\n"
            "    try:\n"
            "        print(con.sql('SELECT * FROM leak').fetchall())\n"
            "    except duckdb.Error as e:\n"
            "        print('refused', type(e).__name__)\n")
    done = subprocess.run([sys.executable, "-c", code, str(db)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["42", "refused", "PermissionException"], done.stdout


def test_python_run_by_a_check_in_a_forked_learner_process_behaves_as_a_new_python(tmp_path):
    """`learner.run(["python", ...])` forks from the warm parent instead of starting a Python: exit codes,
    sys.argv, __main__, the environment it was given, an uncaught error's traceback, os._exit and sys.exit
    with a message come out as a new Python gives them, both streams in one, in the order printed; a run
    past its time limit is stopped with the command in the message."""
    import subprocess
    import sys

    (tmp_path / "script.py").write_text(
        "import os, sys\nprint('argv', sys.argv[1:], __name__, os.environ.get('EXTRA'))\n"
        "print('to stderr', file=sys.stderr)\nprint('after')\n"
        "if sys.argv[1:] == ['fail']:\n    raise ValueError('bad value')\n"
        "if sys.argv[1:] == ['hard']:\n    sys.stdout.flush(); os._exit(7)\n"
        "if sys.argv[1:] == ['say']:\n    sys.exit('stopped here')\n")
    (tmp_path / "mod.py").write_text("import sys\nprint('module', __name__, sys.argv[1:])\nsys.exit(3)\n")
    runs = [["script.py", "ok"], ["script.py", "fail"], ["script.py", "hard"], ["script.py", "say"],
            ["-c", "import sys; print('c', sys.argv); sys.exit(4)", "x"], ["-m", "mod", "y"]]
    code = (
        "import json, sys, os\n"
        "from pathlib import Path\n"
        "from flowcamp.checks.learner import Learner, LearnerError, start_zygote\n"
        "z = start_zygote()\n"
        "out = {'forked': z is not None}\n"
        "lrn = Learner(Path(sys.argv[1]), lambda: z)\n"
        f"for args in {runs!r}:\n"
        "    done = lrn.run(['python', *args], env={'EXTRA': 'given'}, timeout=30)\n"
        "    out[' '.join(args)] = [done.returncode, done.stdout + done.stderr]\n"
        "try:\n"
        "    lrn.run(['python', '-c', 'while True: pass'], timeout=1)\n"
        "except LearnerError as e:\n"
        "    out['timeout'] = str(e)\n"
        "lrn.close()\n"
        "print(json.dumps(out))\n")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "FLOWCAMP_LEARNER_PRELOAD": "duckdb"})
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    if not got["forked"]:
        pytest.skip("no fork here: a new Python runs it, as before")
    for args in runs:
        fresh = subprocess.run([sys.executable, *args], cwd=tmp_path, capture_output=True, text=True,
                               env={**os.environ, "EXTRA": "given"}, timeout=60)
        code_, output = got[" ".join(args)]
        assert code_ == fresh.returncode, (args, output)
        assert sorted(output.splitlines()) == sorted((fresh.stdout + fresh.stderr).splitlines()), args
        if args[0] == "script.py":  # in the order printed
            assert output.splitlines()[:3] == [fresh.stdout.splitlines()[0], "to stderr", "after"]
    assert "Traceback" in got["script.py fail"][1] and "learnerhost" not in got["script.py fail"][1]
    assert "ran for more than 1 seconds" in got["timeout"] and "while True" in got["timeout"]


def test_what_learner_code_prints_is_kept_whole_and_a_flood_is_stopped(tmp_path):
    """Junk printed first must not push a secret out of what a check reads (a "never print it" check would pass
    on a cheat); printing without end stops the process with a plain message instead of filling memory."""
    import subprocess
    import sys

    (tmp_path / "chatty.py").write_text(
        "def junk_then(secret):\n    print('x' * 300_000)\n    print(secret)\n\n"
        "def flood():\n    while True:\n        print('y' * 100_000)\n")
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from flowcamp.checks.learner import Learner, LearnerError, start_zygote\n"
        "z = start_zygote()\n"
        "lrn = Learner(Path(sys.argv[1]), lambda: z)\n"
        "mod = lrn.load('chatty.py')\n"
        "lrn.call(lrn.get(mod, 'junk_then'), 'the-made-up-secret')\n"
        "out = {'seen': 'the-made-up-secret' in lrn.take_output()}\n"
        "try:\n"
        "    lrn.call(lrn.get(lrn.load('chatty.py'), 'flood'))\n"
        "except LearnerError as e:\n"
        "    out['flood'] = str(e)\n"
        "out['kept'] = len(lrn.take_output())\n"
        "lrn.close()\n"
        "print(json.dumps(out))\n")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "FLOWCAMP_LEARNER_PRELOAD": "duckdb"})
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["seen"]
    assert "printed more than 8 MB" in got["flood"], got
    assert got["kept"] <= 8 * 1024 * 1024
