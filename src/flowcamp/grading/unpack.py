"""Unpacking untrusted archives and folders safely, for intake (:mod:`.intake`).

Nothing here uses ``extractall`` or follows a link. Each member of an archive (or file of a folder) becomes an
:class:`Entry` (headers only); :func:`write_all` checks every name, link and declared size before it writes
anything, then writes, counting bytes against the layout's limits, never through a link, and finally proves
that every link it made stays inside its exercise folder. Problems become :class:`Bad` (a status and a message
in plain words for the instructor).
"""

from __future__ import annotations

import os
import posixpath
import re
import stat
import tarfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from flowcamp.grading import layout

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")
FOLDER_NAME = re.compile(r"^\d\d-[a-z0-9-]+$")  # NN-name: a workspace's module and exercise folders
_DRIVE = re.compile(r"^[A-Za-z]:")
READ_ERRORS = (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error, OSError, RuntimeError,
               NotImplementedError, ValueError)


class Bad(Exception):
    """What makes a submission unusable: a status from BAD_STATUSES and a message for the instructor."""

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class Entry:
    """One member of an archive or one file of a folder, before anything is written."""

    name: str  # its path in the source, "/"-separated (may hold surrogates: names that were not UTF-8)
    type: str  # file, dir, symlink, hardlink (target = another member's name), other (device, fifo)
    size: int = 0
    mode: int = 0o644
    target: str = ""
    open: Callable | None = None


@dataclass
class Budget:
    """Files and bytes of one submission, against the layout's limits: declared ones, then written ones."""

    files: int = 0
    declared: int = 0
    written: int = 0
    left_out: list[str] = field(default_factory=list)  # names not unpacked: outside the layout, excluded, special
    links_out: list[str] = field(default_factory=list)  # links of a folder that point out of it, not copied


# ------------------------------------------------------------------------------------------ archives
class read_archive:
    """``with read_archive(path, label) as entries``: the members of a zip or tar file (headers only); a
    damaged archive becomes the "corrupt" status, here and while its members are read."""

    def __init__(self, path: Path, label: str):
        self.path, self.label, self.handle = path, label, None

    def __enter__(self) -> list[Entry]:
        name = self.path.name.lower()
        try:
            is_tar = name.endswith(ARCHIVE_SUFFIXES[1:])
            if name.endswith(".zip") or (not is_tar and zipfile.is_zipfile(self.path)):
                self.handle = zipfile.ZipFile(self.path)
                return _zip_entries(self.handle)
            if not is_tar and not _is_tar(self.path):
                raise Bad("not-a-submission", f"{self.label} is not an archive flowcamp can read (.zip, .tar, "
                          ".tar.gz, .tgz). Ask the learner to hand in the file `uv run flowcamp submit` makes.")
            self.handle = tarfile.open(self.path, "r:*", encoding="utf-8", errors="surrogateescape")
            return _tar_entries(self.handle, self.label)
        except READ_ERRORS as e:
            raise _corrupt(self.label, e) from None

    def __exit__(self, kind, error, tb) -> None:
        if self.handle is not None:
            self.handle.close()
        if error is not None and isinstance(error, READ_ERRORS) and not isinstance(error, Bad):
            raise _corrupt(self.label, error) from None


def _corrupt(label: str, error: BaseException) -> Bad:
    detail = show(str(error) or type(error).__name__)
    return Bad("corrupt", f"{label} is damaged or cut short ({detail}), so it cannot be unpacked. Ask the learner "
               "to hand it in again (run `uv run flowcamp submit` and upload the new file whole).")


def _is_tar(path: Path) -> bool:
    try:
        return tarfile.is_tarfile(path)
    except READ_ERRORS:
        return False


def _zip_entries(zf: zipfile.ZipFile) -> list[Entry]:
    out = []
    for info in zf.infolist():
        name = info.filename
        if not info.flag_bits & 0x800:  # no UTF-8 flag: the name's raw bytes, read as UTF-8 if they are
            raw = name.encode("cp437")
            name = raw.decode("utf-8", "surrogateescape")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            target = zf.read(info).decode("utf-8", "surrogateescape") if info.file_size <= 4096 else "/" * 4097
            out.append(Entry(name, "symlink", target=target))
        elif info.is_dir():
            out.append(Entry(name, "dir"))
        elif mode and not stat.S_ISREG(mode):
            out.append(Entry(name, "other"))
        else:
            out.append(Entry(name, "file", info.file_size, mode, open=lambda i=info: zf.open(i)))
    return out


def _tar_entries(tf: tarfile.TarFile, label: str) -> list[Entry]:
    out: list[Entry] = []
    try:
        for m in tf:  # headers only: tarfile seeks over the data
            out.append(_tar_entry(tf, m))
    except tarfile.ReadError:
        if out and out[-1].size > layout.MAX_FILE_BYTES:  # a huge member with nothing behind its header
            check_size(label, out[-1].name, out[-1].size, out[-1].size, len(out))
        raise
    return out


def _tar_entry(tf: tarfile.TarFile, m: tarfile.TarInfo) -> Entry:
    if m.isreg():
        return Entry(m.name, "file", m.size, m.mode, open=lambda: tf.extractfile(m))
    if m.isdir():
        return Entry(m.name, "dir")
    if m.issym() or m.islnk():
        return Entry(m.name, "symlink" if m.issym() else "hardlink", target=m.linkname)
    return Entry(m.name, "other")


# ------------------------------------------------------------------------------------------ names
def show(name: str, limit: int = 120) -> str:
    """A name as it can be printed: bytes that were not UTF-8 and control characters escaped."""
    try:
        raw = name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that stands for no byte (from JSON, say)
        raw = name.encode("utf-8", "backslashreplace")
    text = raw.decode("utf-8", "backslashreplace")
    text = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)
    return text if len(text) <= limit else text[:limit] + "..."


def clean_all(entries: list[Entry], label: str) -> list[str]:
    bad = [e.name for e in entries if any(not c.isprintable() or "\udc80" <= c <= "\udcff" for c in e.name)]
    if bad:
        raise Bad("bad-names", f"{label} has file names that are not plain UTF-8 text (bytes that are not UTF-8, "
                  f"or control characters): {', '.join(map(show, bad[:5]))}{' and more' if len(bad) > 5 else ''}. "
                  "Ask the learner to rename them with plain letters and submit again.")
    return [clean(e.name, label) for e in entries]


def clean(name: str, label: str, status: str = "unsafe-path") -> str:
    """A member's path made relative and "/"-separated; one that would land outside the submission (absolute,
    a drive letter, backslashes, ``..``) is refused, and the whole archive with it."""
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if name.startswith(("/", "\\")) or "\\" in name or _DRIVE.match(name) or ".." in parts:
        what = "a file that would be written" if status == "unsafe-path" else "a link that points"
        raise Bad(status, f"{label} has {what} outside the submission ({show(name)}), so nothing of it was "
                  "unpacked. Ask the learner to make the archive again with `uv run flowcamp submit`.")
    return "/".join(parts)


def _box(rel: str) -> str:
    """The folder a link at ``rel`` must stay in: its exercise folder (workspace/<module>/<topic>)."""
    parts = rel.split("/")
    return "/".join(parts[:3]) if parts[0] == layout.WORKSPACE_DIR and len(parts) >= 4 else ""


def link_leaves(rel: str, target: str) -> bool:
    """Decided on the words alone (what is on disk is checked after writing): does the link leave its box?"""
    if not target or "\\" in target or "\0" in target:
        return True
    box = _box(rel)
    if box:
        return not layout.link_stays_inside(Path(rel[len(box) + 1:]), target)
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(rel), target))
    return target.startswith("/") or bool(_DRIVE.match(target)) or resolved == ".." or resolved.startswith("../")


def unsafe_link(label: str, rel: str, target: str) -> Bad:
    return Bad("unsafe-link", f"{label} has a link that points outside its exercise folder ({show(rel)} -> "
               f"{show(target)}), so it was not unpacked. Ask the learner to put the file itself there instead "
               "of a link, and submit again.")


# ------------------------------------------------------------------------------------------ writing
def write_all(entries: list[Entry], names: list[str], kept: list[str | None], root: Path, budget: Budget,
               label: str) -> None:
    """Check every kept entry (paths, links, sizes) before writing any; then write them, counting bytes."""
    plan, seen = [], set()
    for e, rel in zip(entries, kept):
        if rel is None or e.type == "other":
            if e.type != "dir":
                budget.left_out.append(e.name)
            continue
        if e.type != "dir" and rel in seen:
            raise Bad("unsafe-path", f"{label} holds {show(rel)} twice, so it was not unpacked. Ask the learner "
                      "to make the archive again with `uv run flowcamp submit`.")
        seen.add(rel)
        if e.type == "symlink" and link_leaves(rel, e.target):
            raise unsafe_link(label, rel, e.target)
        if e.type == "hardlink":
            clean(e.target, label, "unsafe-link")  # one that leaves the archive is refused
        if e.type in ("file", "hardlink"):
            budget.files += 1
            budget.declared += e.size
            check_size(label, rel, e.size, budget.declared, budget.files)
        plan.append((e, rel))
    by_name, made = dict(zip(names, kept)), set()
    for e, rel in plan:
        _write_one(e, rel, root, budget, label, by_name, made)
    for e, rel in plan:
        if e.type == "symlink":
            real, box = os.path.realpath(root / rel), os.path.realpath(root / _box(rel))
            if real != box and not real.startswith(box + os.sep):
                raise unsafe_link(label, rel, e.target)


def check_size(label: str, rel: str, size: int, total: int, files: int) -> None:
    mb = 1024 * 1024
    if size > layout.MAX_FILE_BYTES:
        raise Bad("too-large", f"{label}: {show(rel)} is {size / mb:,.0f} MB, over the limit of "
                  f"{layout.MAX_FILE_BYTES // mb} MB a file, so nothing was unpacked. Ask the learner to remove it "
                  "(data exports and warehouses do not belong in a submission) and submit again.")
    if total > layout.MAX_TOTAL_BYTES or files > layout.MAX_FILES:
        raise Bad("too-large", f"{label} is too big ({files:,} files, {total / mb:,.0f} MB; the limits are "
                  f"{layout.MAX_FILES:,} files and {layout.MAX_TOTAL_BYTES // mb} MB), so nothing more was "
                  "unpacked. Ask the learner what they added (data, a virtual environment) and to submit again "
                  "without it.")


def _write_one(e: Entry, rel: str, root: Path, budget: Budget, label: str, by_name: dict, made: set) -> None:
    """Write one planned entry; ``made`` holds the folders already made or checked (they stay real folders)."""
    parts = rel.split("/")
    for i in range(1, len(parts) + (e.type == "dir")):  # its folders first (and itself, for a folder)
        folder = "/".join(parts[:i])
        if folder not in made:
            _real_dir(root / folder, label, rel)
            made.add(folder)
    path = root / rel
    if e.type == "symlink":
        os.symlink(e.target, path)
    elif e.type == "file":
        _copy_counted(e.open, path, e.mode, budget, label, rel)
    elif e.type == "hardlink":  # a copy of a member written before (never a link to anything)
        source = by_name.get(clean(e.target, label, "unsafe-link"))
        if source is None or not (root / source).is_file() or (root / source).is_symlink():
            budget.left_out.append(e.name)
            return
        _copy_counted(lambda: open_nofollow(root / source), path, e.mode, budget, label, rel)


def _real_dir(path: Path, label: str, rel: str) -> None:
    """Make a folder, refusing to go through a link or a file that an earlier member put there."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        os.mkdir(path)
        return
    if stat.S_ISLNK(st.st_mode):
        raise unsafe_link(label, rel, os.readlink(path))
    if not stat.S_ISDIR(st.st_mode):
        raise Bad("unsafe-path", f"{label} has {show(rel)} inside something that is a file. Ask the learner to "
                  "make the archive again with `uv run flowcamp submit`.")


def open_nofollow(path: Path):
    return os.fdopen(os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)), "rb")


def _copy_counted(opener: Callable, path: Path, mode: int, budget: Budget, label: str, rel: str) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    with opener() as src, os.fdopen(os.open(path, flags, 0o755 if mode & 0o111 else 0o644), "wb") as out:
        n = 0
        while chunk := src.read(1 << 20):
            n += len(chunk)
            budget.written += len(chunk)
            if n > layout.MAX_FILE_BYTES or budget.written > layout.MAX_TOTAL_BYTES:
                check_size(label, rel, n, budget.written, budget.files)
            out.write(chunk)


def exercise_dirs(base: Path, strict: bool) -> list[str]:
    """"module/topic" for each real (not linked) folder two levels under ``base``; NN-named ones when strict."""
    out = []
    for m in sorted(base.iterdir()) if base.is_dir() and not base.is_symlink() else []:
        if m.is_dir() and not m.is_symlink() and (not strict or FOLDER_NAME.match(m.name)):
            out += [f"{m.name}/{t.name}" for t in sorted(m.iterdir())
                    if t.is_dir() and not t.is_symlink() and (not strict or FOLDER_NAME.match(t.name))]
    return out


def folder_entries(folder: Path, prefix: str) -> list[Entry]:
    """An exercise folder as entries (its folders, then layout.exercise_files), named ``prefix/rel``. Links
    are carried as links, never followed."""
    dirs = []
    for here, names, _ in os.walk(folder):  # folders too: git needs some (.git/refs) even when empty
        rel_here = Path(here).relative_to(folder)
        names[:] = [n for n in sorted(names) if not layout.excluded(rel_here / n)]
        dirs += [rel_here / n for n in names if not (Path(here) / n).is_symlink()]
    rels = dirs + layout.exercise_files(folder)
    out = [Entry(prefix, "dir")]
    for rel in rels:
        p, name = folder / rel, f"{prefix}/{rel.as_posix()}"
        st = os.lstat(p)
        if stat.S_ISLNK(st.st_mode):
            out.append(Entry(name, "symlink", target=os.readlink(p)))
        elif stat.S_ISDIR(st.st_mode):
            out.append(Entry(name, "dir"))
        elif stat.S_ISREG(st.st_mode):
            out.append(Entry(name, "file", st.st_size, st.st_mode, open=lambda p=p: open_nofollow(p)))
        else:
            out.append(Entry(name, "other"))
    return out


def repair_git_dirs(root: Path) -> None:
    """git needs refs/ and objects/ even when empty (all refs packed); copies of files alone lose empty folders."""
    for dirpath, dirnames, filenames in os.walk(root / layout.WORKSPACE_DIR):
        if "HEAD" in filenames and ("config" in filenames or "packed-refs" in filenames) and "objects" in dirnames:
            for d in ("refs/heads", "refs/tags", "objects/info", "objects/pack"):
                if not any(Path(dirpath, p).is_symlink() for p in ("refs", "objects", d)):
                    os.makedirs(Path(dirpath, d), exist_ok=True)
