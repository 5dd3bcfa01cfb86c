"""flowcamp.prepare: scripted repositories, shared texts, the warehouse header, and the facts checks read.

The most important promise: for a seed, every git exercise's prepare.py builds the same commits as it did
before it used these helpers, so workspaces made before keep matching the facts their checks rebuild.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from flowcamp import prepare
from flowcamp.checks import Repo, reset_hint
from flowcamp.course import Course
from flowcamp.prepare import ScriptedRepo, build_facts, run_prepare_script, shared_text, warehouse_header
from flowcamp.runner import run_check

ROOT = Path(__file__).resolve().parents[1]
GIT_EXERCISES = [ex for ex in Course(ROOT).exercises if ex.prepare_script]
UTC = timezone.utc


def refs(repo: Path) -> dict[str, str]:
    out = subprocess.run(["git", "-C", str(repo), "for-each-ref", "--format=%(refname) %(objectname)"],
                         capture_output=True, text=True, check=True).stdout
    return dict(line.split(" ", 1) for line in out.splitlines())


# ------------------------------------------------------------------------------------------ ScriptedRepo


def _build(path: Path) -> ScriptedRepo:
    repo = ScriptedRepo(path, identity=("Ana Example", "ana@example.org"))
    repo.write("sql/q.sql", "select 1;\n")
    repo.commit("First", when=datetime(2025, 1, 6, 9, 0, tzinfo=UTC))
    repo.switch("feature", create=True)
    repo.write("sql/q.sql", "select 2;\n")
    repo.commit("Second", author=("Bo Other", "bo@example.org"), committer=("Ana Example", "ana@example.org"),
                when=datetime(2025, 1, 7, 9, 0, tzinfo=timezone(timedelta(hours=-5))))
    repo.switch("main")
    return repo


def test_scripted_repo_gives_the_same_hashes_every_time(tmp_path):
    a, b = _build(tmp_path / "a"), _build(tmp_path / "b")
    assert refs(a.path) == refs(b.path)
    assert set(refs(a.path)) == {"refs/heads/main", "refs/heads/feature"}
    assert a.git("symbolic-ref", "HEAD") == "refs/heads/main"
    assert a.git("log", "-1", "--format=%an|%cn|%ad", "--date=iso", "feature") == \
        "Bo Other|Ana Example|2025-01-07 09:00:00 -0500"
    assert a.git("config", "user.name") == "Ana Example"
    assert a.git("config", "commit.gpgsign") == "false" and a.git("config", "core.autocrlf") == "false"


def test_scripted_repo_ignores_the_users_git_config_and_git_variables(tmp_path, monkeypatch):
    plain = refs(_build(tmp_path / "plain").path)
    hostile = tmp_path / "hostile-gitconfig"
    hostile.write_text("[init]\n\tdefaultBranch = trunk\n[core]\n\tautocrlf = true\n"
                       "[i18n]\n\tcommitEncoding = latin1\n", encoding="utf-8")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(hostile))
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Someone Else")
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2001-01-01T00:00:00+00:00")
    assert refs(_build(tmp_path / "hostile").path) == plain


def test_scripted_repo_write_is_lf_and_commit_needs_a_timezone(tmp_path):
    repo = ScriptedRepo(tmp_path / "r")
    repo.write("a.txt", "one\ntwo\n")
    assert (repo.path / "a.txt").read_bytes() == b"one\ntwo\n"
    assert repo.read("a.txt") == "one\ntwo\n"
    assert repo.git("config", "user.name") == "Flowcamp Learner"
    with pytest.raises(ValueError):
        repo.commit("No date")
    with pytest.raises(ValueError):
        repo.commit("Naive date", when=datetime(2025, 1, 1, 9, 0))


def test_publish_bare_holds_the_branches(tmp_path):
    repo = _build(tmp_path / "src")
    bare = repo.publish_bare(tmp_path / "remote.git", ["main", "feature"])
    assert refs(bare) == refs(repo.path)
    assert subprocess.run(["git", "-C", str(bare), "symbolic-ref", "HEAD"], capture_output=True,
                          text=True).stdout.strip() == "refs/heads/main"


# ------------------------------------------------------------------------------------------ shared texts


def test_the_turnout_query_lives_once():
    query = shared_text("turnout_by_district.sql")
    assert query.startswith("SELECT") and query.endswith("ORDER BY p.state_house_district;\n")
    starter = (ROOT / "exercises/01-version-control/01-first-repository/project/turnout_by_district.sql")
    text = starter.read_text(encoding="utf-8")
    assert text[text.index("SELECT"):] == query
    with pytest.raises(KeyError):
        shared_text("no-such-text.sql")
    with pytest.raises(KeyError):
        shared_text("../prepare.py")


def _run_header(script_dir: Path, env_value: str | None) -> subprocess.CompletedProcess:
    script_dir.mkdir(parents=True, exist_ok=True)
    script = script_dir / "where.py"
    script.write_text('"""Where is the warehouse?"""\n\n' + warehouse_header(imports=()) +
                      "\n\nprint(find_warehouse())\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "FLOWCAMP_WAREHOUSE"}
    if env_value:
        env["FLOWCAMP_WAREHOUSE"] = env_value
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env)


def test_generated_scripts_find_the_warehouse_the_same_way(tmp_path):
    outside = tmp_path / "warehouse.duckdb"  # above the workspace: never used
    outside.write_bytes(b"")
    ws = tmp_path / "ws"
    (ws / ".flowcamp").mkdir(parents=True)
    (ws / ".flowcamp" / "workspace.json").write_text("{}", encoding="utf-8")
    deep = ws / "01-version-control" / "08-undo-toolkit" / "project"

    done = _run_header(deep, None)
    assert done.returncode != 0 and "No warehouse found" in done.stderr and "FLOWCAMP_WAREHOUSE" in done.stderr

    (ws / "warehouse.duckdb").write_bytes(b"")
    assert _run_header(deep, None).stdout.strip() == str((ws / "warehouse.duckdb").resolve())

    nearer = ws / "01-version-control" / "warehouse.duckdb"
    nearer.write_bytes(b"")
    assert _run_header(deep, None).stdout.strip() == str(nearer.resolve())

    assert _run_header(deep, str(tmp_path / "elsewhere.duckdb")).stdout.strip() == str(tmp_path / "elsewhere.duckdb")


def test_the_header_compiles_with_and_without_imports():
    compile(warehouse_header(), "<header>", "exec")
    compile(warehouse_header(imports=()), "<header>", "exec")
    assert "import duckdb\n" in warehouse_header()


# ------------------------------------------------------------------------------------------ facts

# What every git exercise's repositories looked like for two seeds BEFORE the exercises used
# flowcamp.prepare (recorded with the old scripts). Workspaces made then must keep matching.
PINNED = {
    "read-history": {4242: {"pipeline": {"refs/heads/main": "342bd2643277d8b2a3f4db9e21c8e974a92a6746"}},
                     7: {"pipeline": {"refs/heads/main": "8e4e6a2b2b8da76a861d13053210173d7f680665"}}},
    "one-character": {4242: {"pipeline": {"refs/heads/main": "9026739413ae7950dd8886221f9e36a40acd81e4"}},
                      7: {"pipeline": {"refs/heads/main": "ec0f2641029a89d5b41dbcbdf1d3ce0f70e41511"}}},
    "branch-merge": {4242: {"project": {"refs/heads/main": "0bd7d6fd07750c8e4c739572b41f007a8152d25b"}},
                     7: {"project": {"refs/heads/main": "767d3e1a02a1925848fbc95c6f87812fbd2bf685"}}},
    "sql-conflict": {4242: {"project": {"refs/heads/by-district": "5da8c01dc759a570860dfa942849305f99bfc0e5",
                                        "refs/heads/dem-only": "c7b813273bff3a2c3c680f10e6e75c9dcab1c5e8",
                                        "refs/heads/main": "c7b813273bff3a2c3c680f10e6e75c9dcab1c5e8"}},
                     7: {"project": {"refs/heads/by-district": "8754c2d711929774f2ea402b730ec3e739052734",
                                     "refs/heads/dem-only": "bf500b0cd0e35ce90cd7e6dc4c75e443f543620e",
                                     "refs/heads/main": "bf500b0cd0e35ce90cd7e6dc4c75e443f543620e"}}},
    "gitignore": {4242: {"project": {"refs/heads/main": "b5a97e8648dfc70531a77b07c346df069b273313"}},
                  7: {"project": {"refs/heads/main": "368520f2e71ed9084a9a9bb81259d937870b560b"}}},
    "review-flow": {4242: {"remote.git": {"refs/heads/main": "c9fd0b856da655b0ea20764e2b851b147d3c0884",
                                          "refs/heads/review-notes": "a684cadc4131e07c2f9d8d66f2931425f350234d"}},
                    7: {"remote.git": {"refs/heads/main": "e6fb2e1d66a3d0a7d7622b19854d25610e4c31e9",
                                       "refs/heads/review-notes": "2a224cc85c1249d3e9ec51e578e4baa925c0b46a"}}},
    "undo-toolkit": {4242: {"project": {"refs/heads/main": "778c106562b8a0948afef6bcb38b0020cde32ede"}},
                     7: {"project": {"refs/heads/main": "6ace95ecf1de535ba4337945de2a83a33cc1eba6"}}},
    # Built with flowcamp.prepare from the start (LF newlines on every platform).
    "leaked-secret": {4242: {"pipeline": {"refs/heads/main": "6feda624e801c6c1ae26c77a52c00768699cfbd4"}},
                      7: {"pipeline": {"refs/heads/main": "4563ddfacec59014e68dd87cb0692c374e2d3784"}}},
}
# These scripts always wrote their files with the platform's newlines; on Windows their hashes differ
# from the ones above (and equal those of Windows workspaces made before).
PLATFORM_NEWLINES = {"branch-merge", "sql-conflict", "gitignore", "review-flow", "undo-toolkit"}


def test_every_git_exercise_is_pinned():
    assert {ex.id for ex in GIT_EXERCISES} == set(PINNED)


@pytest.mark.parametrize("seed", [4242, 7])
@pytest.mark.parametrize("ex", [pytest.param(ex, id=ex.id) for ex in GIT_EXERCISES])
def test_prepare_builds_the_same_commits_as_before_and_returns_its_facts(ex, seed, tmp_path):
    if ex.id in PLATFORM_NEWLINES and os.linesep != "\n":
        pytest.skip("this exercise's files have the platform's newlines: pinned hashes are for LF")
    dest = tmp_path / ex.path
    dest.mkdir(parents=True)
    facts = run_prepare_script(ex.prepare_script, dest, seed)
    built = {folder: refs(dest / folder) for folder in PINNED[ex.id][seed]}
    assert built == PINNED[ex.id][seed]
    # Nothing for the checks is left in the learner's repositories.
    for folder in ex.repos:
        gitdir = dest / folder / ".git" if (dest / folder / ".git").exists() else dest / folder
        if gitdir.exists():
            assert not [p.name for p in gitdir.iterdir() if p.name.startswith("flowcamp")]
    # The facts are keyed by repository folder, and every sha in them is a commit of that repository.
    assert facts and set(facts) <= set(ex.repos)
    for folder, entry in facts.items():
        for value in json.dumps(entry).split('"'):
            if len(value) == 40 and all(c in "0123456789abcdef" for c in value):
                assert Repo(dest / folder).resolve(value) == value
    # build_facts rebuilds exactly the same from the course's own code, in a folder of its own.
    assert build_facts(ex.source_dir, seed) == facts


def test_build_facts_equals_what_prepare_returned_in_the_workspace(golden_course, make_workspace):
    ws = make_workspace(golden_course, seed=31)
    ex = golden_course.get("fix-typo")
    repo = Repo(ws.exercise_dir(ex) / "repo")
    facts = build_facts(ex.source_dir, ws.seed, ws.state_dir / "cache")
    assert facts == {"repo": {"start": repo.head()}}
    assert facts == run_prepare_script(ex.prepare_script, ws.exercise_dir(ex).parent / "again", ws.seed)
    assert build_facts(ex.source_dir, 32) != facts  # another seed, another author, other hashes


def test_a_corrupt_or_edited_cache_is_rebuilt(golden_course, tmp_path):
    ex = golden_course.get("fix-typo")
    cache = tmp_path / "cache"
    truth = build_facts(ex.source_dir, 5, cache)
    (cached,) = cache.glob("fix-typo-*.json")
    assert cached == prepare.cache_file(cache, ex.source_dir, 5)

    record = json.loads(cached.read_text(encoding="utf-8"))
    record["facts"] = {"repo": {"start": "0" * 40}}  # a learner's forgery, without the digest
    cached.write_text(json.dumps(record), encoding="utf-8")
    assert build_facts(ex.source_dir, 5, cache) == truth
    assert json.loads(cached.read_text(encoding="utf-8"))["facts"] == truth  # and the cache is repaired

    cached.write_text("{not json", encoding="utf-8")
    assert build_facts(ex.source_dir, 5, cache) == truth
    cached.unlink()
    assert build_facts(ex.source_dir, 5, cache) == truth

    record = json.loads(cached.read_text(encoding="utf-8"))  # a valid cache of another seed, renamed
    other = prepare.cache_file(cache, ex.source_dir, 6)
    other.write_text(json.dumps(record), encoding="utf-8")
    assert build_facts(ex.source_dir, 6, cache) != truth


def test_a_learner_cannot_change_the_facts_the_checks_use(golden_course, make_workspace):
    ws = make_workspace(golden_course, seed=77)
    ex = golden_course.get("fix-typo")
    repo = ws.exercise_dir(ex) / "repo"
    assert run_check(ws, ex).status == "fail"  # builds and caches the facts

    # Rewrite history, then try to make the checks believe it is where the exercise started.
    (repo / "query.sql").write_text("select count(*) from people where age >= 18;  -- adults\n", encoding="utf-8")
    subprocess.run(["git", "commit", "-q", "--amend", "-am", "Tidy"], cwd=repo, check=True)
    amended = Repo(repo).head()
    (repo / ".git" / "flowcamp-start").write_text(amended + "\n", encoding="utf-8")
    (repo / ".git" / "flowcamp.json").write_text(json.dumps({"start": amended}), encoding="utf-8")
    for cached in (ws.state_dir / "cache").glob("*.json"):
        record = json.loads(cached.read_text(encoding="utf-8"))
        record["facts"] = {"repo": {"start": amended}}
        cached.write_text(json.dumps(record), encoding="utf-8")

    result = run_check(ws, ex)
    assert result.status == "fail", result.to_json()
    kept = next(c for c in result.checks if c.name == "The earlier commits are still there")
    assert kept.status == "fail" and "uv run flowcamp reset fix-typo" in kept.message


def test_reset_hint_names_the_exercise(monkeypatch):
    monkeypatch.setenv("FLOWCAMP_EXERCISE", "branch-merge")
    assert reset_hint() == ("`uv run flowcamp reset branch-merge` starts the exercise again "
                            "(your files are backed up first).")
    monkeypatch.delenv("FLOWCAMP_EXERCISE")
    assert reset_hint().startswith("`uv run flowcamp reset` starts the exercise again")


def test_facts_need_the_runners_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("FLOWCAMP_EXERCISE_SOURCE", raising=False)
    monkeypatch.delenv("FLOWCAMP_SEED", raising=False)
    with pytest.raises(RuntimeError, match="run by flowcamp"):
        _ = Repo(tmp_path).facts


def test_facts_of_a_folder_prepare_did_not_record_are_empty(golden_course, monkeypatch, tmp_path):
    ex = golden_course.get("fix-typo")
    monkeypatch.setenv("FLOWCAMP_EXERCISE_SOURCE", str(ex.source_dir))
    monkeypatch.setenv("FLOWCAMP_SEED", "3")
    monkeypatch.setenv("FLOWCAMP_LEARNER_DIR", str(tmp_path))
    monkeypatch.delenv("FLOWCAMP_CACHE", raising=False)
    assert Repo(tmp_path / "repo").facts == build_facts(ex.source_dir, 3)["repo"]
    assert Repo(tmp_path / "elsewhere").facts == {}


def test_a_check_asks_git_again_once_learner_code_or_a_writing_command_may_have_changed_the_repository(tmp_path):
    from flowcamp.checks.processes import something_changed

    scripted = ScriptedRepo(tmp_path / "r")
    scripted.write("a.txt", "one\n")
    first = scripted.commit("First", when=datetime(2024, 1, 1, 10, tzinfo=timezone.utc))
    repo = Repo(tmp_path / "r")
    assert repo.head() == first and repo.show("HEAD", "a.txt") == "one\n"

    scripted.write("a.txt", "two\n")
    second = scripted.commit("Second", when=datetime(2024, 1, 2, 10, tzinfo=timezone.utc))
    assert repo.head() == first  # remembered: nothing the check knows of could have changed it
    something_changed()  # what a learner process or learner.run() says before it runs
    assert repo.head() == second and repo.show("HEAD", "a.txt") == "two\n"
    assert repo.show(first, "a.txt") == "one\n"  # a commit's content is kept for the whole run

    scripted.write("a.txt", "three\n")
    third = scripted.commit("Third", when=datetime(2024, 1, 3, 10, tzinfo=timezone.utc))
    repo.git("clone", "-q", str(repo.path), str(tmp_path / "copy"))  # a command that may write
    assert repo.head() == third
