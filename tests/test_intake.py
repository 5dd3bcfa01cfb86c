"""Intake for `flowcamp grade`: every kind of SOURCE becomes a clean unpacked submission, and every bad one a
clear status, with nothing written outside the folder it was given and nothing of a submission run.

Every archive is built here, small (the 2 GB member is a tar header with no data behind it)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from flowcamp import proc
from flowcamp.grading import intake, layout, unpack

CODE_EX = "00-orientation/01-check-loop"  # id check-loop
GIT_EX = "01-version-control/02-read-history"  # id read-history, repository "pipeline"
QUERY = b"print('select 1')\n"


# ------------------------------------------------------------------------------------------ builders
def manifest_for(c, **changes) -> dict:
    m = {"format": layout.FORMAT, "kind": layout.KIND, "created": "2026-12-03T10:00:00+00:00",
         "learner": {"name": "Ada Lovelace", "email": "ada@example.org"},
         "course": {"version": layout.course_version(), "fingerprint": layout.course_fingerprint(c)},
         "workspace_seed": 1234, "progress": {"exercises": {"check-loop": {"passed": True}}},
         "exercises": {"check-loop": {"path": CODE_EX, "files": {}}, "read-history": {"path": GIT_EX, "files": {}}}}
    m.update(changes)
    return m


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", "-c", "user.name=Ada", "-c", "user.email=ada@example.org", "-c",
                           "commit.gpgsign=false", *args], cwd=cwd, capture_output=True, text=True,
                          env=proc.git_env(), check=True)
    return done.stdout


def make_repo(path: Path, files: dict[str, str] | None = None) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    for name, text in (files or {"query.sql": "select 1;\n"}).items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text, encoding="utf-8")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "First commit")
    git(path, "pack-refs", "--all")  # refs/heads and refs/tags are now empty folders
    return path


def tree_items(folder: Path, prefix: str) -> list[tuple]:
    """A folder as archive items (folders included), named prefix/..."""
    items = [(prefix + "/", "dir", None)]
    for here, dirs, files in os.walk(folder):
        dirs.sort()
        rel = Path(here).relative_to(folder).as_posix()
        base = prefix if rel == "." else f"{prefix}/{rel}"
        items += [(f"{base}/{d}/", "dir", None) for d in dirs]
        items += [(f"{base}/{f}", "file", (Path(here) / f).read_bytes()) for f in sorted(files)]
    return items


def good_items(course, tmp_path: Path, manifest: dict | None = None, repo: bool = True) -> list[tuple]:
    items = [("submission.json", "file", json.dumps(manifest or manifest_for(course)).encode()),
             (f"workspace/{CODE_EX}/", "dir", None),
             (f"workspace/{CODE_EX}/first_query.py", "file", QUERY),
             (f"workspace/{CODE_EX}/same_query.py", "symlink", "first_query.py"),
             (f"workspace/{GIT_EX}/answers.toml", "file", b'author = "Ada"\n')]
    if repo:
        items += tree_items(make_repo(tmp_path / "pipeline-src"), f"workspace/{GIT_EX}/pipeline")
    return items


def write_zip(path: Path, items: list[tuple]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, kind, data, *mode in items:
            info = zipfile.ZipInfo(name, layout.ZIP_DATE)
            kind_bits = {"dir": stat.S_IFDIR | 0o755, "symlink": stat.S_IFLNK | 0o777}
            info.external_attr = kind_bits.get(kind, stat.S_IFREG | (mode[0] if mode else 0o644)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data.encode() if isinstance(data, str) else (data or b""))
    return path


def write_tar(path: Path, items: list[tuple], mode: str = "w:gz") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, mode, format=tarfile.GNU_FORMAT, encoding="utf-8", errors="surrogateescape") as tf:
        for name, kind, data, *extra in items:
            info = tarfile.TarInfo(name)
            if kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tf.addfile(info)
            elif kind in ("symlink", "hardlink"):
                info.type, info.linkname = (tarfile.SYMTYPE if kind == "symlink" else tarfile.LNKTYPE), data
                tf.addfile(info)
            elif kind == "fifo":
                info.type = tarfile.FIFOTYPE
                tf.addfile(info)
            else:
                info.size, info.mode = len(data), (extra[0] if extra else 0o644)
                tf.addfile(info, io.BytesIO(data))
    return path


def open_it(source, tmp_path: Path, course, name: str = "dest") -> intake.Submission:
    """open_source into tmp_path/out/<name>, proving that nothing was written anywhere else under tmp_path."""
    dest = tmp_path / "out" / name
    dest.mkdir(parents=True)
    before = snapshot(tmp_path, dest)
    sub = intake.open_source(str(source), dest, course)
    assert snapshot(tmp_path, dest) == before
    assert sub.root is None or sub.root == dest / intake.LAYOUT_DIR
    return sub


def snapshot(base: Path, skip: Path) -> set[str]:
    out = set()
    for here, dirs, files in os.walk(base):
        if Path(here) == skip or skip in Path(here).parents:
            continue
        out |= {os.path.join(here, n) for n in dirs + files}
    return out


# ------------------------------------------------------------------------------------------ good sources
def check_good(sub: intake.Submission, course) -> None:
    assert sub.status == "ok", sub.message
    assert sub.message == "" and sub.root is not None
    assert sub.exercises == ["check-loop", "read-history"]
    ex = sub.root / "workspace" / CODE_EX
    assert (ex / "first_query.py").read_bytes() == QUERY
    assert (ex / "same_query.py").is_symlink() and os.readlink(ex / "same_query.py") == "first_query.py"
    repo = sub.root / "workspace" / GIT_EX / "pipeline"
    assert git(repo, *proc.SAFE_GIT_CONFIG, "log", "--format=%s").strip() == "First commit"  # its whole .git
    assert sub.hash == layout.tree_hash(sub.root)
    assert sorted(p.name for p in sub.root.iterdir()) == ["submission.json", "workspace"]


def test_a_good_zip(course, tmp_path):
    items = good_items(course, tmp_path) + [("notes.txt", "file", b"not graded"),
                                            (f"workspace/{CODE_EX}/.env", "file", b"TOKEN=x"),
                                            (f"workspace/{CODE_EX}/__pycache__/a.pyc", "file", b"\0"),
                                            (f"workspace/{CODE_EX}/warehouse.duckdb", "file", b"db")]
    sub = open_it(write_zip(tmp_path / "ada.zip", items), tmp_path, course)
    check_good(sub, course)
    assert sub.label == "ada.zip" and sub.manifest["learner"]["name"] == "Ada Lovelace"
    ex = sub.root / "workspace" / CODE_EX
    assert not (ex / ".env").exists() and not (ex / "__pycache__").exists() and not (ex / "warehouse.duckdb").exists()
    assert any("notes.txt" in w and ".env" in w for w in sub.warnings)
    again = open_it(tmp_path / "ada.zip", tmp_path, course, "again")
    assert again.hash == sub.hash


def test_a_good_tar_gz_and_a_nested_zip_and_an_unpacked_folder_give_the_same_work(course, tmp_path):
    items = good_items(course, tmp_path)
    by_zip = open_it(write_zip(tmp_path / "ada.zip", items), tmp_path, course, "zip")
    by_tar = open_it(write_tar(tmp_path / "ada.tar.gz", items), tmp_path, course, "tar")
    nested = [(f"ada-submission/{n}", *rest) for n, *rest in items] + [("__MACOSX/._x", "file", b"")]
    by_nested = open_it(write_zip(tmp_path / "rezipped.zip", nested), tmp_path, course, "nested")
    by_folder = open_it(by_zip.root, tmp_path, course, "folder")
    for sub in (by_zip, by_tar, by_nested, by_folder):
        check_good(sub, course)
    assert by_zip.hash == by_tar.hash == by_nested.hash == by_folder.hash


def test_an_older_version_of_the_same_course_is_a_warning(course, tmp_path):
    m = manifest_for(course, course={"version": "0.0.1", "fingerprint": layout.course_fingerprint(course)})
    sub = open_it(write_zip(tmp_path / "old.zip", good_items(course, tmp_path, m)), tmp_path, course)
    assert sub.status == "ok"
    assert any("0.0.1" in w and layout.course_version() in w for w in sub.warnings)


def test_another_course_whose_folders_are_all_this_courses_is_graded_with_a_warning(course, tmp_path):
    m = manifest_for(course, course={"version": "0.0.9", "fingerprint": "0" * 16})
    sub = open_it(write_zip(tmp_path / "other.zip", good_items(course, tmp_path, m, repo=False)), tmp_path, course)
    assert sub.status == "ok" and any("0.0.9" in w for w in sub.warnings)


def test_a_folder_that_is_no_exercise_of_this_course_is_another_course(course, tmp_path):
    m = manifest_for(course, course={"version": "9.0.0", "fingerprint": "0" * 16})
    items = good_items(course, tmp_path, m, repo=False) + [("workspace/09-spark/01-rdds/x.py", "file", b"x")]
    sub = open_it(write_zip(tmp_path / "spark.zip", items), tmp_path, course)
    assert sub.status == "other-course"
    assert "09-spark/01-rdds" in sub.message and "9.0.0" in sub.message and layout.course_version() in sub.message
    assert sub.manifest["learner"]["name"] == "Ada Lovelace"  # who it was is still known


# ------------------------------------------------------------------------------------------ bad archives
def zip_with_raw_name(path: Path) -> Path:
    """A zip without the UTF-8 flag whose name holds bytes that are not UTF-8."""
    items = [("submission.json", "file", b"{}"), (f"workspace/{CODE_EX}/QQ.py", "file", b"x")]
    data = write_zip(path, items).read_bytes().replace(b"QQ.py", b"\xff\xfe.py")
    path.write_bytes(data)
    return path


def lying_zip(path: Path) -> Path:
    """A member whose headers say 10 bytes while its data holds 100 000."""
    body = b"A" * 100_000
    data = write_zip(path, [("submission.json", "file", b"{}"), (f"workspace/{CODE_EX}/a.py", "file", body)])
    raw = data.read_bytes().replace(len(body).to_bytes(4, "little"), (10).to_bytes(4, "little"))
    path.write_bytes(raw)
    return path


def two_gb_tar(path: Path) -> Path:
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as tf:
        tf.addfile(tarfile.TarInfo("submission.json"), io.BytesIO(b""))
        big = tarfile.TarInfo(f"workspace/{CODE_EX}/export.csv")
        big.size = 2 * 1024 ** 3
        tf.addfile(big)  # the header alone: no data behind it
    return path


def bomb_zip(path: Path) -> Path:
    return write_zip(path, [("submission.json", "file", b"{}"),
                            (f"workspace/{CODE_EX}/zeros.bin", "file", b"\0" * (layout.MAX_FILE_BYTES + 1024))])


def truncated(path: Path, good: Path) -> Path:
    data = good.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def ok_zip(tmp: Path) -> Path:
    return write_zip(tmp / "whole.zip", [("submission.json", "file", b"{}"),
                                        (f"workspace/{CODE_EX}/a.py", "file", os.urandom(20_000))])


BAD = {
    "random bytes": ("corrupt", lambda t: (t / "junk.zip").write_bytes(os.urandom(3000)) and t / "junk.zip"),
    "truncated zip": ("corrupt", lambda t: truncated(t / "cut.zip", ok_zip(t))),
    "truncated tar.gz": ("corrupt", lambda t: truncated(t / "cut.tar.gz", write_tar(
        t / "whole.tar.gz", [("submission.json", "file", b"{}"), ("workspace/a/b/c", "file", os.urandom(40_000))]))),
    "truncated tar": ("corrupt", lambda t: truncated(t / "cut.tar", write_tar(
        t / "whole.tar", [("submission.json", "file", b"{}"), ("workspace/a/b/c", "file", os.urandom(40_000))], "w"))),
    "zero bytes": ("empty", lambda t: (t / "none.zip").write_bytes(b"") or t / "none.zip"),
    "empty zip": ("empty", lambda t: write_zip(t / "empty.zip", [])),
    "empty tar": ("empty", lambda t: write_tar(t / "empty.tar", [], "w")),
    "no manifest, no workspace": ("not-a-submission", lambda t: write_zip(t / "n.zip", [("notes.txt", "file", b"x")])),
    "not an archive": ("not-a-submission", lambda t: (t / "essay.txt").write_text("hi") and t / "essay.txt"),
    "zip-slip ../": ("unsafe-path", lambda t: write_zip(t / "s.zip", [("submission.json", "file", b"{}"),
                                                                     ("../../../../evil.txt", "file", b"x")])),
    "zip-slip inside workspace": ("unsafe-path", lambda t: write_zip(t / "s2.zip", [
        ("submission.json", "file", b"{}"), ("workspace/../../../../../evil.txt", "file", b"x")])),
    "zip absolute": ("unsafe-path", lambda t: write_zip(t / "abs.zip", [("submission.json", "file", b"{}"),
                                                                       (str(t / "evil-abs.txt"), "file", b"x")])),
    "zip backslashes": ("unsafe-path", lambda t: write_zip(t / "bs.zip", [
        ("submission.json", "file", b"{}"), ("workspace\\..\\..\\evil.txt", "file", b"x")])),
    "zip drive letter": ("unsafe-path", lambda t: write_zip(t / "c.zip", [("C:/evil.txt", "file", b"x")])),
    "tar-slip": ("unsafe-path", lambda t: write_tar(t / "s.tar.gz", [("submission.json", "file", b"{}"),
                                                                    ("../../../../evil.txt", "file", b"x")])),
    "zip symlink out": ("unsafe-link", lambda t: write_zip(t / "l.zip", [
        ("submission.json", "file", b"{}"), (f"workspace/{CODE_EX}/passwd", "symlink", "../../../../etc/passwd")])),
    "tar symlink out (absolute)": ("unsafe-link", lambda t: write_tar(t / "l.tar.gz", [
        ("submission.json", "file", b"{}"), (f"workspace/{CODE_EX}/passwd", "symlink", "/etc/passwd")])),
    "tar symlink to another exercise": ("unsafe-link", lambda t: write_tar(t / "l2.tar.gz", [
        ("submission.json", "file", b"{}"), (f"workspace/{CODE_EX}/x", "symlink", f"../../../{GIT_EX}")])),
    "tar symlink then a file through it": ("unsafe-link", lambda t: write_tar(t / "l3.tar", [
        ("submission.json", "file", b"{}"), (f"workspace/{CODE_EX}/d", "symlink", "."),
        (f"workspace/{CODE_EX}/d/l", "symlink", "../.."), (f"workspace/{CODE_EX}/d/l/d/evil", "file", b"x")], "w")),
    "tar symlinks that climb out together": ("unsafe-link", lambda t: write_tar(t / "l4.tar", [
        ("submission.json", "file", b"{}"), (f"workspace/{CODE_EX}/l1", "symlink", "."),
        (f"workspace/{CODE_EX}/d/", "dir", None), (f"workspace/{CODE_EX}/d/l2", "symlink", "../l1/..")], "w")),
    "tar links chained to climb out of dest": ("unsafe-link", lambda t: write_tar(t / "l5.tar", [
        ("submission.json", "file", b"{}"), (f"workspace/{CODE_EX}/a", "symlink", "."),
        (f"workspace/{CODE_EX}/a/u", "symlink", ".."), (f"workspace/{CODE_EX}/a/u/v", "symlink", "../.."),
        (f"workspace/{CODE_EX}/a/u/v/w", "symlink", "../../.."),
        (f"workspace/{CODE_EX}/a/u/v/w/evil.txt", "file", b"x")], "w")),
    "tar hardlink out": ("unsafe-link", lambda t: write_tar(t / "h.tar.gz", [
        ("submission.json", "file", b"{}"), (f"workspace/{CODE_EX}/shadow", "hardlink", "../../../../etc/shadow")])),
    "tar hardlink absolute": ("unsafe-link", lambda t: write_tar(t / "h2.tar", [
        ("submission.json", "file", b"{}"), (f"workspace/{CODE_EX}/shadow", "hardlink", "/etc/shadow")], "w")),
    "2 GB declared": ("too-large", lambda t: two_gb_tar(t / "big.tar")),
    "zip bomb": ("too-large", lambda t: bomb_zip(t / "bomb.zip")),
    "lying zip header": ("corrupt", lambda t: lying_zip(t / "lie.zip")),
    "tar names not UTF-8": ("bad-names", lambda t: write_tar(t / "n.tar.gz", [
        ("submission.json", "file", b"{}"), (f"workspace/{CODE_EX}/caf\udce9.py", "file", b"x")])),
    "zip names not UTF-8": ("bad-names", lambda t: zip_with_raw_name(t / "n.zip")),
    "a name with a newline": ("bad-names", lambda t: write_zip(t / "nl.zip", [
        ("submission.json", "file", b"{}"), (f"workspace/{CODE_EX}/a\nb.py", "file", b"x")])),
    "a member twice": ("unsafe-path", lambda t: write_tar(t / "twice.tar", [
        ("submission.json", "file", b"{}"), (f"workspace/{CODE_EX}/a.py", "file", b"1"),
        (f"workspace/{CODE_EX}/a.py", "symlink", "/etc/passwd")], "w")),
    "no manifest": ("bad-manifest", lambda t: write_zip(t / "m0.zip", [(f"workspace/{CODE_EX}/a.py", "file", b"x")])),
    "manifest not JSON": ("bad-manifest", lambda t: write_zip(t / "m1.zip", [
        ("submission.json", "file", b"{not json"), (f"workspace/{CODE_EX}/a.py", "file", b"x")])),
    "manifest of another kind": ("bad-manifest", lambda t: write_zip(t / "m2.zip", [
        ("submission.json", "file", b'{"kind": "nbgrader", "format": 1}'),
        (f"workspace/{CODE_EX}/a.py", "file", b"x")])),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_archive_gets_its_status_and_nothing_is_written_outside_dest(course, tmp_path, case):
    status, build = BAD[case]
    (tmp_path / "in").mkdir()
    source = build(tmp_path / "in")
    dest = tmp_path / "a" / "b" / "c" / "dest"
    dest.mkdir(parents=True)
    before = snapshot(tmp_path, dest)
    sub = intake.open_source(str(source), dest, course)
    assert (sub.status, case) == (status, case), sub.message
    assert sub.root is None and sub.exercises == [] and sub.message
    assert "Traceback" not in sub.message and "\n" not in sub.message
    assert sub.hash == hashlib.sha256(Path(source).read_bytes()).hexdigest()
    assert snapshot(tmp_path, dest) == before  # nothing written outside dest
    assert list(dest.iterdir()) == []  # and nothing of a bad submission left in it
    assert not Path("/etc/evil.txt").exists()


def test_a_good_manifest_from_a_newer_flowcamp_says_to_update(course, tmp_path):
    m = manifest_for(course, format=layout.FORMAT + 1, course={"version": "9.9.9", "fingerprint": "x"})
    sub = open_it(write_zip(tmp_path / "new.zip", good_items(course, tmp_path, m, repo=False)), tmp_path, course)
    assert sub.status == "bad-manifest"
    assert "9.9.9" in sub.message and "newer" in sub.message and "git pull" in sub.message


def test_non_utf8_names_are_named_escaped(course, tmp_path):
    sub = open_it(BAD["zip names not UTF-8"][1](tmp_path), tmp_path, course)
    assert "\\xff\\xfe.py" in sub.message


def test_too_many_files_and_bytes_counted_while_writing(course, tmp_path, monkeypatch):
    monkeypatch.setattr(layout, "MAX_FILES", 3)
    sub = open_it(write_zip(tmp_path / "many.zip", good_items(course, tmp_path, repo=False) + [
        (f"workspace/{CODE_EX}/{i}.py", "file", b"x") for i in range(3)]), tmp_path, course)
    assert sub.status == "too-large" and "3 files" in sub.message
    # A header that understates its size is stopped by the count, not by what it declared.
    monkeypatch.setattr(layout, "MAX_FILE_BYTES", 1000)
    entry = unpack.Entry("a.bin", "file", 10, open=lambda: io.BytesIO(b"x" * 5000))
    (tmp_path / "lie").mkdir()
    with pytest.raises(unpack.Bad) as bad:
        unpack.write_all([entry], ["a.bin"], ["a.bin"], tmp_path / "lie", unpack.Budget(), "lie.zip")
    assert bad.value.status == "too-large"


def test_links_are_checked_before_anything_is_written(tmp_path):
    entries = [unpack.Entry("workspace/a/b/ok.py", "file", 1, open=lambda: io.BytesIO(b"x")),
               unpack.Entry("workspace/a/b/out", "symlink", target="../../../..")]
    names = [e.name for e in entries]
    (tmp_path / "root").mkdir()
    with pytest.raises(unpack.Bad) as bad:
        unpack.write_all(entries, names, names, tmp_path / "root", unpack.Budget(), "l.zip")
    assert bad.value.status == "unsafe-link" and list((tmp_path / "root").iterdir()) == []


def test_devices_and_fifos_are_left_out(course, tmp_path):
    items = good_items(course, tmp_path, repo=False) + [(f"workspace/{CODE_EX}/pipe", "fifo", None)]
    sub = open_it(write_tar(tmp_path / "fifo.tar", items, "w"), tmp_path, course)
    assert sub.status == "ok" and not (sub.root / "workspace" / CODE_EX / "pipe").exists()
    assert any("pipe" in w for w in sub.warnings)


def test_a_link_inside_its_exercise_folder_and_a_hardlink_inside_are_kept(course, tmp_path):
    items = good_items(course, tmp_path, repo=False) + [
        (f"workspace/{CODE_EX}/sub/", "dir", None), (f"workspace/{CODE_EX}/sub/up", "symlink", "../first_query.py"),
        (f"workspace/{CODE_EX}/copy.py", "hardlink", f"workspace/{CODE_EX}/first_query.py")]
    sub = open_it(write_tar(tmp_path / "links.tar", items, "w"), tmp_path, course)
    assert sub.status == "ok", sub.message
    ex = sub.root / "workspace" / CODE_EX
    assert (ex / "sub" / "up").read_bytes() == QUERY
    assert (ex / "copy.py").read_bytes() == QUERY and not (ex / "copy.py").is_symlink()
    assert os.stat(ex / "copy.py").st_ino != os.stat(ex / "first_query.py").st_ino


# ------------------------------------------------------------------------------------------ workspace folders
def fake_workspace(tmp_path: Path, name: str = "ada") -> Path:
    ws = tmp_path / name
    (ws / ".flowcamp").mkdir(parents=True)
    (ws / ".flowcamp" / "workspace.json").write_text('{"version": 2, "seed": 99}')
    (ws / ".flowcamp" / "progress.json").write_text('{"exercises": {"check-loop": {"passed": true}}}')
    code = ws / CODE_EX
    code.mkdir(parents=True)
    (code / "first_query.py").write_bytes(QUERY)
    (code / ".env").write_text("API_TOKEN=not-for-graders\n")
    (code / "__pycache__").mkdir()
    (code / "__pycache__" / "first_query.cpython-311.pyc").write_bytes(b"\0")
    (ws / "warehouse.duckdb").write_bytes(b"db")
    (ws / GIT_EX).mkdir(parents=True)
    (ws / GIT_EX / "answers.toml").write_text('author = "Ada"\n')
    make_repo(ws / GIT_EX / "pipeline")
    (ws / ".git").mkdir()
    (ws / ".git" / "config").write_text(f'[core]\n\tfsmonitor = "touch {tmp_path}/MARKER"\n[user]\n'
                                        '\tname = Ada Lovelace\n\temail = ada@example.org\n')
    return ws


def test_a_workspace_folder_becomes_the_layout(course, tmp_path):
    ws = fake_workspace(tmp_path)
    sub = open_it(ws, tmp_path, course)
    assert sub.status == "ok", sub.message
    assert sub.exercises == ["check-loop", "read-history"]
    m = sub.manifest
    assert m["learner"] == {"name": "Ada Lovelace", "email": "ada@example.org"} and m["workspace_seed"] == 99
    assert m["progress"]["exercises"]["check-loop"]["passed"] is True
    assert m["exercises"]["check-loop"]["files"] == {"first_query.py": hashlib.sha256(QUERY).hexdigest()}
    assert json.loads((sub.root / "submission.json").read_text()) == m
    code = sub.root / "workspace" / CODE_EX
    assert not (code / ".env").exists() and not (code / "__pycache__").exists()
    assert not (sub.root / ".git").exists() and not (sub.root / "workspace" / ".git").exists()
    assert git(sub.root / "workspace" / GIT_EX / "pipeline", *proc.SAFE_GIT_CONFIG, "log", "--format=%s").strip() \
        == "First commit"
    assert not list(tmp_path.rglob("MARKER"))
    assert open_it(ws, tmp_path, course, "again").hash == sub.hash  # the same work, the same hash


def test_a_workspace_named_workspace_is_named_after_its_parent(course, tmp_path):
    ws = fake_workspace(tmp_path / "bob", "workspace")
    (ws / ".git" / "config").write_text("[core]\n\tbare = false\n")
    sub = open_it(ws, tmp_path, course)
    assert sub.label == "bob/workspace" and sub.manifest["learner"] == {"name": "bob", "email": ""}


def test_a_workspace_link_out_is_left_out_and_its_state_is_never_read_through_a_link(course, tmp_path):
    ws = fake_workspace(tmp_path)
    (ws / CODE_EX / "secrets").symlink_to(tmp_path)
    (ws / CODE_EX / "up").symlink_to("../../..")
    (ws / CODE_EX / "same.py").symlink_to("first_query.py")
    elsewhere = tmp_path / "elsewhere"
    shutil.move(ws / ".flowcamp", elsewhere)
    (ws / ".flowcamp").symlink_to(elsewhere)
    sub = open_it(ws, tmp_path, course)
    assert sub.status == "ok", sub.message
    code = sub.root / "workspace" / CODE_EX
    assert not (code / "secrets").exists() and not (code / "up").is_symlink() and (code / "same.py").is_symlink()
    assert any("secrets" in w and "up" in w for w in sub.warnings)
    assert sub.manifest["workspace_seed"] is None and sub.manifest["progress"] == {}


def test_a_real_workspace(course, make_workspace, tmp_path):
    ws = make_workspace(course)
    sub = open_it(ws.root, tmp_path, course)
    assert sub.status == "ok", sub.message
    assert sub.exercises == [ex.id for ex in course.exercises]
    assert sub.manifest["workspace_seed"] == 4242
    for ex in course.exercises:
        for repo in ex.repos:
            if not ((ws.root / ex.path / repo / ".git").is_dir() or (ws.root / ex.path / repo / "HEAD").is_file()):
                continue  # a folder the learner makes into a repository (first-repository)
            folder = sub.root / "workspace" / ex.path / repo
            done = subprocess.run(["git", *proc.SAFE_GIT_CONFIG, "-C", str(folder), "rev-parse", "HEAD"],
                                  capture_output=True, env=proc.git_env())
            assert done.returncode == 0, f"{ex.id}/{repo}: {done.stderr}"
    assert not list(sub.root.rglob("*.duckdb")) and not list(sub.root.rglob(".flowcamp"))


# ------------------------------------------------------------------------------------------ git repositories
def pushed_workspace(tmp_path: Path, course, snapshot: bool = True) -> Path:
    """A learner's workspace repository as `flowcamp submit --git` leaves it, and a bare copy of it (the remote)."""
    work = tmp_path / "ada-work"
    files = {f"{CODE_EX}/first_query.py": QUERY.decode(), f"{GIT_EX}/answers.toml": 'author = "Ada"\n',
             ".gitignore": f"/{GIT_EX}/pipeline/\n"}
    make_repo(work, files)
    if snapshot:
        snap = work / "submission"
        (snap / "repos" / "read-history").mkdir(parents=True)
        (snap / "manifest.json").write_text(json.dumps(manifest_for(course)))
        items = tree_items(make_repo(tmp_path / "pipeline-src"), "pipeline")
        write_tar(snap / "repos" / "read-history" / "pipeline.tar.gz", items)
        git(work, "add", "-A")
        git(work, "commit", "-q", "-m", "Submission")
    bare = tmp_path / "remote" / "ada.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    return bare


@pytest.mark.parametrize("how", ["bare path", "file url", "work tree"])
def test_a_git_repository_with_its_submission_folder(course, tmp_path, how):
    bare = pushed_workspace(tmp_path, course)
    source = {"bare path": str(bare), "file url": bare.as_uri(), "work tree": str(tmp_path / "ada-work")}[how]
    sub = open_it(source, tmp_path, course)
    check_layout = sub.root / "workspace"
    assert sub.status == "ok", sub.message
    assert sub.exercises == ["check-loop", "read-history"] and sub.warnings == []
    assert sub.manifest == manifest_for(course)
    assert (check_layout / CODE_EX / "first_query.py").read_bytes() == QUERY
    assert git(check_layout / GIT_EX / "pipeline", *proc.SAFE_GIT_CONFIG, "log", "--format=%s").strip() \
        == "First commit"
    assert not (sub.root / ".git").exists() and not (sub.root / "submission").exists()
    assert not (tmp_path / "out" / "dest" / intake.CLONE_DIR).exists()
    assert sub.label in ("ada", "ada-work")


def test_a_git_repository_without_its_submission_folder_is_graded_with_a_warning(course, tmp_path):
    bare = pushed_workspace(tmp_path, course, snapshot=False)
    sub = open_it(bare.as_uri(), tmp_path, course)
    assert sub.status == "ok", sub.message
    assert any("flowcamp submit --git" in w for w in sub.warnings)
    assert sub.manifest["learner"] == {"name": "Ada", "email": "ada@example.org"}
    assert sub.manifest["created"] and sub.manifest["workspace_seed"] is None
    assert open_it(bare.as_uri(), tmp_path, course, "again").hash == sub.hash


def test_a_clone_that_fails_says_what_git_said(course, tmp_path):
    sub = open_it((tmp_path / "nowhere.git").as_uri(), tmp_path, course)
    assert sub.status == "clone-failed"
    assert "nowhere.git" in sub.message and "does not appear to be a git repository" in sub.message
    assert not (tmp_path / "out" / "dest" / intake.LAYOUT_DIR).exists()


def test_a_malicious_repository_runs_nothing(course, tmp_path, monkeypatch):
    marker = tmp_path / "MARKER"
    # Even the instructor's own git config (templates, hooks) is left aside while cloning.
    templates, own_hooks = tmp_path / "templates", tmp_path / "own-hooks"
    for hooks in (templates / "hooks", own_hooks):
        hooks.mkdir(parents=True)
        (hooks / "post-checkout").write_text(f"#!/bin/sh\ntouch {marker}\n")
        (hooks / "post-checkout").chmod(0o755)
    (tmp_path / "gitconfig").write_text(f"[init]\n\ttemplateDir = {templates}\n[core]\n\thooksPath = {own_hooks}\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    work = make_repo(tmp_path / "evil", {f"{CODE_EX}/first_query.py": "x = 1\n", ".gitattributes": "* filter=evil\n",
                                         ".gitmodules": '[submodule "m"]\n\tpath = m\n\turl = ./m\n'})
    with open(work / ".git" / "config", "a") as f:
        f.write(f'[core]\n\tfsmonitor = "touch {marker}"\n\thooksPath = hooks\n'
                f'[filter "evil"]\n\tsmudge = "touch {marker}"\n\tclean = "touch {marker}"\n'
                f'[uploadpack]\n\tpackObjectsHook = "touch {marker}"\n')
    for hooks in (work / ".git" / "hooks", work / "hooks"):
        hooks.mkdir(exist_ok=True)
        for name in ("post-checkout", "post-merge", "pre-upload", "reference-transaction", "post-index-change"):
            (hooks / name).write_text(f"#!/bin/sh\ntouch {marker}\n")
            (hooks / name).chmod(0o755)
    for source in (str(work), work.as_uri(), str(work / ".git")):
        sub = open_it(source, tmp_path, course, hashlib.sha1(source.encode()).hexdigest()[:8])
        assert sub.status == "ok", sub.message
    (work / ".flowcamp").mkdir()
    (work / ".flowcamp" / "workspace.json").write_text("{}")  # the workspace route reads its config as text
    assert open_it(work, tmp_path, course, "as-workspace").status == "ok"
    assert not marker.exists()


def test_a_clone_that_takes_too_long_is_stopped(course, tmp_path, monkeypatch):
    bare = pushed_workspace(tmp_path, course, snapshot=False)
    monkeypatch.setattr(intake, "CLONE_TIMEOUT", 0.001)
    sub = open_it(bare.as_uri(), tmp_path, course)
    assert sub.status == "clone-failed" and "took more than" in sub.message


# ------------------------------------------------------------------------------------------ discovering
def test_discover_a_folder_of_mixed_sources(course, tmp_path):
    cohort = tmp_path / "cohort"
    write_zip(cohort / "ada.zip", good_items(course, tmp_path, repo=False))
    write_tar(cohort / "bob.tar.gz", good_items(course, tmp_path, repo=False))
    write_tar(cohort / "cy.tgz", [])
    fake_workspace(cohort, "dee")
    bare = pushed_workspace(tmp_path, course, snapshot=False)
    git(tmp_path, "clone", "-q", "--bare", str(bare), str(cohort / "eve.git"))
    make_repo(cohort / "fay")
    (cohort / "notes.txt").write_text("not a submission")
    (cohort / ".DS_Store").write_bytes(b"")
    (cohort / "empty-folder").mkdir()
    found = intake.discover([str(cohort), "git@example.org:cohort/gus.git", str(tmp_path / "missing")])
    names = [Path(f).name for f in found]
    assert names == ["ada.zip", "bob.tar.gz", "cy.tgz", "dee", "eve.git", "fay", "gus.git", "missing"]
    assert intake.discover([str(cohort / "ada.zip"), str(cohort / "ada.zip")]) == [str(cohort / "ada.zip")]
    assert intake.discover([str(cohort / "empty-folder")]) == [str(cohort / "empty-folder")]
    statuses = [open_it(f, tmp_path, course, str(i)).status for i, f in enumerate(found) if "gus" not in f]
    assert statuses == ["ok", "ok", "empty", "ok", "ok", "empty", "not-found"]
    assert open_it(cohort / "empty-folder", tmp_path, course, "ef").status == "not-a-submission"


def test_names_are_shown_escaped():
    assert unpack.show("caf\udce9.py") == "caf\\xe9.py"  # a byte that was not UTF-8
    assert unpack.show("a\nb") == "a\\x0ab" and unpack.show("é") == "é"
    assert unpack.show("\ud800") == "\\ud800"  # a lone surrogate from JSON does not crash a message
    assert unpack.show("x" * 500).endswith("...")
