"""Shared fixtures: the course, throwaway workspaces, one Prefect server for the whole run."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowcamp.course import Course
from flowcamp.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).resolve().parent / "golden"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """`--dist loadgroup` runs the tests of one `xdist_group` on one worker, so a module's costly fixture (a
    graded cohort, say) is made once. pytest-xdist does it by adding "@group" to each such test's node id, but
    pytest 9 keeps node ids elsewhere, so its change is lost and the fixture is made on every worker: the same
    change here, where pytest 9 keeps them."""
    if not getattr(config.option, "loadgroup", False):
        return
    from _pytest.nodeid import coerce_node_id

    for item in items:
        names = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                        for m in item.iter_markers("xdist_group")})
        suffix = "@" + "_".join(names)
        if names and not item.nodeid.endswith(suffix):
            item._id = coerce_node_id(item.nodeid + suffix)


@pytest.fixture(scope="session", autouse=True)
def _no_global_git(tmp_path_factory):
    """Tests run as on a new learner's machine: no global or system git configuration."""
    from flowcamp.curriculum import no_global_git_env, scoped_env

    env = no_global_git_env(tmp_path_factory.mktemp("gitconfig"))
    # Most tests make a workspace, check it once or twice and throw it away: a warm worker (a daemon that
    # imports Prefect) would cost more than it saves there, so checks run the cold way unless a test asks
    # for the worker (the `warm_worker` fixture: curriculum, golden and runtime tests).
    with scoped_env({**env, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "FLOWCAMP_WORKER": "0"}):
        yield
    _stop_services_under(tmp_path_factory.getbasetemp())


def _stop_services_under(base: Path) -> None:
    """Every service (warm check worker, server, watchdog) a test's workspace started is stopped at the end.
    And review-ci's check keeps a runner folder per workspace in the system's temporary folder (outside the
    course: see _outside_any_project in its checks): the test workspaces' go too."""
    import hashlib
    import os
    import shutil
    import tempfile

    from flowcamp import services
    from flowcamp.workspace import Workspace

    for state in base.rglob(".flowcamp"):
        if (state / "services.json").is_file():
            services.stop_services(Workspace(state.parent, None))
        digest = hashlib.sha256(str((state / "cache").resolve()).encode()).hexdigest()[:12]
        shutil.rmtree(Path(tempfile.gettempdir()) / f"flowcamp-review-ci-{os.getuid()}-{digest}", ignore_errors=True)


@pytest.fixture(scope="session")
def course() -> Course:
    return Course(ROOT)


@pytest.fixture(scope="session")
def golden_course() -> Course:
    return Course(GOLDEN / "course")


@pytest.fixture
def make_workspace(tmp_path):
    def make(c: Course, seed: int = 4242, name: str = "ws") -> Workspace:
        ws = Workspace(tmp_path / name, c)
        ws.init(seed=seed)
        return ws

    return make


@pytest.fixture
def add_ws(golden_course, make_workspace):
    """A workspace of the golden course, its `add` exercise and that exercise's file."""
    ws = make_workspace(golden_course)
    return ws, golden_course.get("add"), ws.exercise_dir(golden_course.get("add")) / "calc.py"


@pytest.fixture(scope="session")
def shared_workspace(course, tmp_path_factory) -> Workspace:
    """One workspace for the curriculum tests (its held-out warehouse and nbgrader gradebooks are built once)."""
    ws = Workspace(tmp_path_factory.mktemp("curriculum") / "ws", course)
    ws.init(seed=4242)
    return ws


@pytest.fixture(scope="session")
def prefect_server(shared_workspace):
    """One local Prefect server for every test that needs it; stopped at the end of the run. Its idle watchdog
    waits two hours: tests of other workspaces use it without touching this one's heartbeat, and a run that
    was killed before its end still leaves nothing running for long."""
    from flowcamp import server
    from flowcamp.curriculum import scoped_env

    with scoped_env({server.IDLE_ENV: "120"}):
        url = server.start(shared_workspace)
    try:
        yield url
    finally:
        server.stop(shared_workspace)


@pytest.fixture
def warm_worker(monkeypatch):
    """Checks in this test use the workspace's warm check worker (the default outside the tests)."""
    monkeypatch.delenv("FLOWCAMP_WORKER", raising=False)
