"""``flowcamp submit``: a learner's work, packed in the submission format (:mod:`flowcamp.grading.layout`).

Two routes, the same content: :func:`pack` writes one zip file to hand in; :func:`snapshot_git` commits the
prepared repositories (as tarballs) and the manifest into the workspace repository, to push. Both refuse, with a
message that says what to do, when the learner's own changes hold something that looks like a secret
(:mod:`.secretscan`), or when the work is too big for a submission. Nothing here asks a question.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import re
import stat
import subprocess
import tarfile
import unicodedata
import zipfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from flowcamp import proc
from flowcamp.course import Exercise
from flowcamp.grading import layout, secretscan
from flowcamp.workspace import Workspace

PUSH_TIMEOUT = 120
LEAKED_LESSON = "lessons/05-secrets/05-leaked-secret.md"
_OUT = "Move it out of the exercise folder (or delete it), then run `uv run flowcamp submit` again."
_AGAIN = "Your files are as they were: fix that, then run `uv run flowcamp submit --git` again."


class SubmitError(Exception):
    """Why submit refused, in plain words that say what to do next."""


class SecretsFound(SubmitError):
    """The learner's own changes hold what looks like a secret: where and what kind, never the value."""

    def __init__(self, findings: list[secretscan.Finding]):
        self.findings = findings
        super().__init__(secrets_message(findings))


def secrets_message(findings: list[secretscan.Finding]) -> str:
    lines = ["Submit stopped: your work holds what looks like a secret (a password, a key or a token). "
             "Nothing was handed in.", ""]
    lines += [f"  {f.describe()}" for f in findings]
    lines += ["", "Take each value out of the file: read it from an environment variable instead, and keep it in "
                  ".env (never packed). Then run `uv run flowcamp submit` again."]
    history = [f"A value in a commit stays in the repository's history: rewrite that commit ({LEAKED_LESSON} shows "
               "how) and change that password or key, as someone may have seen it."]
    lines += history if any(f.commit for f in findings) else []
    return "\n".join(lines + [f"If one is not a secret (a made-up example), hand it in anyway: `uv run flowcamp submit "
                              f"--allow-secret {findings[0].location}`."])


def slug(name: str, email: str) -> str:
    """A file-name-safe version of the learner's name (else their email): 'Ada Lovelace' -> 'ada-lovelace'."""
    for text in (name, email.replace("@", "-")):
        ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        s = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:40].strip("-")
        if s:
            return s
    return "learner"


def default_name(name: str, email: str) -> str:
    return f"flowcamp-submission-{slug(name, email)}.zip"


# ------------------------------------------------------------------------------------------ what is packed


@dataclass
class Entry:
    rel: Path  # relative to the exercise folder
    type: str  # "file", "link" or "dir" (an empty folder)
    size: int = 0
    mode: int = 0o644
    target: str = ""  # a link's target
    mtime: float = 0.0


@dataclass
class Collected:
    exercises: list[tuple[Exercise, list[Entry]]]
    left_out: list[tuple[str, str]]  # (path from the workspace folder, why)
    files: int
    bytes: int

    def said(self) -> list[str]:
        return [f"{path}: {why}" for path, why in self.left_out]


def _shown(ex: Exercise, rel: Path) -> str:
    return f"{ex.path}/{rel.as_posix()}"


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


def _entry(ex: Exercise, folder: Path, rel: Path, left_out: list[tuple[str, str]]) -> Entry | None:
    shown = _shown(ex, rel)
    try:
        shown.encode("utf-8")
    except UnicodeEncodeError:
        raw = os.fsencode(shown).decode("utf-8", "backslashreplace")
        raise SubmitError(f"The name {raw} is not valid text (UTF-8), so it cannot go in a submission. Rename it "
                          "(letters, digits, - and _), then run `uv run flowcamp submit` again.") from None
    try:
        st = os.lstat(folder / rel)
    except OSError:
        return None  # gone since the folder was listed
    if stat.S_ISLNK(st.st_mode):
        target = os.readlink(folder / rel)
        if layout.link_stays_inside(rel, target):
            return Entry(rel, "link", target=target, mtime=st.st_mtime)
        left_out.append((shown, f"a link to {target}, outside the exercise folder (the grader refuses those)"))
        return None
    if not stat.S_ISREG(st.st_mode):
        left_out.append((shown, "not a file or a folder (a pipe or a device)"))
        return None
    if st.st_size > layout.MAX_FILE_BYTES:
        raise SubmitError(f"{shown} is {_mb(st.st_size)}, more than a submission takes for one file "
                          f"({_mb(layout.MAX_FILE_BYTES)}). Your exercise files are small text: this looks like a "
                          f"data export. {_OUT}")
    return Entry(rel, "file", st.st_size, 0o755 if st.st_mode & 0o111 else 0o644, mtime=st.st_mtime)


def _empty_dirs(folder: Path) -> list[Path]:
    """Empty folders (git needs .git/refs even when every ref is packed)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        here = Path(dirpath)
        rel_dir = here.relative_to(folder)
        dirnames[:] = [d for d in dirnames if not (here / d).is_symlink() and not layout.excluded(rel_dir / d)]
        if rel_dir != Path(".") and not dirnames and not filenames:
            out.append(rel_dir)
    return out


def _too_many(collected: list[tuple[Exercise, list[Entry]]]) -> SubmitError:
    counts = Counter(_shown(ex, Path(e.rel.parts[0])) if len(e.rel.parts) > 1 else ex.path
                     for ex, entries in collected for e in entries)
    worst, n = counts.most_common(1)[0]
    return SubmitError(f"Your work has more than {layout.MAX_FILES:,} files, more than a submission takes; "
                       f"{worst} alone has {n:,}. A folder like that is usually a virtual environment, "
                       "node_modules or a data download: move it out of the exercise folder, then run "
                       "`uv run flowcamp submit` again.")


def collect(ws: Workspace, skip: tuple[Path, ...] = ()) -> Collected:
    """Every exercise folder's files as a submission carries them (:func:`layout.exercise_files`), links that
    point out of their folder left out (and named), the size limits checked."""
    skip_set = {Path(p).absolute() for p in skip}
    out: list[tuple[Exercise, list[Entry]]] = []
    left_out: list[tuple[str, str]] = []
    files = total = 0
    for ex in ws.course.exercises:
        folder = ws.exercise_dir(ex)
        if folder.is_symlink():
            left_out.append((ex.path, "the exercise folder is a link to another place; move the folder back"))
            continue
        if not folder.is_dir():
            continue
        entries = [e for rel in layout.exercise_files(folder) if (folder / rel).absolute() not in skip_set
                   for e in [_entry(ex, folder, rel, left_out)] if e is not None]
        entries += [Entry(rel, "dir") for rel in _empty_dirs(folder)]
        out.append((ex, sorted(entries, key=lambda e: e.rel.as_posix())))
        files += sum(e.type != "dir" for e in entries)
        total += sum(e.size for e in entries)
        if files > layout.MAX_FILES:
            raise _too_many(out)
    if total > layout.MAX_TOTAL_BYTES:
        biggest = sorted(((e.size, _shown(ex, e.rel)) for ex, es in out for e in es), reverse=True)[:3]
        raise SubmitError(f"Your work is {_mb(total)}, more than a submission takes ({_mb(layout.MAX_TOTAL_BYTES)}). "
                          "The biggest files: " + ", ".join(f"{p} ({_mb(n)})" for n, p in biggest)
                          + ". Move data files out of the exercise folders, then run `uv run flowcamp submit` again.")
    return Collected(out, left_out, files, total)


def _read(folder: Path, e: Entry, ex: Exercise) -> bytes:
    """A regular file's bytes (a link's target), never following a link, never blocking on a pipe."""
    if e.type == "link":
        return e.target.encode("utf-8", "surrogateescape")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(folder / e.rel, flags)
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise OSError("it is no longer a plain file")
            data = fh.read(layout.MAX_FILE_BYTES + 1)
    except OSError as err:
        raise SubmitError(f"Could not read {_shown(ex, e.rel)} ({err.strerror or err}). Check that you can open "
                          "it, then run `uv run flowcamp submit` again.") from None
    if len(data) > layout.MAX_FILE_BYTES:
        raise SubmitError(f"{_shown(ex, e.rel)} grew past {_mb(layout.MAX_FILE_BYTES)} while it was packed: {_OUT}")
    return data


def _hash(e: Entry, data: bytes) -> str:
    return hashlib.sha256((b"symlink:" + data) if e.type == "link" else data).hexdigest()


def _hashes(ws: Workspace, collected: Collected) -> dict[str, dict[str, str]]:
    return {ex.id: {e.rel.as_posix(): _hash(e, _read(ws.exercise_dir(ex), e, ex)) for e in entries
                    if e.type != "dir"} for ex, entries in collected.exercises}


def work_time(ws: Workspace, collected: Collected) -> str:
    """When the work last changed: the newest of the packed files' times and the progress' times (UTC)."""
    times = [e.mtime for _ex, entries in collected.exercises for e in entries if e.type != "dir"]
    for value in (v for entry in ws.progress().get("exercises", {}).values() if isinstance(entry, dict)
                  for v in entry.values() if isinstance(v, str)):
        with contextlib.suppress(ValueError):
            times.append(datetime.fromisoformat(value).timestamp())
    return datetime.fromtimestamp(int(max(times, default=0)), timezone.utc).isoformat(timespec="seconds")


def _manifest(ws: Workspace, name: str, email: str, collected: Collected, hashes: dict[str, dict[str, str]],
              scan: dict | None = None) -> dict:
    m = {"format": layout.FORMAT, "kind": layout.KIND, "created": work_time(ws, collected),
         "learner": {"name": name, "email": email},
         "course": {"version": layout.course_version(), "fingerprint": layout.course_fingerprint(ws.course)},
         "workspace_seed": ws.seed,
         "exercises": {ex.id: {"path": ex.path, "files": hashes[ex.id]} for ex, _entries in collected.exercises},
         "progress": ws.progress()}
    if scan is not None:  # what it found, not how much it looked at: that grows with every submit commit
        m["secret_scan"] = {k: scan[k] for k in ("findings", "allowed")}
    return {**m,
            **({"left_out": collected.said()} if collected.left_out else {})}


def build_manifest(ws: Workspace, name: str, email: str) -> dict:
    """The manifest of the workspace's work as it is now (no secret scan: see :func:`pack`)."""
    collected = collect(ws)
    return _manifest(ws, name, email, collected, _hashes(ws, collected))


def _allow_key(text: str) -> str:
    return text.strip().replace("\\", "/").removeprefix("./").removeprefix(layout.WORKSPACE_DIR + "/")


def scan(ws: Workspace, collected: Collected, allow: tuple[str, ...] = (),
         workspace_history: bool = False) -> tuple[dict, list[str]]:
    """Run the secret scan; raise :class:`SecretsFound` unless every finding is allowed. Returns the manifest's
    ``secret_scan`` and warnings (an --allow-secret that matched nothing)."""
    listing = {ex.id: [e.rel for e in entries if e.type != "dir"] for ex, entries in collected.exercises}
    result = secretscan.scan_workspace(ws, listing, workspace_history=workspace_history)
    allowed = {_allow_key(a) for a in allow}
    blocking = [f for f in result.findings if f.location not in allowed]
    if blocking:
        raise SecretsFound(blocking)
    found = {f.location for f in result.findings}
    warnings = [f"--allow-secret {a}: the scan found nothing there (copy the place from its message)"
                for a in sorted(allowed - found)] + result.notes
    return {"findings": len(result.findings), "files": result.files, "commits": result.commits,
            "allowed": [f.to_dict() for f in result.findings]}, warnings


# ------------------------------------------------------------------------------------------ the archive


@dataclass
class SubmitReport:
    mode: str  # "archive" or "git"
    learner: dict[str, str]
    exercises: list[str]
    files: int
    bytes: int  # the files' size, unpacked
    path: Path | None = None  # the archive; with --git, the workspace repository
    archive_bytes: int = 0
    sha256: str = ""
    commit: str | None = None  # --git: the new commit, None when nothing changed since the last submit
    pushed_to: str | None = None
    scan: dict = field(default_factory=dict)
    left_out: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def next_step(self) -> str:
        if self.mode == "archive":
            return f"Hand in {self.path} as your instructor asked (upload it or send it)."
        if self.pushed_to:
            return "Nothing more to do: your instructor grades what you pushed."
        return f"Push it: `uv run flowcamp submit --push`. Your instructor grades what you push."

    def to_dict(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if k != "scan"}
        return {"ok": True, **d, "path": str(self.path) if self.path else None, "secret_scan": self.scan,
                "next": self.next_step()}


def _zinfo(name: str, mode: int, compress: int = zipfile.ZIP_DEFLATED) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=layout.ZIP_DATE)
    info.create_system = 3  # Unix: readers honour the mode bits
    info.external_attr = (mode << 16) | (0x10 if stat.S_ISDIR(mode) else 0)
    info.compress_type = compress
    return info


def _write_zip(path: Path, ws: Workspace, collected: Collected, manifest) -> None:
    hashes: dict[str, dict[str, str]] = {}
    with zipfile.ZipFile(path, "w") as zf:
        for ex, entries in collected.exercises:
            folder, files = ws.exercise_dir(ex), hashes.setdefault(ex.id, {})
            for e in entries:
                name = f"{layout.WORKSPACE_DIR}/{ex.path}/{e.rel.as_posix()}"
                if e.type == "dir":
                    zf.writestr(_zinfo(name + "/", stat.S_IFDIR | 0o755, zipfile.ZIP_STORED), b"")
                    continue
                data = _read(folder, e, ex)
                files[e.rel.as_posix()] = _hash(e, data)
                mode = (stat.S_IFLNK | 0o777) if e.type == "link" else (stat.S_IFREG | e.mode)
                zf.writestr(_zinfo(name, mode, zipfile.ZIP_STORED if e.type == "link" else zipfile.ZIP_DEFLATED), data)
        text = json.dumps(manifest(hashes), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        zf.writestr(_zinfo(layout.MANIFEST, stat.S_IFREG | 0o644), text.encode("utf-8"))


def pack(ws: Workspace, dest: Path, name: str, email: str, *, allow: tuple[str, ...] = (),
         check_secrets: bool = True) -> SubmitReport:
    """Write the workspace's work to one zip file at ``dest`` (a folder: the default name in it)."""
    dest = Path(dest) / default_name(name, email) if Path(dest).is_dir() else Path(dest)
    if not dest.parent.is_dir():
        raise SubmitError(f"The folder {dest.parent} does not exist. Create it, or pass another --out.")
    collected = collect(ws, skip=(dest,))
    if not collected.exercises:
        raise SubmitError(f"There is nothing to submit: {ws.root} has no exercise folders. Is it your workspace? "
                          "(`uv run flowcamp` shows where yours is.)")
    scanned, warnings = scan(ws, collected, allow) if check_secrets else ({}, [])
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        _write_zip(tmp, ws, collected, lambda h: _manifest(ws, name, email, collected, h, scanned or None))
        os.replace(tmp, dest)
    except OSError as e:
        raise SubmitError(f"Could not write {dest} ({e.strerror or e}). Choose another place with --out.") from None
    finally:
        tmp.unlink(missing_ok=True)
    data = dest.read_bytes()
    return SubmitReport("archive", {"name": name, "email": email}, [ex.id for ex, _ in collected.exercises],
                        collected.files, collected.bytes, dest, len(data), hashlib.sha256(data).hexdigest(),
                        scan=scanned, left_out=collected.said(), warnings=warnings)


# ------------------------------------------------------------------------------------------ the git route


def _write_tar(target: Path, folder: Path, ex: Exercise, entries: list[Entry]) -> None:
    """One prepared repository as a deterministic .tar.gz (sorted, time 0, owner 0), paths from the exercise
    folder."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")  # *.tmp: git-ignored in a workspace
    with open(tmp, "wb") as raw, gzip.GzipFile("", "wb", fileobj=raw, mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for e in entries:
            info = tarfile.TarInfo(e.rel.as_posix())
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            data = b"" if e.type == "dir" else _read(folder, e, ex)
            info.type = {"dir": tarfile.DIRTYPE, "link": tarfile.SYMTYPE}.get(e.type, tarfile.REGTYPE)
            info.mode = {"dir": 0o755, "link": 0o777}.get(e.type, e.mode)
            info.linkname, info.size = (e.target, 0) if e.type == "link" else ("", len(data))
            tar.addfile(info, io.BytesIO(data) if e.type == "file" else None)
    os.replace(tmp, target)


def _ws_git(root: Path, *args: str, stdin: str | None = None, user: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(proc.safe_git(root, *args), input=stdin, capture_output=True, text=True,
                          env=proc.git_env(keep_user_config=user), timeout=PUSH_TIMEOUT)


def _commit(ws: Workspace, name: str, email: str, collected: Collected) -> str | None:
    """Stage the snapshot and the exercise folders (never what the format or submit leaves out), commit only those."""
    excludes = [f":(exclude,glob)**/{n}{tail}" for n in sorted(layout.EXCLUDED_NAMES) for tail in ("", "/**")]
    excludes += [f":(exclude,glob)**/*{s}" for s in layout.EXCLUDED_SUFFIXES]
    excludes += [f":(exclude,literal){path}" for path, _why in collected.left_out]
    specs = [layout.GIT_SNAPSHOT_DIR, *(ex.path for ex, _ in collected.exercises)]
    added = _ws_git(ws.root, "add", "-A", "--", *specs, *excludes)
    staged = _ws_git(ws.root, "diff", "--cached", "--name-only", "-z", "--", *specs).stdout
    if added.returncode != 0:
        raise SubmitError(f"git add failed: {added.stderr.strip()[-300:]}\n{_AGAIN}")
    if not staged:
        return None  # nothing changed since the last submit
    done = _ws_git(ws.root, "-c", f"user.name={name}", "-c", f"user.email={email}", "-c", "commit.gpgsign=false",
                   "commit", "-q", "--no-verify", "-m", "My flowcamp submission", "--pathspec-from-file=-",
                   "--pathspec-file-nul", stdin=staged)
    if done.returncode != 0:
        raise SubmitError(f"git commit failed: {(done.stderr or done.stdout).strip()[-300:]}\n{_AGAIN}")
    return _ws_git(ws.root, "rev-parse", "HEAD").stdout.strip()


def _push(ws: Workspace) -> str:
    """Push the current branch to origin (the learner's own config and credentials, but no hooks, no prompts)."""
    url = _ws_git(ws.root, "remote", "get-url", "origin").stdout.strip()
    branch = _ws_git(ws.root, "symbolic-ref", "--short", "-q", "HEAD").stdout.strip()
    if not url or not branch:
        raise SubmitError("Your submission is committed, but " + (
            "your workspace repository has no remote called origin. Add the repository your instructor gave you "
            "(`git remote add origin URL`), then `git push -u origin HEAD`." if not url else
            "you are on no branch (a detached HEAD): `git switch main`, then `git push`."))
    safe = re.sub(r"//[^/@\s]+@", "//", url)  # never show a password or token written into the URL
    args = ["git", "-c", f"core.hooksPath={os.devnull}", "-c", "core.fsmonitor=false", "-c", "protocol.ext.allow=never",
            "-C", str(ws.root), "push", "--no-verify", "origin", f"HEAD:refs/heads/{branch}"]
    try:
        done = subprocess.run(args, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                              env=proc.git_env(keep_user_config=True), timeout=PUSH_TIMEOUT)
    except subprocess.TimeoutExpired:
        done = subprocess.CompletedProcess(args, 1, "", f"no answer from {safe} in {PUSH_TIMEOUT} s")
    if done.returncode != 0:
        last = re.sub(r"//[^/@\s]+@", "//", (done.stderr.strip().splitlines() or ["(no message)"])[-1])
        raise SubmitError(f"Your submission is committed, but the push to {safe} failed: {last}\nPush it yourself: "
                          f"`git push` in {ws.root}.")
    return safe


def snapshot_git(ws: Workspace, name: str, email: str, *, allow: tuple[str, ...] = (),
                 push: bool = False) -> SubmitReport:
    """The pushed-workspace route: the manifest and each prepared repository (a tarball) into submission/ of the
    workspace repository, committed with the exercise folders; pushed to origin with ``push``."""
    if not (ws.root / ".git").is_dir():
        raise SubmitError(f"{ws.root} is not a git repository, so there is nothing to push. Hand in a file "
                          "instead: `uv run flowcamp submit` (without --git).")
    collected = collect(ws)
    scanned, warnings = scan(ws, collected, allow, workspace_history=True)
    repos_dir, written = ws.root / layout.GIT_SNAPSHOT_DIR / layout.GIT_REPOS_DIR, set()
    for ex, entries in collected.exercises:
        for repo in ex.repos:
            parts = Path(repo.strip("/")).parts
            members = [e for e in entries if e.rel.parts[: len(parts)] == parts]
            if members:
                written.add(target := ws.root / layout.repo_archive(ex.id, repo))
                _write_tar(target, ws.exercise_dir(ex), ex, members)
    for old in repos_dir.rglob("*") if repos_dir.is_dir() else ():
        if old.is_file() and old not in written:
            old.unlink()
    manifest = _manifest(ws, name, email, collected, _hashes(ws, collected), scanned)
    (target := ws.root / layout.GIT_SNAPSHOT_DIR / layout.GIT_MANIFEST).parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    commit = _commit(ws, name, email, collected)
    report = SubmitReport("git", {"name": name, "email": email}, [ex.id for ex, _ in collected.exercises],
                          collected.files, collected.bytes, ws.root, commit=commit, scan=scanned,
                          left_out=collected.said(), warnings=warnings)
    report.pushed_to = _push(ws) if push else None
    return report
