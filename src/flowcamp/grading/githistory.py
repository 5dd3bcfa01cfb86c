"""A git source's history of submissions, for the cohort report's progress over time: what each commit of
``submission/manifest.json`` (one per `flowcamp submit --git`) says of the learner's progress.

Intake clones a git source COMMITS commits deep and calls :func:`manifest_history` on the clone, which a learner
controls: it runs only git's plumbing (`log`, `cat-file`) with the configuration that runs nothing
(:func:`flowcamp.proc.safe_git`), reads at most BYTES per manifest and TOTAL in all, and keeps only counts and
this course's exercise ids from what it reads.
"""

from __future__ import annotations

import json
import re
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from flowcamp import proc
from flowcamp.course import Course
from flowcamp.grading import layout

COMMITS = 200  # a git source is cloned this many commits deep; its submitted manifests are read from them
BYTES = 1024 * 1024  # a submitted manifest in the history larger than this is passed over
TOTAL = 32 * 1024 * 1024  # and all of them together are read up to this (the newest first)


def manifest_history(clone: Path, course: Course) -> list[dict]:
    """What each commit of ``submission/manifest.json`` (one per `flowcamp submit --git`) in the clone's last
    COMMITS commits says of the learner's progress, oldest first: ``{"time", "commit", "done", "hints",
    "checks"}`` (time: the commit's, UTC; done: ids of this course's exercises passed by then, in course order;
    hints and checks: totals). Read with git's plumbing and no configuration that runs anything; a manifest that
    is no JSON, or too large, is passed over. Any failure gives what was read so far (never an error: the
    history only feeds the report)."""
    path = f"{layout.GIT_SNAPSHOT_DIR}/{layout.GIT_MANIFEST}"

    def git(*args: str, given: bytes | None = None) -> bytes:
        done = subprocess.run(proc.safe_git(clone, *args), input=given, capture_output=True, env=proc.git_env(),
                              timeout=60, **({} if given is not None else {"stdin": subprocess.DEVNULL}))
        return done.stdout if done.returncode == 0 else b""

    try:
        log = git("log", "-n", str(COMMITS), "--no-renames", "--format=%H %ct", "--", path)
        commits = [ln.split() for ln in log.decode("ascii", "replace").splitlines()]
        commits = [c for c in commits if len(c) == 2 and re.fullmatch(r"[0-9a-f]{40,64}", c[0])
                   and c[1].isdigit()][::-1]
        if not commits:
            return []
        wanted = "".join(f"{sha}:{path}\n" for sha, _ in commits).encode()
        sizes = git("cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize)", given=wanted)
        blobs = [ln.split() for ln in sizes.decode("ascii", "replace").splitlines()]
        oids = [b[0] if len(b) == 3 else None for b in blobs]
        small, budget = set(), TOTAL
        for b in reversed(blobs):
            if len(b) == 3 and b[1] == "blob" and int(b[2]) <= min(BYTES, budget) and b[0] not in small:
                small.add(b[0])
                budget -= int(b[2])
        if len(oids) != len(commits):
            return []
        texts = _read_blobs(git("cat-file", "--batch", given="".join(f"{o}\n" for o in sorted(small)).encode()))
    except (OSError, subprocess.SubprocessError, ValueError):
        return []
    ids = [ex.id for ex in course.exercises]
    out = []
    for (sha, seconds), oid in zip(commits, oids):
        try:
            data = json.loads(texts[oid].decode("utf-8")) if oid in texts else None
        except ValueError:
            data = None
        progress = data.get("progress") if isinstance(data, dict) else None
        entries = progress.get("exercises") if isinstance(progress, dict) else None
        if not isinstance(entries, dict):
            continue
        entries = {k: v for k, v in entries.items() if k in ids and isinstance(v, dict)}
        out.append({"time": datetime.fromtimestamp(min(int(seconds), 253402300799), timezone.utc)
                    .isoformat(timespec="seconds"), "commit": sha[:12],
                    "done": [i for i in ids if entries.get(i, {}).get("passed") is True],
                    "hints": sum(_count(v.get("hints_shown")) for v in entries.values()),
                    "checks": sum(_count(v.get("checks")) for v in entries.values())})
    return out


def _read_blobs(raw: bytes) -> dict[str, bytes]:
    """`git cat-file --batch` output as object id -> contents."""
    out, at = {}, 0
    while at < len(raw):
        end = raw.index(b"\n", at)
        head = raw[at:end].split()
        if len(head) != 3:  # "<oid> missing"
            at = end + 1
            continue
        size = int(head[2])
        out[head[0].decode("ascii", "replace")] = raw[end + 1:end + 1 + size]
        at = end + 1 + size + 1
    return out


def _count(value) -> int:
    """A progress counter as the learner's workspace wrote it: a whole number from 0 to 10,000, else 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 10_000 else 0
