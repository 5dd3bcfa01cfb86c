"""flowcamp.warmrun: `python -m flowcamp.warmrun MODULE ARGS` runs MODULE as `python -m` would, forked from
a warm process's fork server when there is one, else as a fresh Python; the two ways give the same output
and exit status, signals reach the module's process, and it dies with the command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from flowcamp import warmrun
from test_runtime import _alive

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork servers are Linux-only")

# A module the tests run: it reports what a fresh `python -m` would see, and whether it was forked warm.
PROBE = textwrap.dedent("""
    import json, os, sys, time
    what = sys.argv[1]
    if what == "sleep":
        print("sleeping", os.getpid(), flush=True)
        time.sleep(60)
    print(json.dumps({"argv": sys.argv[1:], "cwd": os.getcwd(), "name": __name__,
                      "env": os.environ.get("WARM_TEST_VALUE"), "warm": "warm_marker" in sys.modules,
                      "fds": sorted(int(n) for n in os.listdir("/proc/self/fd"))}))
    sys.stdout.flush()
    if what == "fail":
        raise SystemExit(3)
    if what == "raise":
        raise ValueError("on purpose")
""")

# The process that serves: it imports a marker module (its "warm" state), starts the server, then runs
# the commands a test gives it as a Prefect worker would start a flow run's process, and reports.
HOST = textwrap.dedent("""
    import json, os, subprocess, sys
    import warm_marker
    from flowcamp import warmrun
    server = warmrun.serve(modules=("warm_probe",)) if sys.argv[1] == "served" else None
    print(json.dumps({"server": server, "env": os.environ.get(warmrun.ENV)}), flush=True)
    for line in sys.stdin:
        args, env_value, cwd = json.loads(line)
        env = {**os.environ, "WARM_TEST_VALUE": env_value}
        done = subprocess.run([sys.executable, "-m", "flowcamp.warmrun", *args], env=env, cwd=cwd,
                              capture_output=True, text=True)
        print(json.dumps({"code": done.returncode, "out": done.stdout, "err": done.stderr}), flush=True)
    warmrun.stop(server)
""")


@pytest.fixture(scope="module")
def modules(tmp_path_factory):
    folder = tmp_path_factory.mktemp("warmrun")
    (folder / "warm_probe.py").write_text(PROBE, encoding="utf-8")
    (folder / "warm_marker.py").write_text("", encoding="utf-8")
    (folder / "host.py").write_text(HOST, encoding="utf-8")
    return folder


class Host:
    def __init__(self, folder, mode: str):
        env = {**os.environ, "PYTHONPATH": f"{folder}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
        env.pop(warmrun.ENV, None)
        env.pop("FLOWCAMP_NO_FORK", None)
        self.p = subprocess.Popen([sys.executable, str(folder / "host.py"), mode], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True, env=env)
        self.started = json.loads(self.p.stdout.readline())

    def run(self, args, env_value="x", cwd="/"):
        self.p.stdin.write(json.dumps([args, env_value, str(cwd)]) + "\n")
        self.p.stdin.flush()
        return json.loads(self.p.stdout.readline())

    def close(self):
        self.p.stdin.close()
        self.p.wait(30)


@pytest.fixture(scope="module")
def served(modules):
    host = Host(modules, "served")
    yield host
    host.close()


@pytest.fixture(scope="module")
def fresh(modules):
    host = Host(modules, "fresh")
    yield host
    host.close()


def _report(done: dict) -> dict:
    return json.loads(done["out"].strip().splitlines()[-1])


def test_served_runs_warm_and_as_asked(served, tmp_path):
    assert isinstance(served.started["server"], int) and served.started["env"]
    done = served.run(["warm_probe", "ok", "two words"], env_value="from the command", cwd=tmp_path)
    assert done["code"] == 0, done
    got = _report(done)
    assert got["warm"] is True  # forked from the host, which imported the marker
    assert got["name"] == "__main__" and got["argv"] == ["ok", "two words"]
    assert got["cwd"] == str(tmp_path) and got["env"] == "from the command"
    assert got["fds"][:3] == [0, 1, 2] and len(got["fds"]) <= 4  # 0-2, and the listing's own descriptor


def test_both_ways_give_the_same_exit_status_and_output(served, fresh, tmp_path):
    for what, code in (("ok", 0), ("fail", 3), ("raise", 1)):
        warm, cold = served.run(["warm_probe", what], cwd=tmp_path), fresh.run(["warm_probe", what], cwd=tmp_path)
        assert (warm["code"], cold["code"]) == (code, code), (what, warm, cold)
        a, b = _report(warm), _report(cold)
        assert (a["warm"], b["warm"]) == (True, False)
        assert {k: v for k, v in a.items() if k not in ("warm", "fds")} == \
               {k: v for k, v in b.items() if k not in ("warm", "fds")}
        if what == "raise":
            assert "ValueError: on purpose" in warm["err"] and "ValueError: on purpose" in cold["err"]


def test_a_module_it_was_not_started_for_runs_fresh(served, tmp_path):
    done = served.run(["json.tool", "--help"], cwd=tmp_path)
    assert done["code"] == 0 and "json.tool" in done["out"] + done["err"]


def _start_sleeper(modules, server_env):
    env = {**os.environ, warmrun.ENV: server_env,
           "PYTHONPATH": f"{modules}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    p = subprocess.Popen([sys.executable, "-m", "flowcamp.warmrun", "warm_probe", "sleep"], env=env,
                         stdout=subprocess.PIPE, text=True)
    words = p.stdout.readline().split()
    assert words[0] == "sleeping", words
    return p, int(words[1])


def test_stop_ends_the_server_and_removes_its_folder(modules):
    host = Host(modules, "served")
    path, pid = host.started["env"], host.started["server"]
    assert os.path.exists(path) and _alive(pid)
    host.close()  # the host calls warmrun.stop()
    assert not os.path.exists(os.path.dirname(path)) and not _alive(pid)


def test_signals_reach_the_module_and_it_dies_with_the_command(modules, served):
    p, pid = _start_sleeper(modules, served.started["env"])
    assert pid != p.pid and _alive(pid)
    p.send_signal(signal.SIGTERM)
    assert p.wait(10) == -signal.SIGTERM  # it ended as the module's process did
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)

    p, pid = _start_sleeper(modules, served.started["env"])
    p.kill()  # cannot be passed on: the module's process goes with it all the same
    p.wait(10)
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)


def test_a_missing_server_means_a_fresh_python(modules, tmp_path):
    env = {**os.environ, warmrun.ENV: str(tmp_path / "gone.sock"), "WARM_TEST_VALUE": "v",
           "PYTHONPATH": f"{modules}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    done = subprocess.run([sys.executable, "-m", "flowcamp.warmrun", "warm_probe", "fail"], env=env, cwd=tmp_path,
                          capture_output=True, text=True)
    assert done.returncode == 3
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["warm"] is False and got["env"] == "v" and got["cwd"] == str(tmp_path)


def test_no_server_where_the_process_runs_threads():
    code = textwrap.dedent("""
        import threading, time
        from flowcamp import warmrun
        threading.Thread(target=time.sleep, args=(2,), daemon=True).start()
        print(warmrun.serve())
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert done.stdout.strip() == "None", done.stderr
