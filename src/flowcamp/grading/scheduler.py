"""The grader's side of its lanes (:mod:`.lane`): start them, hand each one submission at a time, record every
result as it arrives (this process is the gradebook's only writer), and replace a lane that dies or goes silent:
its submission is tried once more in a fresh lane, then recorded as an error, and the run goes on."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
from pathlib import Path

from flowcamp import proc
from flowcamp.course import Course

LANE_SILENCE = 180.0  # seconds past an exercise's own time limit before a silent lane is stopped


class LaneProcess:
    """The grader's side of one lane: its process, its job pipe, its private results pipe."""

    def __init__(self, n: int, config: dict, prefix: list[str], out: Path):
        self.n = n
        r, w = os.pipe()
        cfg = out / ".lanes" / f"lane-{n}.json"
        cfg.parent.mkdir(parents=True, exist_ok=True)
        cfg.write_text(json.dumps({**config, "log": str(out / "logs" / f"lane-{n}.log")}), encoding="utf-8")
        (out / "logs").mkdir(exist_ok=True)
        args = [*prefix, sys.executable, "-c", proc.FAST_IMPORTS
                + "from flowcamp.grading.lane import main; import sys; main(int(sys.argv[1]), sys.argv[2])",
                str(w), str(cfg)]
        self.popen = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                      stderr=open(out / "logs" / f"lane-{n}.log", "ab"),  # noqa: SIM115
                                      pass_fds=[w], env=proc.child_env(), cwd=str(out))
        os.close(w)
        self.fd = r
        self.buffer = b""
        self.job: dict | None = None
        self.pending: list[str] = []  # exercise ids of the current job without a result yet
        self.last_event = time.monotonic()
        self.limit = 0.0
        self.ready = False

    def send(self, job: dict) -> None:
        self.job = job
        self.pending = list(job["exercises"])
        self.last_event = time.monotonic()
        self.popen.stdin.write((json.dumps(job) + "\n").encode())
        self.popen.stdin.flush()

    def events(self) -> list[dict] | None:
        """Events waiting on the pipe; None once the lane is gone."""
        try:
            chunk = os.read(self.fd, 1 << 20)
        except BlockingIOError:
            return []
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



class Scheduler:
    def __init__(self, config: dict, prefix: list[str], out: Path, gb, run_id: int, versions: dict[str, str],
                 seed: int, course: Course, say, progress):
        self.config, self.prefix, self.out = config, prefix, out
        self.gb, self.run_id, self.versions, self.seed = gb, run_id, versions, seed
        self.course, self.say, self.progress = course, say, progress
        self.limits = {ex.id: ex.time_limit for ex in course.exercises}
        self.sel = selectors.DefaultSelector()
        self.lanes: dict[int, LaneProcess] = {}
        self.queue: list[dict] = []
        self.retried: set[str] = set()
        self.started = 0
        self.done = 0
        self.total = 0
        self.summary = None

    def run(self, jobs: list[dict], n: int, summary) -> None:
        self.queue, self.summary = list(jobs), summary
        self.total = sum(len(j["exercises"]) for j in jobs)
        for _ in range(max(1, min(n or os.cpu_count() or 1, len(jobs)))):
            self._start_lane()
        try:
            while self.lanes:
                for key, _ in self.sel.select(timeout=1.0):
                    self._read(key.data)
                self._stop_silent()
        finally:
            for lane in list(self.lanes.values()):
                lane.stop(kill=True)
            self.sel.close()

    def _start_lane(self) -> None:
        self.started += 1
        lane = LaneProcess(self.started, self.config, self.prefix, self.out)
        os.set_blocking(lane.fd, False)
        self.sel.register(lane.fd, selectors.EVENT_READ, lane)
        self.lanes[lane.fd] = lane

    def _give(self, lane: LaneProcess) -> None:
        if self.queue:
            lane.send(self.queue.pop(0))
        else:
            lane.job = None

    def _read(self, lane: LaneProcess) -> None:
        events = lane.events()
        if events is None:
            self._lost(lane, f"its process ended, exit code {lane.popen.poll()}; its log is "
                             f"{self.out}/logs/lane-{lane.n}.log")
            return
        for ev in events:
            kind = ev.get("event")
            if kind in ("ready", "done"):
                lane.ready = True
                self._give(lane)
            elif kind == "start":
                lane.limit = self.limits.get(ev["exercise"], 120.0)
            elif kind == "result":
                self._record(lane, ev)
            elif kind == "failed":
                self._lost(lane, ev.get("error") or "a flowcamp error")
                return
            elif kind == "note":
                self.summary.notes.append(ev.get("text", ""))
        if lane.job is None and lane.ready and not self.queue:  # nothing left for it
            self.sel.unregister(lane.fd)
            del self.lanes[lane.fd]
            lane.stop()

    def _record(self, lane: LaneProcess, ev: dict) -> None:
        self.gb.record_result(self.run_id, ev["submission"], ev["exercise"], ev["key"], self.seed,
                              self.versions[ev["exercise"]], ev["doc"], ev.get("duration", 0.0))
        if ev["exercise"] in lane.pending:
            lane.pending.remove(ev["exercise"])
        self.summary.graded += 1
        self.done += 1
        if self.progress:
            label = lane.job["label"] if lane.job else ""
            self.progress(self.done, self.total, f"{label}: {ev['exercise']}")

    def _lost(self, lane: LaneProcess, why: str) -> None:
        self.sel.unregister(lane.fd)
        del self.lanes[lane.fd]
        lane.stop(kill=True)
        self.summary.failed_lanes += 1
        job = lane.job
        if job and lane.pending:
            if job["submission"] not in self.retried:  # once more, in a fresh lane: the lane may have been at fault
                self.retried.add(job["submission"])
                self.queue.insert(0, {**job, "exercises": list(lane.pending),
                                      "keys": {k: job["keys"][k] for k in lane.pending}})
                self.say(f"{job['label']}: the grading lane stopped ({why}); grading its last exercises again.")
            else:
                for ex_id in list(lane.pending):
                    doc = _error_doc(self.course, ex_id, f"Grading stopped: {why}. The submission was tried twice. "
                                                         "Look at its files by hand, or regrade it alone.")
                    self._record(lane, {"submission": job["submission"], "exercise": ex_id,
                                        "key": job["keys"][ex_id], "doc": doc, "duration": 0.0})
        if self.queue:
            self._start_lane()

    def _stop_silent(self) -> None:
        now = time.monotonic()
        for lane in list(self.lanes.values()):
            if lane.job and now - lane.last_event > lane.limit + LANE_SILENCE:
                self._lost(lane, f"no answer for {now - lane.last_event:.0f} s")


def _error_doc(course: Course, ex_id: str, message: str) -> dict:
    from flowcamp.results import Result, Status

    ex = course.get(ex_id)
    return Result(ex.id, Status.ERROR, message, max_score=ex.points).to_dict()
