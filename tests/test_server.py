"""The local Prefect server: started once, reused, a crashed one detected and replaced, stopped."""

from __future__ import annotations

import os
import signal
import time

import pytest

from flowcamp import server

pytestmark = pytest.mark.slow


def test_status_of_a_workspace_without_a_server(golden_course, make_workspace):
    ws = make_workspace(golden_course)
    st = server.status(ws)
    assert not st.running and st.note == "not started"


def test_reuse_crash_recovery_and_stop(shared_workspace, prefect_server):
    ws = shared_workspace
    st = server.status(ws)
    assert st.running and st.url == prefect_server
    # Starting again reuses the running server.
    assert server.start(ws) == prefect_server
    # The API answers, and the UI is served from the same address.
    import urllib.request

    with urllib.request.urlopen(prefect_server + "/api/health", timeout=5) as r:
        assert r.status == 200


@pytest.mark.skipif(os.name != "posix", reason="kills with POSIX signals")
def test_a_crashed_server_is_detected_and_replaced(golden_course, make_workspace):
    ws = make_workspace(golden_course)
    url = server.start(ws)
    try:
        pid = server.status(ws).pid
        os.killpg(pid, signal.SIGKILL)
        for _ in range(50):
            if not server.status(ws).running:
                break
            time.sleep(0.1)
        st = server.status(ws)
        assert not st.running and st.note in ("stopped or crashed", "started but not answering")
        url2 = server.start(ws)
        assert server.status(ws).running
        assert server.status(ws).pid != pid
        assert url2
    finally:
        assert server.stop(ws)
    assert not server.status(ws).running
