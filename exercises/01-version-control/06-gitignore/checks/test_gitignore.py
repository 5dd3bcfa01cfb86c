"""Checks for `gitignore`: secrets, data and caches are ignored, and never in any commit.

They read the repository only: its commits, its files and what `git check-ignore` says.
Any patterns that do the job pass; so do any number of commits and any messages.
"""

import re
import subprocess

import pytest

from flowcamp.checks import reset_hint

RESET = reset_hint()

# Paths that must be ignored, and the rule a learner would reach for first.
MUST_IGNORE = [
    (".env", "`.env` (the file with the passwords)", ".env"),
    ("warehouse.duckdb", "`warehouse.duckdb` (the warehouse file)", "*.duckdb"),
    ("backup.duckdb", "any other DuckDB file, such as a new `backup.duckdb`", "*.duckdb"),
    ("data/turnout.duckdb", "a DuckDB file in a subfolder, such as `data/turnout.duckdb`", "*.duckdb"),
    ("__pycache__/load_signups.cpython-311.pyc", "the `__pycache__/` folder", "__pycache__/"),
    ("pipeline/__pycache__/flows.cpython-311.pyc", "a `__pycache__/` folder in a subfolder", "__pycache__/"),
    (".ipynb_checkpoints/explore_signups-checkpoint.ipynb", "the `.ipynb_checkpoints/` folder", ".ipynb_checkpoints/"),
]
MUST_KEEP = [".env.example", "load_signups.py", "signups_by_event.sql", "explore_signups.ipynb", ".gitignore"]

SECRET = re.compile(rb"fcsecret-[0-9a-f]{8,}")


def _project(repo):
    project = repo("project")
    project.require_repo()
    assert project.head(), f"project/ has no commits. {RESET}"
    return project


def _ignore_source(project, path):
    """(source file, pattern) of the rule that decides `path`, or None when no rule matches."""
    out = project.git("check-ignore", "-v", "--no-index", path, check=False).strip()
    if not out:
        return None
    where, _, _ = out.partition("\t")
    match = re.match(r"^(.*?):(\d+):(.*)$", where)
    if not match:
        return None
    return match.group(1), match.group(3)


def _committed_ignore_files(project):
    return {f for f in project.files_at("HEAD") if f == ".gitignore" or f.endswith("/.gitignore")}


def _is_secret_path(path):
    parts = path.split("/")
    name = parts[-1]
    if name == ".env" or name.endswith(".duckdb") or name.endswith(".duckdb.wal"):
        return True
    return "__pycache__" in parts or ".ipynb_checkpoints" in parts


@pytest.mark.points(2)
def test_gitignore_committed(repo):
    """A .gitignore file is committed"""
    project = _project(repo)
    if ".gitignore" in project.files_at("HEAD"):
        return
    on_disk = (project.path / ".gitignore").is_file()
    if project.tracked(".gitignore"):
        raise AssertionError(
            "You staged .gitignore but did not commit it yet. Run `git commit -m \"Ignore secrets, data and "
            "caches\"` in project/."
        )
    if on_disk:
        raise AssertionError(
            "project/.gitignore exists but is not committed, so your team would never get it. Run "
            "`git add .gitignore` and `git commit -m \"...\"` in project/."
        )
    wrong_name = [p.name for p in project.path.iterdir() if p.is_file() and "ignore" in p.name.lower()]
    if wrong_name:
        raise AssertionError(
            f"git only reads a file called exactly `.gitignore` (a dot first, no extension). You have "
            f"{', '.join(wrong_name)}: rename it to `.gitignore`, then commit it."
        )
    raise AssertionError(
        "There is no .gitignore in project/ yet. Make a file called `.gitignore` there, one pattern per line, "
        "then `git add .gitignore` and commit it."
    )


@pytest.mark.points(2)
def test_secrets_data_and_caches_ignored(repo):
    """The committed .gitignore ignores .env, every .duckdb file and the caches"""
    project = _project(repo)
    committed = _committed_ignore_files(project)
    for path, what, rule in MUST_IGNORE:
        found = _ignore_source(project, path)
        if found is None or found[1].startswith("!"):
            raise AssertionError(
                f"git does not ignore {what}. Add the line `{rule}` to project/.gitignore and commit it. "
                f"Test with `git check-ignore -v {path}`: it must print the line that ignores it."
            )
        source, pattern = found
        assert not (source.endswith(".gitignore") and not project.tracked(source)), (
            f"Your {source} ignores {what}, but {source} is not committed yet, so the rule is not "
            f"saved and your team would not get it. Run `git add {source}` and commit it."
        )
        assert source in committed, (
            f"{what} is ignored by `{pattern}` in {source}, which is not a committed .gitignore, so your "
            f"team would not get this rule. Put `{rule}` in project/.gitignore and commit it."
        )


@pytest.mark.points(1)
def test_example_and_code_not_ignored(repo):
    """.env.example and the code are not ignored, and are committed"""
    project = _project(repo)
    for path in MUST_KEEP:
        found = _ignore_source(project, path)
        if found is not None and not found[1].startswith("!"):
            source, pattern = found
            raise AssertionError(
                f"`{pattern}` in {source} also ignores {path}, which belongs in the repository. "
                f"Make the pattern narrower (for example `.env` instead of `{pattern}`), or add the line "
                f"`!{path}` after it. Check with `git check-ignore -v {path}`: it must print nothing."
            )
    head = set(project.files_at("HEAD"))
    missing = [p for p in MUST_KEEP if p not in head and p != ".gitignore"]
    assert not missing, (
        f"Not committed yet: {', '.join(missing)}. Run `git add {' '.join(missing)}` and commit. "
        ".env.example shows the team which settings to fill in, without the real values."
    )


@pytest.mark.points(2)
def test_nothing_secret_in_history(repo):
    """No secret, data file or cache is in any commit"""
    project = _project(repo)
    hint = (
        "Deleting it in a later commit is not enough: every old commit still holds it. In real life, "
        "change that password at once: assume it has leaked. Here, copy your .gitignore somewhere safe, then "
        f"start again: {RESET} Commit the .gitignore before anything else."
    )
    for c in project.commits(all_refs=True):
        bad = [p for p in project.files_at(c.sha) if _is_secret_path(p)]
        assert not bad, f"Commit {c.sha[:7]} (\"{c.subject}\") contains {', '.join(bad)}. {hint}"
    objects = project.git("rev-list", "--objects", "--all").splitlines()
    shas = [line.split(" ", 1)[0] for line in objects if line]
    if not shas:
        return
    proc = subprocess.run(
        ["git", "-C", str(project.path), "cat-file", "--batch-check=%(objectname) %(objecttype)"],
        input="\n".join(shas) + "\n", capture_output=True, text=True,
    )
    blobs = [line.split()[0] for line in proc.stdout.splitlines() if line.endswith(" blob")]
    for sha in blobs:
        content = subprocess.run(
            ["git", "-C", str(project.path), "cat-file", "blob", sha], capture_output=True
        ).stdout
        if SECRET.search(content):
            where = [line.split(" ", 1)[1] for line in objects if line.startswith(sha + " ") and " " in line]
            name = where[0] if where else "a file"
            raise AssertionError(
                f"A password from .env is in the history, inside {name}. Passwords belong only in .env. {hint}"
            )


@pytest.mark.points(1)
def test_working_tree_clean(repo):
    """Everything else is committed: git status is clean"""
    project = _project(repo)
    lines = project.status()
    staged = [line[3:] for line in lines if line[:1] not in (" ", "?")]
    changed = [line[3:] for line in lines if line[1:2] not in (" ", "?")]
    untracked = [line[3:] for line in lines if line.startswith("??")]
    assert not staged, f"Staged but not committed: {', '.join(staged)}. Run `git commit -m \"...\"`."
    assert not changed, (
        f"Changed since your last commit: {', '.join(changed)}. `git add` and commit them (or undo the change "
        "with `git restore <file>`)."
    )
    assert not untracked, (
        f"git still lists these as untracked: {', '.join(untracked)}. Commit them if they belong in the "
        "repository; add a pattern to .gitignore if they must stay out."
    )
