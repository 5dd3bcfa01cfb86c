"""The pytest plugin that every check process loads (``-p flowcamp.checks.plugin``).

It gives checks their fixtures and reports one JSON line per check, as each check starts and ends, on a
channel only this process holds (a pipe inherited from the runner, ``FLOWCAMP_RESULTS_FD``, closed to
every child), so a run stopped for taking too long still says which checks had passed, and nothing the
learner's code does can write a verdict. Secrets are cut out of every message and output first.

Environment set by the runner (:mod:`flowcamp.harness`): ``FLOWCAMP_LEARNER_DIR``, ``FLOWCAMP_RESULTS_FD``,
``FLOWCAMP_HELDOUT_WAREHOUSE``, ``FLOWCAMP_HELDOUT_SEED``, ``FLOWCAMP_LEARNER_PRELOAD`` and, for Prefect
exercises, ``PREFECT_API_URL``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from flowcamp import explain, proc, reaper
from flowcamp.checks import Learner, Repo, describe_exception
from flowcamp.checks.learner import start_zygote
from flowcamp.checks.sql import close_queries, lock_every_connection
from flowcamp.redact import redact, secret_values
from flowcamp.stamps import file_stamp

# pytest plugins a check run never uses; unraisableexception alone costs 0.2 s (a full garbage collection,
# twice, at exit).
UNUSED_PYTEST_PLUGINS = ("unraisableexception", "threadexception", "doctest", "junitxml", "pastebin", "stepwise",
                         "faulthandler", "legacypath", "logging", "nose", "setuponly", "setupplan")


def run_options(tmp: Path) -> list[str]:
    """pytest's options for a check run in the folder ``tmp``, this plugin aside. The warm worker runs pytest
    once with them too, so its forked check processes find pytest's own machinery loaded."""
    ini = tmp / "pytest.ini"
    ini.write_text("[pytest]\n", encoding="utf-8")
    return ["-c", str(ini), "--rootdir", str(tmp), "--noconftest", "--assert=plain",
            "-p", "no:cacheprovider", "--import-mode=importlib",
            *[a for name in UNUSED_PYTEST_PLUGINS for a in ("-p", f"no:{name}")],
            "-q", "--no-header", "--tb=short", "-o", "console_output_style=classic",
            "--basetemp", str(tmp / "pytest-tmp")]


_NAME = pytest.StashKey[dict]()
_RESULT = pytest.StashKey[dict]()
_STATE: dict = {"fd": None, "zygote": None, "planted": set()}


def plant_secret(value: str) -> str:
    """Tell the plugin a value is secret: it never appears in a message or output. Returns the value."""
    _STATE["planted"].add(value)
    return value


def pytest_configure(config):
    proc.trace("plugin: configure")
    config.addinivalue_line("markers", "points(n): how many points a check is worth (default 1)")
    reaper.make_undumpable()
    reaper.become_subreaper()
    lock_every_connection()  # DuckDB files the learner's code wrote may hold views that read files
    fd = os.environ.pop("FLOWCAMP_RESULTS_FD", None)
    if fd is not None:
        _STATE["fd"] = int(fd)
        os.set_inheritable(int(fd), False)  # no child, and so no learner process, gets it
    if os.environ.get("FLOWCAMP_LEARNER_PRELOAD") and _STATE.get("zygote") is None:
        _STATE["zygote"] = start_zygote()  # warms up while pytest collects (a warm worker gives one ready)


def pytest_unconfigure(config):
    proc.trace("plugin: unconfigure")
    zygote = _STATE.pop("zygote", None)
    if zygote is not None:
        zygote.close()
    reaper.kill_descendants(thorough=True)


def _write(event: dict) -> None:
    fd = _STATE.get("fd")
    if fd is None:
        return
    data = (json.dumps(event) + "\n").encode("utf-8")
    while data:
        data = data[os.write(fd, data):]


def _describe(item) -> dict:
    doc = (getattr(item.function, "__doc__", None) or "").strip()
    name = doc.splitlines()[0].strip() if doc else item.name.removeprefix("test_").replace("_", " ").capitalize()
    marker = item.get_closest_marker("points")
    points = marker.args[0] if marker and marker.args else 1
    info = {"id": item.nodeid, "name": name, "max_points": points}
    hidden = os.environ.get("FLOWCAMP_HIDDEN_CHECKS")  # cohort grading: the instructor's pack of hidden checks
    if hidden and Path(str(item.path)).resolve().is_relative_to(Path(hidden).resolve()):
        info["visibility"] = "hidden"
    if "pristine" in getattr(item, "fixturenames", ()):  # it runs the learner's code on held-out data
        info["heldout"] = True
    return info


def pytest_collection_finish(session):
    proc.trace("plugin: collected")
    for item in session.items:
        info = _describe(item)
        item.stash[_NAME] = info
        _write({"event": "collected", **info})


def pytest_runtest_teardown(item, nextitem):
    close_queries()  # the warehouse a check's learner_query opened is free again


def pytest_runtest_logstart(nodeid, location):
    proc.trace(f"plugin: start {nodeid.rsplit('::', 1)[-1]}")
    _write({"event": "start", "id": nodeid})


def _failure(call, rep) -> tuple[str, str]:
    exc = call.excinfo.value if call.excinfo else None
    learner_dir = os.environ.get("FLOWCAMP_LEARNER_DIR")
    if isinstance(exc, AssertionError):
        message = str(exc).strip() or "This check failed (it gave no message)."
        plain = explain.explain(message)  # a locked warehouse, an unread query: say what it means
        return "fail", f"{message}\n{plain}" if plain and plain not in message else message
    if exc is not None:
        return "error", ("Something unexpected went wrong while checking: "
                         + describe_exception(exc, Path(learner_dir) if learner_dir else None))
    return "error", rep.longreprtext[-1500:]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    info = item.stash.get(_NAME, None) or _describe(item)
    rec = item.stash.setdefault(_RESULT, {"status": "pass", "message": "", "output": ""})
    if rep.when in ("setup", "call") and (rep.failed or rep.skipped) and rec["status"] == "pass":
        if rep.skipped:
            rec["status"] = "skipped"
            rec["message"] = str(call.excinfo.value) if call.excinfo else "skipped"
        else:
            rec["status"], rec["message"] = _failure(call, rep)
    if rep.when == "call":
        for name in ("learner", "shared_learner"):
            lrn = item.funcargs.get(name)
            if isinstance(lrn, Learner):
                rec["output"] += lrn.take_output()
    if rep.when == "teardown":
        secrets = secret_values(extra=_STATE["planted"])
        rec = {k: redact(v, secrets) if isinstance(v, str) else v for k, v in rec.items()}
        _write({"event": "result", **info, **rec})


# ------------------------------------------------------------------------------------------ fixtures


@pytest.fixture
def learner():
    """The learner's copy of the exercise; its code runs in learner processes that end with the check."""
    d = os.environ.get("FLOWCAMP_LEARNER_DIR")
    if not d:
        raise RuntimeError("FLOWCAMP_LEARNER_DIR is not set: checks must be run by flowcamp, not by pytest directly")
    lrn = Learner(Path(d), _zygote)
    yield lrn
    lrn.close()


@pytest.fixture(scope="session")
def shared_learner():
    """A learner whose processes live for the whole check run: for checks that share one flow run and run the
    flow again in the same warm process (a second run there skips Prefect's first-run set-up)."""
    d = os.environ.get("FLOWCAMP_LEARNER_DIR")
    if not d:
        raise RuntimeError("FLOWCAMP_LEARNER_DIR is not set: checks must be run by flowcamp, not by pytest directly")
    lrn = Learner(Path(d), _zygote).live_for_the_run()
    yield lrn
    lrn.close()


def _zygote():
    """The warm parent of learner processes, started on first use if it was not started ahead."""
    if _STATE.get("zygote") is None:
        _STATE["zygote"] = start_zygote()
    return _STATE["zygote"]


_ENSURED: dict[str, int] = {}


@pytest.fixture
def pristine() -> Path:
    """The held-out warehouse as flowcamp built it, for the check's own expected values. Never give this
    path to the learner's code: give it `warehouse`, a copy."""
    master = os.environ.get("FLOWCAMP_HELDOUT_WAREHOUSE")
    seed = int(os.environ.get("FLOWCAMP_HELDOUT_SEED", "7"))
    if not master:
        raise RuntimeError("FLOWCAMP_HELDOUT_WAREHOUSE is not set: checks must be run by flowcamp")
    if _ENSURED.get(master) != seed:  # once per check run
        _ensure_heldout(master, seed)
        _ENSURED[master] = seed
    return Path(master)


def _ensure_heldout(master: str, seed: int) -> None:
    """Build the held-out warehouse unless it is up to date. Reading its build settings opens it (30-40 ms):
    done again only when the file changed since the last check verified it (a stamp of its inode, size and
    times beside it; no stronger than the settings inside the file, which any process of this user could
    rewrite too: cohort grading mounts it read-only for learner code)."""
    from flowcamp import warehouse as wh

    stamp = Path(master + ".verified")

    def fingerprint() -> str | None:
        stamp = file_stamp(master)
        return None if stamp is None else " ".join(map(str, (*stamp, seed, wh.HELDOUT_SCALE, wh.SCHEMA_VERSION)))

    now = fingerprint()
    try:
        if now is not None and stamp.read_text(encoding="utf-8") == now:
            return
    except OSError:
        pass
    wh.ensure(master, seed=seed, scale=wh.HELDOUT_SCALE)
    done = fingerprint()
    if done is not None:
        tmp = stamp.with_name(f"{stamp.name}.{os.getpid()}")
        try:
            tmp.write_text(done, encoding="utf-8")
            os.replace(tmp, stamp)
        except OSError:
            tmp.unlink(missing_ok=True)


@pytest.fixture
def warehouse(pristine, tmp_path, monkeypatch) -> Path:
    """A fresh copy of the held-out warehouse for the learner's code, also exported as FLOWCAMP_WAREHOUSE."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(pristine, copy)
    monkeypatch.setenv("FLOWCAMP_WAREHOUSE", str(copy))
    return copy


@pytest.fixture
def repo(learner):
    """repo("project") reads the git repository in that folder of the learner's exercise."""

    def make(folder: str = ".") -> Repo:
        return Repo(learner.dir / folder)

    return make


@pytest.fixture
def prefect_run(learner):
    """prefect_run(flow, **params): run a learner's flow on the local server; read back its runs from the API."""
    from flowcamp.checks.prefect import run_flow

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if not os.environ.get("PREFECT_API_URL"):
        raise RuntimeError("PREFECT_API_URL is not set: Prefect checks need flowcamp's local server")

    def run(flow_obj, **params):
        return run_flow(learner, flow_obj, **params)

    return run


@pytest.fixture
def notebook(pristine):
    """notebook.run("explore.ipynb", answers=["n_active", ...]) runs a copy of the learner's notebook in a
    Jupyter kernel of its own, on a copy of the held-out warehouse (FLOWCAMP_WAREHOUSE), and gives back the
    named answers as plain data (a NotebookRun, from flowcamp.checks.notebook). One run per check run."""
    from flowcamp.checks.notebook import notebooks

    runs = notebooks()
    runs.pristine = pristine
    return runs
