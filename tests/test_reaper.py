"""The sweep that ends a check: it finds a process tree by walking the tree's own children lists (a few reads),
and finds the same processes as a scan of every process on the machine would, orphans and children of
threads included."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from flowcamp import reaper

pytestmark = pytest.mark.skipif(not reaper.LINUX, reason="Linux: /proc and child subreapers")

TREE = r'''
import json, os, subprocess, sys, time
from flowcamp import reaper

reaper.become_subreaper()
SLEEP = "import time; time.sleep(60)"
code = (
    "import subprocess, sys, threading, time\n"
    f"S = [sys.executable, '-c', {SLEEP!r}]\n"
    # started from a thread that stays alive: listed in that thread's children, not the main thread's
    "threading.Thread(target=lambda: (subprocess.Popen(S), time.sleep(60)), daemon=True).start()\n"
    # an orphan that left its session: its parent ends at once, so it comes back to the subreaper
    "subprocess.Popen([sys.executable, '-c', 'import subprocess, sys; subprocess.Popen(sys.argv[1:], start_new_session=True)', *S]).wait()\n"
    "time.sleep(60)\n")
top = subprocess.Popen([sys.executable, "-c", code])
deadline = time.monotonic() + 60
while len(reaper._scan(os.getpid(), ())) < 3 and time.monotonic() < deadline:
    reaper.reap()
    time.sleep(0.05)
time.sleep(0.2)
reaper.reap()
fast, scan = sorted(reaper.descendants(os.getpid())), sorted(reaper._scan(os.getpid(), ()))
spared = sorted(reaper.descendants(os.getpid(), spare=(top.pid,)))
killed = reaper.kill_descendants()
print(json.dumps({"fast": fast, "scan": scan, "spared": spared, "top": top.pid, "killed": killed,
                  "left": reaper._scan(os.getpid(), ()), "walks": reaper._FAST}))
'''


def test_the_walk_finds_what_a_scan_of_every_process_finds_and_the_sweep_leaves_nothing():
    done = subprocess.run([sys.executable, "-c", TREE], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(got["scan"]) == 3, got  # the top process, its thread's child, the orphan
    assert got["fast"] == got["scan"]
    assert got["top"] in got["fast"] and got["top"] not in got["spared"]
    assert len(got["spared"]) == 1  # the orphan is the subreaper's own child now, not the top process's
    assert got["killed"] == 3 and got["left"] == []


def test_a_zombie_is_not_counted_as_living_and_does_not_stop_the_sweep():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # ended, not yet collected: a zombie
        assert child.pid not in reaper.descendants(os.getpid())
        assert reaper._state(child.pid) == b"Z"
    finally:
        child.wait()
