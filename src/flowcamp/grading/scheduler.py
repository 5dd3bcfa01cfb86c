"""The grader's side of its lanes (:mod:`.lane`): start them, hand each one submission at a time, read every
event it sends, and notice one that dies or goes silent.

A :class:`LanePool` keeps one process's lanes between submissions (and, in ``grade --watch``, between rounds):
a lane's start (its namespace, its copy of the held-out data, later its Prefect server) is paid once. Locally the
pool lives in the ``flowcamp grade`` process; on a Dask cluster, in each worker process
(:mod:`.flowrun`). :func:`grade_job` is what one grading task does with a pool: one submission, tried once more in
a fresh lane if its lane dies, then recorded as an error."""

from __future__ import annotations

import json
import os
import queue
import select
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

from flowcamp import proc

LANE_SILENCE = 180.0  # seconds past an exercise's own time limit before a silent lane is stopped
READY_LIMIT = 300.0  # seconds a new lane may take to get ready (copying the held-out data, namespaces)


class LaneLost(Exception):
    """The lane died, went silent, or failed in flowcamp's own code: not the learner's doing."""


class LaneProcess:
    """The grader's side of one lane: its process, its job pipe, its private results pipe."""

    def __init__(self, n: int, config: dict, prefix: list[str], base: Path):
        self.n = n
        r, w = os.pipe()
        cfg = base / ".lanes" / f"lane-{n}.json"
        cfg.parent.mkdir(parents=True, exist_ok=True)
        (base / "logs").mkdir(exist_ok=True)
        self.log = base / "logs" / f"lane-{n}.log"
        cfg.write_text(json.dumps({**config, "log": str(self.log)}), encoding="utf-8")
        args = [*prefix, sys.executable, "-c", proc.FAST_IMPORTS
                + "from flowcamp.grading.lane import main; import sys; main(int(sys.argv[1]), sys.argv[2])",
                str(w), str(cfg)]
        with open(self.log, "ab") as log:
            self.popen = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log,
                                          pass_fds=[w], env=proc.child_env(), cwd=str(base))
        os.close(w)
        self.fd = r
        self.buffer = b""
        self.ready = False
        self.last_event = time.monotonic()

    def _events(self, timeout: float) -> list[dict] | None:
        """Events that arrive within ``timeout`` seconds ([] if none); None once the lane is gone."""
        readable, _, _ = select.select([self.fd], [], [], timeout)
        if not readable:
            return []
        chunk = os.read(self.fd, 1 << 20)
        if not chunk:
            return None
        self.buffer += chunk
        out = []
        while b"\n" in self.buffer:
            line, _, self.buffer = self.buffer.partition(b"\n")
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        self.last_event = time.monotonic()
        return out

    def _gone(self) -> LaneLost:
        try:
            code = self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        return LaneLost(f"its process ended, exit code {code}; its log is {self.log}")

    def _wait_ready(self) -> None:
        while not self.ready:
            events = self._events(1.0)
            if events is None:
                raise self._gone()
            for ev in events:
                if ev.get("event") == "ready":
                    self.ready = True
            if not self.ready and time.monotonic() - self.last_event > READY_LIMIT:
                raise LaneLost(f"it did not get ready in {READY_LIMIT:.0f} s; its log is {self.log}")

    def run_job(self, job: dict, limits: dict[str, float]) -> Iterator[dict]:
        """Grade one job in this lane: yields its events ("start", "result", "note") until it is done. Raises
        :class:`LaneLost` when the lane dies, fails or stays silent longer than the exercise's limit allows."""
        self._wait_ready()
        self.last_event = time.monotonic()
        try:
            self.popen.stdin.write((json.dumps(job) + "\n").encode())
            self.popen.stdin.flush()
        except OSError:
            raise self._gone() from None
        limit = 120.0
        while True:
            events = self._events(1.0)
            if events is None:
                raise self._gone()
            for ev in events:
                kind = ev.get("event")
                if kind == "done":
                    return
                if kind == "failed":
                    raise LaneLost(ev.get("error") or "a flowcamp error")
                if kind == "start":
                    limit = limits.get(ev.get("exercise"), 120.0)
                yield ev
            silent = time.monotonic() - self.last_event
            if silent > limit + LANE_SILENCE:
                raise LaneLost(f"no answer for {silent:.0f} s")

    def stop(self, kill: bool = False) -> None:
        try:
            if kill:
                self.popen.kill()
            else:
                self.popen.stdin.close()
        except OSError:
            pass
        try:
            self.popen.wait(timeout=5 if kill else 120)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
        try:
            os.close(self.fd)
        except OSError:
            pass


class _Spawner:
    """Starts lane processes from one thread that lives as long as this process. A lane dies with its parent
    (bubblewrap's --die-with-parent, PR_SET_PDEATHSIG), and on Linux "parent" means the thread that started it:
    a lane started from a task's thread would die when Prefect's or Dask's thread pool lets that thread go, and a
    lane kept between `--watch` rounds would be dead when the next round takes it."""

    def __init__(self):
        self.jobs: queue.Queue = queue.Queue()
        threading.Thread(target=self._loop, name="flowcamp-lane-spawner", daemon=True).start()

    def _loop(self) -> None:
        while True:
            fn, box, done = self.jobs.get()
            try:
                box.append((True, fn()))
            except BaseException as e:  # noqa: BLE001 - handed back to the caller
                box.append((False, e))
            done.set()

    def call(self, fn):
        box: list = []
        done = threading.Event()
        self.jobs.put((fn, box, done))
        done.wait()
        ok, value = box[0]
        if not ok:
            raise value
        return value


_SPAWNER: _Spawner | None = None
_SPAWNER_LOCK = threading.Lock()


def _spawn(fn):
    global _SPAWNER
    with _SPAWNER_LOCK:
        if _SPAWNER is None:
            _SPAWNER = _Spawner()
    return _SPAWNER.call(fn)


class LanePool:
    """One process's idle lanes for one grading configuration. A lane is taken for one submission and given
    back; a lane that failed is stopped instead, and the next taker gets a fresh one."""

    def __init__(self, config: dict, prefix: list[str], base: Path):
        self.config, self.prefix, self.base = config, prefix, Path(base)
        self.idle: list[LaneProcess] = []
        self.lock = threading.Lock()
        self.started = 0
        self.closed = False

    def acquire(self) -> LaneProcess:
        with self.lock:
            if self.closed:
                raise LaneLost("the grading run is stopping")
            while self.idle:
                lane = self.idle.pop()
                if lane.popen.poll() is None:
                    return lane
                lane.stop(kill=True)  # it died while idle (reaped here)
            self.started += 1
            n = self.started
        return _spawn(lambda: LaneProcess(n, self.config, self.prefix, self.base))

    def release(self, lane: LaneProcess) -> None:
        with self.lock:
            if not self.closed:
                self.idle.append(lane)
                return
        lane.stop()

    def close(self) -> None:
        with self.lock:
            self.closed = True
            lanes, self.idle = self.idle, []
        for lane in lanes:
            lane.stop()


def grade_job(pool: LanePool, job: dict, limits: dict[str, float], error_doc: Callable[[str, str], dict],
              on_event: Callable[[dict], None] | None = None) -> dict:
    """Grade one submission with a lane of ``pool``: every exercise's result, in order. If the lane is lost, the
    exercises without a result are tried once more in a fresh lane (the lane may have been at fault), then
    recorded as errors. Returns ``{"submission", "results": [event, ...], "notes": [...], "lanes_lost": n}``."""
    results: list[dict] = []
    notes: list[str] = []
    pending = list(job["exercises"])
    lost = 0
    for attempt in (1, 2):
        lane = pool.acquire()
        try:
            for ev in lane.run_job({**job, "exercises": pending, "keys": {k: job["keys"][k] for k in pending}},
                                   limits):
                if ev.get("event") == "result" and ev.get("exercise") in pending:
                    pending.remove(ev["exercise"])
                    results.append(ev)
                elif ev.get("event") == "note":
                    notes.append(str(ev.get("text", "")))
                if on_event:
                    on_event(ev)
        except LaneLost as e:
            lane.stop(kill=True)
            lost += 1
            if not pending:
                break
            if attempt == 1:
                notes.append(f"{job['label']}: the grading lane stopped ({e}); grading its last exercises again.")
                continue
            for ex_id in list(pending):
                ev = {"event": "result", "submission": job["submission"], "exercise": ex_id, "key": job["keys"][ex_id],
                      "duration": 0.0,
                      "doc": error_doc(ex_id, f"Grading stopped: {e}. The submission was tried twice. Look at "
                                              "its files by hand, or regrade it alone.")}
                pending.remove(ex_id)
                results.append(ev)
                if on_event:
                    on_event(ev)
            break
        else:
            pool.release(lane)
            break
    return {"submission": job["submission"], "label": job["label"], "results": results, "notes": notes,
            "lanes_lost": lost}


def error_doc(ex_id: str, message: str, course=None) -> dict:
    from flowcamp.course import Course
    from flowcamp.results import Result, Status

    ex = (course or Course()).get(ex_id)
    return Result(ex.id, Status.ERROR, message, max_score=ex.points).to_dict()
