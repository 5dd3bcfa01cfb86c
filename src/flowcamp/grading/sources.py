"""The sources of a grading run: checked before anything is written, opened (unpacked, cloned, copied) by
:mod:`.intake`, and, in ``grade --watch``, fingerprinted so that an unchanged source is not opened again."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from flowcamp import proc
from flowcamp.course import Course

def check_exist(sources: list[str]) -> None:
    """A mistyped path is the instructor's mistake, not a learner's broken submission: stop before anything is
    written. (URLs and `host:path` remotes are left to git.)"""
    missing = [s for s in sources if "://" not in s and not remote_like(s) and not Path(s).expanduser().exists()]
    if missing:
        raise _error("No such file or folder: " + ", ".join(missing) + ". Check the path (nothing was "
                         "graded or written).")


def remote_like(source: str) -> bool:
    head, sep, _ = source.partition(":")
    return bool(sep) and "/" not in head and len(head) > 1  # git@host:owner/repo, host:repo.git


def open_all(sources: list[str], out: Path, course: Course, say, cache: dict | None = None) -> list:
    """Open every submission in ``sources``. With ``cache`` (``watch``), a source whose files (or, for a remote
    repository, whose HEAD) did not change since the last round is taken as it was, without unpacking it again."""
    from flowcamp.grading import intake

    staging = out / ".staging"
    if cache is None and staging.exists():
        shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True, exist_ok=True)
    found = intake.discover(sources)
    if not found:
        raise _error("No submissions found in " + ", ".join(sources) + ". Give archives (.zip, .tar.gz), "
                         "workspace folders, git repositories, or a folder of them.")
    from concurrent.futures import ThreadPoolExecutor

    opened = cache.setdefault("opened", {}) if cache is not None else {}

    def one(src: str):
        sig = source_signature(src) if cache is not None else None
        old = opened.get(src)
        if sig is not None and old is not None and old[0] == sig:
            return old[1]
        dest = staging / hashlib.sha256(src.encode()).hexdigest()[:16]
        if dest.exists():
            shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir()
        sub = intake.open_source(src, dest, course)
        if cache is not None:
            opened[src] = (sig, sub)
        return sub

    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:  # unpacking and hashing: files
        subs = list(pool.map(one, found))
    for gone in set(opened) - set(found):  # a source removed from the folder
        del opened[gone]
    seen: set[str] = set()
    for sub in subs:
        if sub.status == "ok" and sub.hash in seen and not any("identical files" in w for w in sub.warnings):
            sub.warnings.append("The same work as another submission in this run (identical files).")
        seen.add(sub.hash)
    return subs


def source_signature(source: str) -> str | None:
    """A cheap fingerprint of a source as it is now (its files' names, sizes and times; a remote repository's
    HEAD); None when it cannot be had (then the source is opened again)."""
    import subprocess

    from flowcamp.grading.intake import _URL  # the same rules as intake

    if _URL.match(source) or remote_like(source):
        try:
            done = subprocess.run(["git", "ls-remote", source, "HEAD"], capture_output=True, text=True,
                                  env=proc.git_env(), timeout=30, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.split()[0] if done.returncode == 0 and done.stdout.strip() else None
    p = Path(source)
    try:
        if p.is_file():
            st = p.stat()
            return f"{st.st_size}:{st.st_mtime_ns}"
        h = hashlib.sha256()
        for folder, dirs, files in os.walk(p):
            dirs.sort()
            for name in sorted(files):
                full = os.path.join(folder, name)
                st = os.lstat(full)
                h.update(f"{os.path.relpath(full, p)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        return h.hexdigest()
    except OSError:
        return None




def _error(text: str) -> Exception:
    from flowcamp.grading.run import GradeError

    return GradeError(text)
