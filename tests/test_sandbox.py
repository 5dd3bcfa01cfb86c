"""The sandbox learner processes get during cohort grading (flowcamp.sandbox): what it hides, what it allows, its
limits. Each test runs a small Python program through ``sandbox.wrap`` exactly as the check runtime does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from flowcamp import sandbox

ABILITIES = sandbox.probe()
needs_bwrap = pytest.mark.skipif(not ABILITIES.bwrap, reason="bubblewrap cannot be used on this machine")
needs_cgroups = pytest.mark.skipif(not ABILITIES.cgroup, reason="cgroups cannot be used on this machine")
needs_netns = pytest.mark.skipif(not ABILITIES.netns, reason="no private network namespace on this machine")


def _run(code: str, spec: sandbox.Spec | None, cwd: Path, timeout: float = 60, prefix: list[str] = ()) -> dict:
    env = dict(os.environ)
    if spec is not None:
        env[sandbox.ENV] = spec.to_env()
    args = [*prefix, *sandbox.wrap([sys.executable, "-c", code], env)]
    done = subprocess.run(args, cwd=cwd, env={k: v for k, v in env.items() if k != sandbox.ENV},
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


PROBE = r"""
import json, os, socket, sys
out = {}
def attempt(name, fn):
    try:
        out[name] = fn()
    except Exception as e:
        out[name] = "blocked: " + type(e).__name__
attempt("read_secret", lambda: open(SECRET).read())
attempt("list_secret_dir", lambda: os.listdir(os.path.dirname(SECRET)))
attempt("write_secret_dir", lambda: open(os.path.join(os.path.dirname(SECRET), "forged.json"), "w").write("x"))
attempt("write_work", lambda: open(os.path.join(WORK, "made.txt"), "w").write("ok") and "written")
attempt("write_root", lambda: open("/flowcamp-escape", "w").write("x"))
attempt("read_state", lambda: os.listdir(STATE))
attempt("umount", lambda: __import__("ctypes").CDLL(None, use_errno=True).umount2(os.path.dirname(SECRET).encode(), 2))
attempt("net", lambda: socket.create_connection(("10.255.255.1", 9), timeout=1) and "connected")
print(json.dumps(out))
"""


@needs_bwrap
def test_hidden_places_are_empty_and_only_the_work_folder_is_writable(tmp_path):
    out_dir = tmp_path / "grading"
    out_dir.mkdir()
    secret = out_dir / "gradebook.json"
    secret.write_text("PLANTED-SECRET-VALUE")
    work = tmp_path / "lane" / "ws"
    state = work / ".flowcamp"
    (state / "pycache").mkdir(parents=True)
    (state / "worker.sock").write_text("not for learners")
    spec = sandbox.Spec(bwrap=ABILITIES.bwrap, hide=[str(out_dir)], writable=[str(work)],
                        hide_after=[str(out_dir), str(state)], readonly_after=[str(state / "pycache")])
    code = PROBE.replace("SECRET", repr(str(secret))).replace("WORK", repr(str(work))).replace("STATE", repr(str(state)))
    seen = _run(code, spec, cwd=work)
    assert seen["read_secret"].startswith("blocked"), seen
    assert seen["list_secret_dir"] == [], seen  # an empty folder stands in its place
    assert not (out_dir / "forged.json").exists()  # whatever it wrote went to a private, throwaway folder
    assert seen["write_work"] == "written", seen
    assert (work / "made.txt").read_text() == "ok"
    assert seen["write_root"].startswith("blocked"), seen
    assert seen["read_state"] in ([], ["pycache"]), seen  # the grader's state: hidden, pycache read-only
    assert seen["umount"] != 0, "learner code could undo the sandbox's mounts"
    assert secret.read_text() == "PLANTED-SECRET-VALUE"


def test_without_a_sandbox_wrap_changes_nothing(monkeypatch):
    monkeypatch.delenv(sandbox.ENV, raising=False)
    assert sandbox.wrap(["python", "-c", "pass"]) == ["python", "-c", "pass"]


def test_a_damaged_sandbox_description_refuses_to_run_learner_code():
    with pytest.raises(RuntimeError, match="refusing"):
        sandbox.wrap(["python"], {sandbox.ENV: "{not json"})


@needs_cgroups
def test_a_fork_storm_stops_at_the_process_limit_and_is_killed_whole(tmp_path):
    cg = sandbox.Cgroup(f"flowcamp-test-{uuid.uuid4().hex[:8]}", 512 * 1024 * 1024, 40, ABILITIES.cgroup)
    try:
        spec = sandbox.Spec(cgroups=cg.procs_files)
        code = ("import os, json, time\nn = 0\nfor _ in range(200):\n    try:\n        if os.fork() == 0:\n"
                "            os.close(1)\n            os.close(2)\n            time.sleep(60)\n            os._exit(0)\n        n += 1\n    except OSError:\n        break\n"
                "print(json.dumps({'forked': n}))\n")
        seen = _run(code, spec, cwd=tmp_path)
        assert 0 < seen["forked"] < 40, seen  # stopped by pids.max, not by the loop's end
        assert cg.pids(), "the sleeping children should still be in the cgroup"
        cg.kill_all()
        assert not cg.pids()
    finally:
        cg.remove()


@needs_cgroups
def test_the_memory_limit_stops_a_process_that_takes_too_much(tmp_path):
    cg = sandbox.Cgroup(f"flowcamp-test-{uuid.uuid4().hex[:8]}", 200 * 1024 * 1024, 64, ABILITIES.cgroup)
    try:
        env = {**os.environ, sandbox.ENV: sandbox.Spec(cgroups=cg.procs_files).to_env()}
        done = subprocess.run(sandbox.wrap([sys.executable, "-c", "x = bytearray(600 * 1024 * 1024); x[::4096] = "
                                            "b'1' * len(x[::4096]); print('survived')"], env),
                              capture_output=True, text=True, timeout=60)
        assert "survived" not in done.stdout
        assert done.returncode != 0
        assert cg.oom_killed() >= 1
    finally:
        cg.remove()


@needs_netns
def test_a_lane_has_loopback_and_no_other_network(tmp_path):
    code = ("import json, socket\nout = {}\ns = socket.create_server(('127.0.0.1', 0))\nport = s.getsockname()[1]\n"
            "c = socket.create_connection(('127.0.0.1', port), timeout=2)\nout['loopback'] = 'ok'\n"
            "try:\n    socket.create_connection(('10.255.255.1', 9), timeout=2)\n    out['outside'] = 'reached'\n"
            "except OSError as e:\n    out['outside'] = 'blocked'\nprint(json.dumps(out))\n")
    seen = _run(code, None, cwd=tmp_path, prefix=sandbox.lane_prefix(ABILITIES))
    assert seen == {"loopback": "ok", "outside": "blocked"}


def test_a_machine_without_bubblewrap_is_told_so_plainly(monkeypatch):
    import shutil

    real = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name == "bwrap" else real(name, *a, **k))
    found = sandbox.probe()
    assert found.bwrap is None
    assert any("apt install bubblewrap" in n for n in found.notes), found.notes
    assert "NOT isolated" in found.summary()
