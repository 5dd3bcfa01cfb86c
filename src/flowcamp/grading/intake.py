"""Intake for ``flowcamp grade``: each SOURCE an instructor collected (an archive, an unpacked submission, a
learner's workspace folder, a git repository) becomes one clean unpacked submission in the shape of
:mod:`.layout`, or a status and a message in plain words saying what is wrong and what to do next.

Everything in a submission is untrusted: :mod:`.unpack` writes it (names, links and sizes checked before
anything is written, nothing followed out); git clones with hooks, submodules and every command a
configuration could name turned off, without prompts and with a time limit. Nothing from a submission is run.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from flowcamp import proc
from flowcamp.course import Course
from flowcamp.grading import githistory, layout, unpack
from flowcamp.grading.unpack import Bad

BAD_STATUSES = ("not-found", "corrupt", "empty", "not-a-submission", "unsafe-path", "unsafe-link", "too-large",
                "bad-names", "bad-manifest", "other-course", "clone-failed")
CLONE_TIMEOUT = 120.0
HISTORY_KEY = "history"  # the grader's key in a stored manifest (githistory.manifest_history); a learner's is dropped
LAYOUT_DIR, CLONE_DIR = "layout", "clone"  # inside the caller's dest folder
_URL = re.compile(r"^(file|ssh|https?|git)://|^[\w.-]+@[\w.-]+:")
# proc.SAFE_GIT_CONFIG with ssh allowed (never prompting), plus no submodules and every received object checked.
_CLONE_CONFIG = (*(a if a != "core.sshCommand=false" else "core.sshCommand=ssh -o BatchMode=yes"
                   for a in proc.SAFE_GIT_CONFIG),
                 "-c", "submodule.recurse=false", "-c", "transfer.fsckObjects=true", "-c", "core.symlinks=true",
                 "-c", "core.protectNTFS=true", "-c", "core.protectHFS=true")
_SUBMIT_AGAIN = "Ask the learner to run `uv run flowcamp submit` again and hand in the file it makes."


@dataclass
class Submission:
    source: str  # what the instructor gave (a path or URL), for messages
    label: str  # short display name (file or folder name, repository name)
    root: Path | None  # the unpacked layout (submission.json + workspace/), None when bad
    status: str  # "ok" or one of BAD_STATUSES
    message: str  # plain words for the instructor: what is wrong, what to do next ("" when ok)
    manifest: dict = field(default_factory=dict)  # the manifest read from it ({} when none could be read)
    hash: str = ""  # layout.tree_hash(root) when ok; sha256 of the source bytes or identity when bad
    exercises: list[str] = field(default_factory=list)  # ids of the exercise folders present, in course order
    warnings: list[str] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)  # a git source's submitted manifests, oldest first

    @property
    def ok(self) -> bool:
        return self.status == "ok"


# ------------------------------------------------------------------------------------------ discovering
def discover(sources: list[str]) -> list[str]:
    """Each SOURCE as it is, or, for a folder that is no submission itself, the submissions one level inside it
    (archives, unpacked submissions, workspaces, git repositories). A folder with none stays as it is."""
    out: list[str] = []
    for source in sources:
        p = Path(source)
        if _URL.match(source) or not p.is_dir() or _folder_kind(p):
            out.append(source)
            continue
        found = [str(c) for c in sorted(p.iterdir()) if not c.name.startswith(".") and (
            (c.is_file() and c.name.lower().endswith(unpack.ARCHIVE_SUFFIXES)) or (c.is_dir() and _folder_kind(c)))]
        out += found or [source]
    return list(dict.fromkeys(out))


def _folder_kind(p: Path) -> str | None:
    if (p / layout.MANIFEST).is_file():
        return "layout"
    if (p / ".flowcamp" / "workspace.json").is_file():
        return "workspace"
    if (p / ".git").is_dir() or ((p / "HEAD").is_file() and (p / "objects").is_dir() and (p / "refs").is_dir()):
        return "git"
    return None


def _label(source: str) -> str:
    """A short name: the file's or folder's name, a repository's name without .git; for a folder called
    `workspace` (every learner's default), its parent's name too."""
    name = source.rstrip("/").replace(":", "/").rsplit("/", 1)[-1] or source
    if _URL.match(source):
        return name.removesuffix(".git") or name
    p = Path(source)
    if p.is_dir() and name == "workspace" and p.resolve().parent.name:
        return f"{p.resolve().parent.name}/{name}"
    return name.removesuffix(".git") or name if p.is_dir() else name


# ------------------------------------------------------------------------------------------ opening
def open_source(source: str, dest: Path, course: Course) -> Submission:
    """Unpack, clone or copy one SOURCE into ``dest`` (a fresh empty folder the caller owns) as the layout, at
    ``dest/layout``, and check it. Never raises for a bad submission: its status and message say what is wrong
    (and nothing of it is left in ``dest``)."""
    dest = Path(dest)
    root = dest / LAYOUT_DIR
    sub = Submission(source=source, label=_label(source), root=None, status="ok", message="")
    budget = unpack.Budget()
    try:
        root.mkdir(parents=True)
        kind = _source_kind(source, sub.label)
        if kind == "archive":
            _from_archive(Path(source), root, budget, sub)
        elif kind == "layout":
            _from_layout_folder(Path(source), root, budget, sub)
        elif kind == "workspace":
            _from_workspace(Path(source), root, budget, course, sub)
        else:
            _from_git(source, dest, root, budget, course, sub)
        unpack.repair_git_dirs(root)
        _finish(root, course, sub)
        _keep_history(sub)
    except (Bad, OSError) as problem:
        bad = problem if isinstance(problem, Bad) else Bad("corrupt", f"{sub.label} could not be read ("
                                                          f"{unpack.show(str(problem))}). {_SUBMIT_AGAIN}")
        for made in (root, dest / CLONE_DIR):
            if made.exists():
                shutil.rmtree(made, ignore_errors=True)
        sub.status, sub.message, sub.root, sub.exercises = bad.status, bad.message, None, []
        sub.hash = _source_hash(source)
        return sub
    if budget.left_out:
        sub.warnings.append(f"Left out {len(budget.left_out)} file(s) that are never graded (outside "
                            "submission.json and workspace/, or secrets, warehouses, caches, special files): "
                            + ", ".join(unpack.show(n) for n in budget.left_out[:3])
                            + (", ..." if len(budget.left_out) > 3 else "") + ".")
    if budget.links_out:
        sub.warnings.append(f"Left out {len(budget.links_out)} link(s) that point outside their exercise folder "
                            "(the learner's own files elsewhere are never read): "
                            + ", ".join(unpack.show(n) for n in budget.links_out[:3])
                            + (", ..." if len(budget.links_out) > 3 else "") + ".")
    sub.root, sub.hash = root, layout.tree_hash(root)
    return sub


def _source_kind(source: str, label: str) -> str:
    if _URL.match(source):
        return "git"
    p = Path(source)
    if p.is_dir():
        kind = _folder_kind(p)
        if kind is None:
            raise Bad("not-a-submission", f"{label} is a folder that holds no submission (no archive, no "
                      "submission.json, no workspace, no git repository). Check the path.")
        return kind
    if not p.is_file():
        raise Bad("not-found", f"{source} does not exist (or is not a file or folder). Check the path.")
    return "archive"


def _source_hash(source: str) -> str:
    h = hashlib.sha256()
    p = Path(source)
    if not _URL.match(source) and p.is_file():
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()
    h.update(("source:" + (source if _URL.match(source) else str(p.resolve()))).encode("utf-8", "surrogateescape"))
    return h.hexdigest()


# ------------------------------------------------------------------------------------------ archives
def _from_archive(path: Path, root: Path, budget: unpack.Budget, sub: Submission) -> None:
    label = sub.label
    if path.stat().st_size == 0:
        raise Bad("empty", f"{label} is an empty file. {_SUBMIT_AGAIN}")
    with unpack.read_archive(path, label) as entries:
        if not entries:
            raise Bad("empty", f"{label} is an empty archive. {_SUBMIT_AGAIN}")
        names = unpack.clean_all(entries, label)
        prefix = _prefix(names, label)

        def keep(name: str) -> str | None:
            if not name.startswith(prefix):
                return None
            rel = name[len(prefix):]
            if rel == layout.MANIFEST or rel == layout.WORKSPACE_DIR:
                return rel
            inside = rel.startswith(layout.WORKSPACE_DIR + "/")
            return rel if inside and not layout.excluded(Path(rel).relative_to(layout.WORKSPACE_DIR)) else None

        kept = [keep(n) for n in names]
        if not any(kept):
            raise Bad("not-a-submission", f"{label} holds no submission.json and no workspace/ folder: it was not "
                      "made by flowcamp. Ask the learner to run `uv run flowcamp submit` and hand in the file it "
                      "makes.")
        unpack.write_all(entries, names, kept, root, budget, label)


def _prefix(names: list[str], label: str) -> str:
    """"" for an archive in the layout; "folder/" for one whose contents sit one folder deeper (re-zipped)."""
    if layout.MANIFEST in names:
        return ""
    tops = sorted({n.split("/")[0] for n in names if n.count("/") == 1 and n.endswith("/" + layout.MANIFEST)})
    if len(tops) > 1:
        raise Bad("not-a-submission", f"{label} holds several submissions ({', '.join(map(unpack.show, tops[:5]))})."
                  " Give each learner's file to `flowcamp grade` on its own.")
    return tops[0] + "/" if tops else ""


def _copy_folders(base: Path, folders: list[str], root: Path, budget: unpack.Budget, label: str,
                  extra: list[unpack.Entry] = (), links_out: str = "refuse") -> None:
    """Exercise folders (and ``extra`` entries) into the layout. A link that points out of its exercise folder
    makes the submission bad, or with ``links_out="leave"`` (a learner's own folder, as submit does) is left
    out with a warning."""
    entries = list(extra)
    for f in folders:
        entries += unpack.folder_entries(base / f, f"{layout.WORKSPACE_DIR}/{f}")
    if links_out == "leave":
        leaving = [e for e in entries if e.type == "symlink" and unpack.link_leaves(e.name, e.target)]
        budget.links_out += [f"{e.name} -> {e.target}" for e in leaving]
        entries = [e for e in entries if e not in leaving]
    names = unpack.clean_all(entries, label)
    unpack.write_all(entries, names, names, root, budget, label)


def _from_layout_folder(src: Path, root: Path, budget: unpack.Budget, sub: Submission) -> None:
    manifest = src / layout.MANIFEST
    st = os.lstat(manifest)
    extra = [unpack.Entry(layout.MANIFEST, "file", st.st_size, 0o644, open=lambda: unpack.open_nofollow(manifest))]
    _copy_folders(src / layout.WORKSPACE_DIR, unpack.exercise_dirs(src / layout.WORKSPACE_DIR, strict=False), root,
                  budget, sub.label, extra if stat.S_ISREG(st.st_mode) else [])


def _from_workspace(src: Path, root: Path, budget: unpack.Budget, course: Course, sub: Submission) -> None:
    """A learner's workspace folder: its exercise folders (prepared repositories included) and a manifest made
    from its progress and seed; the name comes from its git config, else from the folder's name."""
    _copy_folders(src, unpack.exercise_dirs(src, strict=True), root, budget, sub.label, links_out="leave")
    state, gitdir = src / ".flowcamp", src / ".git"  # read only when they are real folders of the workspace
    name, email = _git_identity(gitdir / "config") if not gitdir.is_symlink() else ("", "")
    meta, progress = ({}, {}) if state.is_symlink() else (_read_json(state / "workspace.json"),
                                                          _read_json(state / "progress.json"))
    sub.manifest = _write_manifest(root, course, {"name": name or sub.label.split("/")[0], "email": email},
                                   progress, meta.get("seed"), "a workspace folder", None)


def _read_json(path: Path, limit: int = 5 * 1024 * 1024) -> dict:
    try:
        with unpack.open_nofollow(path) as f:
            data = json.loads(f.read(limit).decode("utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _git_identity(config: Path) -> tuple[str, str]:
    """user.name and user.email from a repository's config file, read as text (git itself never runs on it)."""
    found, section = {}, None
    try:
        with unpack.open_nofollow(config) as f:
            text = f.read(256 * 1024).decode("utf-8", "replace")
    except OSError:
        return "", ""
    for line in text.splitlines():
        line = line.split("#")[0].split(";")[0].strip()
        if line.startswith("["):
            section = line.strip("[] \t").lower()
        elif section == "user" and "=" in line:
            key, value = (s.strip() for s in line.split("=", 1))
            found.setdefault(key.lower(), unpack.show(value.strip('"'), 200))
    return found.get("name", ""), found.get("email", "")


def _write_manifest(root: Path, course: Course, learner: dict, progress: dict, seed, made_from: str,
                    created: str | None) -> dict:
    """A manifest for a submission that came without one. Nothing in it changes from one run to the next (no
    time but the work's own), so the tree hash of unchanged work stays the same."""
    exercises = {}
    for f in unpack.exercise_dirs(root / layout.WORKSPACE_DIR, strict=False):
        ex, folder = layout.exercise_of_path(course, f), root / layout.WORKSPACE_DIR / f
        exercises[ex.id if ex else f] = {"path": f, "files": {r.as_posix(): layout.file_hash(folder / r)
                                                              for r in layout.exercise_files(folder)}}
    manifest = {"format": layout.FORMAT, "kind": layout.KIND, "created": created, "learner": learner,
                "course": {"version": None, "fingerprint": None},
                "workspace_seed": seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
                "exercises": exercises, "progress": progress,
                "made_by_grader": f"from {made_from}, which had no manifest of its own"}
    (root / layout.MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    return manifest


# ------------------------------------------------------------------------------------------ git
def _from_git(source: str, dest: Path, root: Path, budget: unpack.Budget, course: Course, sub: Submission) -> None:
    """A learner's workspace pushed to a git repository: cloned (nothing of it run), its exercise files taken
    from the working tree, its manifest and prepared repositories from what `flowcamp submit --git` committed."""
    clone = dest / CLONE_DIR
    _clone(source, clone, dest, sub.label)
    try:
        snap = clone / layout.GIT_SNAPSHOT_DIR
        manifest = snap / layout.GIT_MANIFEST
        has_manifest = manifest.is_file() and not manifest.is_symlink() and not snap.is_symlink()
        extra = [unpack.Entry(layout.MANIFEST, "file", manifest.stat().st_size, 0o644,
                              open=lambda: unpack.open_nofollow(manifest))] if has_manifest else []
        _copy_folders(clone, unpack.exercise_dirs(clone, strict=True), root, budget, sub.label, extra, "leave")
        if has_manifest:
            sub.history = githistory.manifest_history(clone, course)
        repos = snap / layout.GIT_REPOS_DIR
        if has_manifest and repos.is_dir() and not repos.is_symlink():
            for tarball in sorted(repos.glob("*/*.tar.gz")):
                _unpack_repo(tarball, root, budget, course, sub.label)
        if not has_manifest:
            name, email, when = _last_author(clone)
            learner = {"name": name or sub.label, "email": email}
            sub.manifest = _write_manifest(root, course, learner, {}, None, "a git repository", when or None)
            sub.warnings.append("The repository has no submission/ folder: its prepared repositories (history "
                                "exercises) and progress were not submitted, so those exercises may fail. Ask the "
                                "learner to run `uv run flowcamp submit --git` and push.")
    finally:
        shutil.rmtree(clone, ignore_errors=True)


def _clone(source: str, clone: Path, cwd: Path, label: str) -> None:
    url = source if _URL.match(source) else str(Path(source).resolve())
    # --no-local: a path is fetched like a URL (no hardlinks or copies of its object folder); --template=: no
    # hooks or config from templates; no tags; the working tree is graded, and the last githistory.COMMITS commits
    # are read only for the submitted manifests' progress (the cohort report's progress over time).
    args = ["git", *_CLONE_CONFIG, "clone", "--quiet", "--no-local", "--depth", str(githistory.COMMITS), "--no-tags",
            "--template=", "--", url, str(clone)]
    done = proc.run_limited(args, cwd=cwd, env=proc.git_env(), limit=CLONE_TIMEOUT)
    if done.timed_out or done.code != 0:
        lines = [ln.strip() for ln in done.output.splitlines() if ln.strip()]
        said = next((ln for ln in lines if ln.startswith(("fatal:", "error:"))), lines[-1] if lines else "")
        why = (f"it took more than {CLONE_TIMEOUT:.0f} s" if done.timed_out
               else unpack.show(said or f"git stopped with code {done.code}", 300))
        raise Bad("clone-failed", f"Could not clone {label}: {why}. Check the address and that this machine can "
                  f"read it without a password prompt (try `git clone {unpack.show(source)}` yourself).")


def _unpack_repo(tarball: Path, root: Path, budget: unpack.Budget, course: Course, label: str) -> None:
    """One submission/repos/<exercise-id>/<repo>.tar.gz into its exercise folder, as any archive is unpacked."""
    ex_id, repo = tarball.parent.name, tarball.name[: -len(".tar.gz")]
    ex = next((e for e in course.exercises if e.id == ex_id), None)
    if ex is None:
        raise Bad("other-course", f"{label} holds a prepared repository for exercise {unpack.show(ex_id)}, which "
                  "this course does not have: it was made with another course. Grade it with that course.")
    if tarball.is_symlink() or tarball.parent.is_symlink() or not repo or repo.startswith(".") \
            or layout.excluded(Path(repo)):
        return
    folder = root / layout.WORKSPACE_DIR / ex.path
    if (folder / repo).is_symlink() or (folder / repo).is_file():
        (folder / repo).unlink()
    elif (folder / repo).is_dir():  # files the learner committed there: the archived repository wins
        shutil.rmtree(folder / repo)
    with unpack.read_archive(tarball, label) as entries:
        names = unpack.clean_all(entries, label)
        kept = [f"{layout.WORKSPACE_DIR}/{ex.path}/{n}" if (n == repo or n.startswith(repo + "/"))
                and not layout.excluded(Path(n)) else None for n in names]
        unpack.write_all(entries, names, kept, root, budget, label)


def _keep_history(sub: Submission) -> None:
    """The history goes with the manifest the gradebook stores, under the grader's own key (one a learner wrote
    there is dropped). One submitted manifest is no history: the submission itself says as much."""
    if isinstance(sub.manifest, dict):
        sub.manifest.pop(HISTORY_KEY, None)
        if len(sub.history) > 1:
            sub.manifest[HISTORY_KEY] = sub.history


def _last_author(clone: Path) -> tuple[str, str, str]:
    """The name, email and time of the clone's last commit (the learner's, most likely; not the one every
    workspace starts with, which flowcamp made)."""
    try:
        done = subprocess.run(proc.safe_git(clone, "log", "-1", "--format=%an%x00%ae%x00%cI"), capture_output=True,
                              env=proc.git_env(), timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return "", "", ""
    parts = done.stdout.decode("utf-8", "replace").strip().split("\0")
    if len(parts) != 3 or parts[1] == "flowcamp@localhost":
        return "", "", parts[2] if len(parts) == 3 else ""
    name, email, when = (unpack.show(p, 200) for p in parts)
    return name, email, when


# ------------------------------------------------------------------------------------------ checking
def _finish(root: Path, course: Course, sub: Submission) -> None:
    """Read and check the manifest (unless intake made it), find the exercise folders, compare the courses."""
    if not sub.manifest:
        sub.manifest = _read_manifest(root, sub.label)
    folders = unpack.exercise_dirs(root / layout.WORKSPACE_DIR, strict=False)
    if not folders:
        raise Bad("empty", f"{sub.label} holds no exercise folders (nothing under workspace/). {_SUBMIT_AGAIN}")
    by_path = {ex.path: ex for ex in course.exercises}
    unknown = [f for f in folders if f not in by_path]
    theirs = sub.manifest.get("course") if isinstance(sub.manifest.get("course"), dict) else {}
    fingerprint, made = theirs.get("fingerprint"), unpack.show(str(theirs.get("version") or "unknown"), 40)
    same, ours = fingerprint == layout.course_fingerprint(course), layout.course_version()
    if unknown and not same:
        raise Bad("other-course", f"{sub.label} was made with another course: {unpack.show(unknown[0])} is no "
                  f"exercise of this one (it says course version {made}; this grader has {ours}). Grade it with "
                  "the course it was made for, or ask the learner to move their work into a workspace of this "
                  "course and submit again.")
    if unknown:
        sub.warnings.append("Not graded: folders that are no exercise of this course: "
                            + ", ".join(map(unpack.show, unknown[:5])) + ".")
    if fingerprint is not None and same and made != ours:
        sub.warnings.append(f"Made with course version {made}, graded with {ours} (the same exercises).")
    elif fingerprint is not None and not same:
        sub.warnings.append(f"Made with course version {made}, whose exercises differ from this course's "
                            f"({ours}); every exercise folder in it is one of this course's, so it is graded.")
    sub.exercises = [ex.id for ex in course.exercises if ex.path in folders]


def _read_manifest(root: Path, label: str) -> dict:
    path = root / layout.MANIFEST
    if not path.is_file():
        raise Bad("bad-manifest", f"{label} has no submission.json (the manifest `flowcamp submit` writes), so it "
                  f"is not a finished submission. {_SUBMIT_AGAIN}")
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except ValueError:
        raise Bad("bad-manifest", f"{label}: its submission.json is not valid JSON (damaged, or edited by hand). "
                  f"{_SUBMIT_AGAIN}") from None
    problems = layout.manifest_problems(data)
    if not problems:
        return data
    fmt = data.get("format") if isinstance(data, dict) else None
    if isinstance(fmt, int) and not isinstance(fmt, bool) and fmt > layout.FORMAT:
        course = data.get("course") if isinstance(data.get("course"), dict) else {}
        made = unpack.show(str(course.get("version") or "unknown"), 40)
        raise Bad("bad-manifest", f"{label} was made by a newer flowcamp (course version {made}, submission format "
                  f"{fmt}); this one ({layout.course_version()}) reads format {layout.FORMAT}. Update the course "
                  "(`git pull` in the course folder, then `uv sync`) and grade again.")
    raise Bad("bad-manifest", f"{label}: its submission.json is not one flowcamp wrote ("
              + unpack.show("; ".join(problems), 300) + f"). {_SUBMIT_AGAIN}")
