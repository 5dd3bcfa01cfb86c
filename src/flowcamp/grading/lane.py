"""One grading lane: a process that grades submissions one after another with the course's own checks.

``flowcamp grade`` starts one lane per core (:mod:`flowcamp.grading.run`), each in its own network namespace
where the platform allows (loopback only: the lane's own Prefect server, which no other lane can reach). A lane
is trusted code: it copies one submission's exercise folders into its private grading workspace and runs every
exercise through the check runtime (:func:`flowcamp.runner.run_check`), exactly as ``flowcamp check`` does on a
laptop, except that

* the held-out data is the grader's (built from the seed chosen at grade time, hidden from learner code);
* every learner process runs in the sandbox (:mod:`flowcamp.sandbox`): the grading output, other lanes, the
  instructor's hidden checks and the grader's home hidden; a memory and a process limit for the lane's learner
  processes; a scrubbed environment and a throwaway home;
* between two submissions everything the last one left is gone: its processes (killed through the cgroup), its
  files, the warm check worker that served it (and the learner processes' parent inside it), and what it made on
  the Prefect server (flows and their runs, deployments, variables, blocks, work pools).

Jobs arrive as JSON lines on stdin; events leave on a private pipe (``results_fd``), never on stdout, which
learner code could inherit: the lane's own output goes to its log file.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from flowcamp import reaper, sandbox
from flowcamp.course import Course, Exercise
from flowcamp.results import Result, Status
from flowcamp.workspace import STATE_DIR, WORKSPACE_VERSION, Workspace

ALIVE = ".alive"
BIRTH_PREFIX = "fcgnew-"  # a lane folder before its lock is taken (then renamed fcg-*)
STALE_AFTER = 300.0  # seconds after which an fcgnew-* folder is left over from a crash
CGROUP_PREFIX = "flowcamp-grade-"
MISSING = ("This exercise is not in the submission (its folder {path}/ is missing), so it scored 0. If the "
           "learner did it, ask them to run `uv run flowcamp submit` again from their workspace.")


class GradingWorkspace(Workspace):
    """A lane's workspace: the submission's exercise folders, the learner's workspace seed (it shaped their
    practice repositories) and the grader's held-out data (never the learner's)."""

    def __init__(self, root: Path, course: Course, heldout: Path, heldout_seed: int):
        super().__init__(root, course)
        self._heldout, self._heldout_seed = Path(heldout), int(heldout_seed)

    @property
    def heldout_seed(self) -> int:  # type: ignore[override]
        return self._heldout_seed

    @property
    def heldout_warehouse(self) -> Path:  # type: ignore[override]
        return self._heldout

    def load(self, submission_root: Path, workspace_seed: int) -> list[Exercise]:
        """Empty the workspace (its state stays: the server, caches) and copy in one submission's exercise
        folders. Returns the exercises present."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        for child in list(self.root.iterdir()):
            if child.name == STATE_DIR:
                continue
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
        (self.state_dir / "workspace.json").write_text(json.dumps({"version": WORKSPACE_VERSION,
                                                                   "seed": int(workspace_seed)}))
        (self.state_dir / "progress.json").unlink(missing_ok=True)
        present = []
        source = Path(submission_root) / "workspace"
        for ex in self.course.exercises:
            src = source / ex.path
            if src.is_dir() and not src.is_symlink():
                shutil.copytree(src, self.exercise_dir(ex), symlinks=True)
                present.append(ex)
        return present


def _bring_loopback_up() -> None:
    """In a network namespace made by `unshare` the loopback device starts down (bubblewrap raises it)."""
    import fcntl
    import socket
    import struct

    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            ifreq = struct.pack("16sH14s", b"lo", 0, b"")
            flags = struct.unpack("16sH14s", fcntl.ioctl(s, 0x8913, ifreq))[1]  # SIOCGIFFLAGS
            if not flags & 1:
                fcntl.ioctl(s, 0x8914, struct.pack("16sH14s", b"lo", flags | 1, b""))  # SIOCSIFFLAGS, IFF_UP
    except OSError:
        pass


def _scrubbed_env(root: Path, config: dict) -> dict[str, str]:
    """The lane's whole environment: nothing of the instructor's (tokens, cloud credentials, their Prefect
    profile) reaches the checks or the learner processes."""
    keep = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "FLOWCAMP_TRACE", "SYSTEMROOT")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(HOME=str(root / "home"), TMPDIR=str(root / "tmp"), USER="learner", LOGNAME="learner",
               PYTHONIOENCODING="utf-8", CI="true", GIT_TERMINAL_PROMPT="0",
               FLOWCAMP_MEMORY_MB=str(config["memory_mb"]), FLOWCAMP_WORKER_IDLE_MINUTES="600",
               FLOWCAMP_SERVER_IDLE_MINUTES="0",
               PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1")
    if config.get("hidden"):
        env["FLOWCAMP_HIDDEN_PACK"] = config["hidden"]
    if config.get("uv"):  # the real uv program (not a shim in the grader's hidden home)
        env["UV"] = config["uv"]
        env["PATH"] = os.path.dirname(config["uv"]) + os.pathsep + env.get("PATH", "")
    if (root / "uv" / "cache").is_dir():
        env["UV_CACHE_DIR"] = str(root / "uv" / "cache")
    return env


def _sandbox_spec(root: Path, ws: Workspace, config: dict, abilities: dict, cgroup) -> sandbox.Spec:
    import flowcamp

    needed = {sys.prefix, sys.base_prefix, str(Path(flowcamp.__file__).resolve().parents[1]),
              str(Path(config["course_root"]).resolve())}
    if config.get("uv"):
        needed.add(os.path.dirname(config["uv"]))
    secret_places = [config["out_dir"], *([config["hidden"]] if config.get("hidden") else [])]
    home = os.path.expanduser("~")
    hide = [p for p in [*secret_places, home] if p and os.path.isdir(p) and p != "/"]
    return sandbox.Spec(
        bwrap=abilities.get("bwrap"),
        hide=hide,
        readonly=sorted(p for p in needed if os.path.isdir(p)),
        writable=[str(root / "ws"), str(root / "tmp"), str(root / "home")]
        + ([str(root / "uv" / "cache")] if (root / "uv" / "cache").is_dir() else []),
        hide_after=[p for p in secret_places if os.path.isdir(p)] + [str(ws.state_dir)],
        readonly_after=[str(ws.state_dir / "pycache")],
        cgroups=cgroup.procs_files if cgroup else [],
        drop_caps=True,
    )


def _empty(folder: Path) -> None:
    for child in list(folder.iterdir()):
        try:
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink()
        except OSError:
            pass


class Lane:
    def __init__(self, config: dict, emit):
        self.config = config
        self.emit = emit
        self.course = Course(Path(config["course_root"]))
        # Born locked: made under another name, locked, then renamed, so that another grader's cleanup_stale
        # never sees an fcg-* folder whose lock is free while its lane lives.
        born = Path(tempfile.mkdtemp(prefix=BIRTH_PREFIX, dir="/tmp" if os.path.isdir("/tmp") else None))
        self._alive = open(born / ALIVE, "w")  # noqa: SIM115 - held for the lane's life (cleanup_stale)
        fcntl.flock(self._alive, fcntl.LOCK_EX)
        self.root = born.with_name("fcg-" + born.name[len(BIRTH_PREFIX):])
        os.rename(born, self.root)
        for d in ("ws", "tmp", "home"):
            (self.root / d).mkdir()
        # Each lane reads its own copy of the held-out warehouse: a check that opens it for writing (DuckDB
        # locks the file) must not make another lane's check fail.
        heldout = self.root / "ws" / STATE_DIR / "heldout" / Path(config["heldout"]).name
        heldout.parent.mkdir(parents=True)
        shutil.copyfile(config["heldout"], heldout)
        self.ws = GradingWorkspace(self.root / "ws", self.course, heldout, config["seed"])
        (self.ws.state_dir / "pycache").mkdir()
        self.uv_cache = UvCache(self.root / "uv", config.get("uv_cache"))
        abilities = config.get("abilities") or {}
        self.cgroup = None
        if abilities.get("cgroup"):
            try:
                self.cgroup = sandbox.Cgroup(f"{CGROUP_PREFIX}{self.root.name}",
                                             (int(config["memory_mb"]) + 512) * 1024 * 1024,
                                             int(config.get("max_pids", 512)), abilities["cgroup"])
            except OSError as e:
                self.emit({"event": "note", "text": f"cgroups could not be used ({e}); memory is watched instead."})
        env = _scrubbed_env(self.root, config)
        os.environ.clear()
        os.environ.update(env)
        os.environ[sandbox.ENV] = _sandbox_spec(self.root, self.ws, config, abilities, self.cgroup).to_env()
        self.server_url: str | None = None

    # ---------------------------------------------------------------------------------------------- a job
    def grade(self, job: dict) -> None:
        started = time.monotonic()
        self._between_submissions()
        present = {ex.id for ex in self.ws.load(Path(job["root"]), int(job.get("workspace_seed") or 7))}
        for ex_id in job["exercises"]:
            ex = self.course.get(ex_id)
            t0 = time.monotonic()
            self.emit({"event": "start", "submission": job["submission"], "exercise": ex.id})
            if ex.id not in present:
                result = Result(ex.id, Status.FAIL, MISSING.format(path=ex.path), max_score=ex.points)
            else:
                result = self._check(ex)
            self._after_exercise()
            doc = result.to_dict()
            doc["missing"] = ex.id not in present
            self.emit({"event": "result", "submission": job["submission"], "exercise": ex.id, "doc": doc,
                       "key": job["keys"][ex.id], "duration": round(time.monotonic() - t0, 3)})
        self.emit({"event": "done", "submission": job["submission"], "duration": round(time.monotonic() - started, 3)})

    def _check(self, ex: Exercise) -> Result:
        from flowcamp.kinds import kind_of
        from flowcamp.runner import run_check

        url = None
        if kind_of(ex).needs_server:
            url = self._server()
            if url is None:
                return Result(ex.id, Status.ERROR, "The grader's Prefect server could not start, so this exercise "
                                                   "was not graded. This is a grading problem, not the learner's: "
                                                   "run `flowcamp grade` again.", max_score=ex.points)
        result = run_check(self.ws, ex, server_url=url)
        if self.cgroup is not None and self.cgroup.oom_killed() > self._ooms:
            self._ooms = self.cgroup.oom_killed()
            result.message = (result.message + " The learner's code used more memory than the grader allows "
                              f"({self.config['memory_mb']} MB) and was stopped.").strip()
        return result

    _ooms = 0

    def _server(self) -> str | None:
        from flowcamp import server

        if self.server_url is None:
            try:
                self.server_url = server.start(self.ws)
            except server.ServerError as e:
                self.emit({"event": "note", "text": f"lane's Prefect server did not start: {e}"})
                return None
        return self.server_url

    def _after_exercise(self) -> None:
        """Whatever an exercise's learner processes left (a fork storm's survivors) must not take the next
        exercise's share of the process limit. The learner processes' warm parent stays."""
        if self.cgroup is not None:
            self.cgroup.kill_all(keep=_warm_parents(self.cgroup.pids()))

    def _between_submissions(self) -> None:
        """Nothing of the last submission may reach the next: processes, files, warm learner parents, server state."""
        from flowcamp import worker

        worker.stop(self.ws)  # the warm check worker and the learner processes' parent it kept
        if self.cgroup is not None:
            self.cgroup.kill_all()
        reaper.kill_descendants(spare=self._service_pids(), thorough=True)
        for d in ("tmp", "home"):
            _empty(self.root / d)
        self.uv_cache.reset()
        if self.server_url:
            reset_server(self.server_url)

    def _service_pids(self) -> tuple[int, ...]:
        from flowcamp import services

        try:
            return tuple(services.running_services(self.ws).values())
        except Exception:  # noqa: BLE001
            return ()

    def close(self) -> None:
        from flowcamp import server, worker

        try:
            worker.stop(self.ws)
            server.stop(self.ws)
        finally:
            if self.cgroup is not None:
                self.cgroup.remove()
            reaper.kill_descendants(thorough=True)
            self.uv_cache.close()
            shutil.rmtree(self.root, ignore_errors=True)


def _warm_parents(pids: set[int]) -> set[int]:
    """Of a lane's learner processes, the warm parent of learner processes and the sandbox process that started
    it (its parent is outside the cgroup): they only ever fork, and are kept between exercises."""
    parent = reaper.parents()

    def cmdline(pid: int) -> bytes:
        try:
            return Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return b""

    roots = {p for p in pids if parent.get(p) not in pids}
    return roots | {p for p in pids if parent.get(p) in roots and b"zygote_main" in cmdline(p)}


class UvCache:
    """uv's package cache for learner code (a CI exercise runs `uv sync` offline): the grader's own cache,
    seen through an overlay whose changes go to a private folder that is emptied between submissions, so
    no submission can change what the next one installs. Without overlay mounts, there is none (uv says
    it cannot find the packages)."""

    def __init__(self, base: Path, source: str | None):
        self.base, self.source, self.mounted = base, source, False
        if source and os.path.isdir(source):
            self._mount()

    def _mount(self) -> None:
        for d in ("upper", "work", "cache"):
            (self.base / d).mkdir(parents=True, exist_ok=True)
        opts = f"lowerdir={self.source},upperdir={self.base / 'upper'},workdir={self.base / 'work'}"
        done = subprocess.run(["mount", "-t", "overlay", "overlay", "-o", opts, str(self.base / "cache")],
                              capture_output=True, text=True)
        self.mounted = done.returncode == 0
        if not self.mounted:
            shutil.rmtree(self.base, ignore_errors=True)

    def reset(self) -> None:
        if self.mounted:
            self.close()
            self._mount()

    def close(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.base / "cache")], capture_output=True)
            self.mounted = False
        shutil.rmtree(self.base, ignore_errors=True)


def cleanup_stale() -> int:
    """Remove what lanes killed before they could tidy up left behind (their folders, their cgroups): a lane
    holds a lock on its folder for its whole life, so a folder whose lock is free is stale. Returns how many."""
    removed = 0
    for root in Path("/tmp").glob("fcg-*"):
        try:
            with open(root / ALIVE, "a") as f:
                try:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # a living lane
                version = sandbox.cgroup_version()
                if version:
                    sandbox.Cgroup.existing(f"{CGROUP_PREFIX}{root.name}", version).remove()
                shutil.rmtree(root, ignore_errors=True)
                removed += 1
        except OSError:
            continue
    for born in Path("/tmp").glob(BIRTH_PREFIX + "*"):  # a lane that crashed in its first instant
        try:
            if time.time() - born.stat().st_mtime > STALE_AFTER:
                shutil.rmtree(born, ignore_errors=True)
        except OSError:
            continue
    return removed


def reset_server(api_url: str) -> None:
    """Delete what one submission made on the lane's Prefect server, so the next one starts from nothing:
    flows (their runs and deployments go with them), variables, block documents, work pools, concurrency
    limits and automations. Plain HTTP."""
    from flowcamp.tidy import _call

    def each(path: str, body: dict | None = None) -> list[dict]:
        try:
            return _call("POST", f"{api_url}/{path}/filter", body or {"limit": 200}) or []
        except Exception:  # noqa: BLE001 - an endpoint this server lacks
            return []

    def delete(path: str) -> None:
        try:
            _call("DELETE", f"{api_url}/{path}")
        except Exception:  # noqa: BLE001
            pass

    for _ in range(5):  # in pages of 200, until none is left
        flows = each("flows")
        for f in flows:
            delete(f"flows/{f['id']}")
        if len(flows) < 200:
            break
    for f in each("flow_runs"):  # runs whose flow is gone already are deleted with it; any left over
        delete(f"flow_runs/{f['id']}")
    for v in each("variables"):
        delete(f"variables/{v['id']}")
    for b in each("block_documents", {"limit": 200, "include_secrets": False}):
        delete(f"block_documents/{b['id']}")
    for p in each("work_pools"):
        if not str(p.get("name", "")).startswith("default"):
            delete(f"work_pools/{p['name']}")
    for c in each("v2/concurrency_limits"):
        delete(f"v2/concurrency_limits/{c['id']}")
    for a in each("automations"):
        delete(f"automations/{a['id']}")


def main(results_fd: int, config_path: str) -> None:
    """The lane process: read its configuration, then grade each job from stdin until stdin closes."""
    reaper.make_undumpable()  # learner code (same user) may not read this process's memory or descriptors
    reaper.become_subreaper()
    os.set_inheritable(results_fd, False)
    config = json.loads(Path(config_path).read_text(encoding="utf-8"))
    out = os.fdopen(results_fd, "wb", buffering=0)

    def emit(event: dict) -> None:
        out.write((json.dumps(event) + "\n").encode("utf-8"))

    if config.get("abilities", {}).get("netns") and config["abilities"]["netns"][0] == "unshare":
        _bring_loopback_up()
    jobs = sys.stdin.buffer
    log = open(config["log"], "ab", buffering=0)  # noqa: SIM115 - the lane's own output, for the instructor
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
    sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)
    lane = Lane(config, emit)
    emit({"event": "ready", "pid": os.getpid()})
    try:
        for line in jobs:
            if not line.strip():
                continue
            job = json.loads(line)
            try:
                lane.grade(job)
            except Exception as e:  # noqa: BLE001 - the grader's own failure: report it, keep the lane
                traceback.print_exc()
                emit({"event": "failed", "submission": job.get("submission"),
                      "error": f"{type(e).__name__}: {e}"})
    finally:
        lane.close()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
