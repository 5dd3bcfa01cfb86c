"""`flowcamp submit`: the archive's shape, the manifest, the secret scan (file:line and kind, never the value),
identity, the pushed-workspace route, the size limits, and the same work giving the same archive."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from flowcamp import proc
from flowcamp.cli_submit import identity, submit_cmd
from flowcamp.curriculum import apply_alternative, fresh_copy
from flowcamp.grading import layout, secretscan
from flowcamp.grading import submit as sub
from flowcamp.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
ALTERNATIVES = ROOT / "tests" / "alternatives"
SEED = 4242
WHO = ("Ada Lovelace", "ada@example.org")
# Made up for these tests, in the shapes the scan looks for (never a real credential).
PASSWORD = "Tr0ub4dor-and-3-horses"
TOKEN = "ghp_" + "Zq7Xw2Lp9Rk4Mv8Ns3Bt6Yc1Hd5Jf0Ga2QeW4"


@pytest.fixture(scope="module")
def base_ws(course, tmp_path_factory) -> Workspace:
    """One new workspace, made once: each test works on a copy."""
    ws = Workspace(tmp_path_factory.mktemp("submit-base") / "ws", course)
    ws.init(seed=SEED)
    return ws


@pytest.fixture
def ws(base_ws, tmp_path) -> Workspace:
    dest = tmp_path / "ws"
    shutil.copytree(base_ws.root, dest, symlinks=True)
    return Workspace(dest, base_ws.course)


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.org",
           "GIT_COMMITTER_NAME": "Ada", "GIT_COMMITTER_EMAIL": "ada@example.org"}
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=env).stdout.strip()


def pack(ws: Workspace, tmp_path: Path, name: str = "out.zip", **kw) -> tuple[sub.SubmitReport, zipfile.ZipFile]:
    report = sub.pack(ws, tmp_path / name, *WHO, **kw)
    return report, zipfile.ZipFile(report.path)


def manifest_of(zf: zipfile.ZipFile) -> dict:
    return json.loads(zf.read(layout.MANIFEST))


# ------------------------------------------------------------------------------------------ the archive


def test_the_archive_has_the_layout_and_leaves_out_secrets_data_and_caches(ws, tmp_path):
    dotenv = ws.root / "05-secrets/01-dotenv"
    (dotenv / ".env").write_text(f"REDSHIFT_PASSWORD={PASSWORD}\n")
    (dotenv / "local.duckdb").write_bytes(b"DUCK")
    (dotenv / "__pycache__").mkdir()
    (dotenv / "__pycache__/config.cpython-311.pyc").write_bytes(b"\0")
    hook = ws.root / "05-secrets/05-leaked-secret/pipeline/.git/hooks/pre-commit"
    hook.write_text("#!/bin/sh\nexit 0\n")
    hook.chmod(0o755)
    report, zf = pack(ws, tmp_path)
    names = zf.namelist()
    assert layout.MANIFEST in names
    assert all(n == layout.MANIFEST or n.startswith(f"{layout.WORKSPACE_DIR}/") for n in names)
    assert {n.split("/")[1] + "/" + n.split("/")[2] for n in names if n != layout.MANIFEST} == \
        {ex.path for ex in ws.course.exercises}
    parts = [set(n.split("/")) for n in names]
    assert not any({".env", "__pycache__", ".flowcamp"} & p for p in parts)
    assert not any(n.endswith(".duckdb") for n in names)
    assert PASSWORD.encode() not in Path(report.path).read_bytes()
    repo = "workspace/05-secrets/05-leaked-secret/pipeline/.git/"
    assert {repo + "HEAD", repo + "logs/HEAD", repo + "refs/heads/main", repo + "refs/tags/"} <= set(names)
    assert zf.getinfo(repo + "hooks/pre-commit").external_attr >> 16 == stat.S_IFREG | 0o755
    assert zf.getinfo("workspace/05-secrets/01-dotenv/config.py").external_attr >> 16 == stat.S_IFREG | 0o644
    assert report.files == sum(not n.endswith("/") for n in names) - 1
    # The repository comes out whole: same commits, same reflog.
    out = tmp_path / "unpacked"
    zf.extractall(out)
    original, unpacked = ws.root / "05-secrets/05-leaked-secret/pipeline", out / repo[:-6]
    assert git(unpacked, "rev-parse", "HEAD") == git(original, "rev-parse", "HEAD")
    assert git(unpacked, "reflog") == git(original, "reflog")


def test_the_manifest_says_who_which_course_and_what(ws, tmp_path):
    ex = ws.course.get("dotenv-local")
    ws.next_hint(ex)
    ws.record_result(ex, "fail", 3, 12)
    report, zf = pack(ws, tmp_path)
    m = manifest_of(zf)
    assert layout.manifest_problems(m) == []
    assert (m["format"], m["kind"]) == (layout.FORMAT, layout.KIND)
    assert m["learner"] == {"name": WHO[0], "email": WHO[1]}
    assert m["course"] == {"version": layout.course_version(), "fingerprint": layout.course_fingerprint(ws.course)}
    assert m["workspace_seed"] == SEED
    assert m["progress"] == ws.progress() and m["progress"]["exercises"]["dotenv-local"]["hints_shown"] == 1
    assert m["secret_scan"] == {"findings": 0, "allowed": []}
    assert "left_out" not in m
    assert sorted(m["exercises"]) == sorted(e.id for e in ws.course.exercises) == sorted(report.exercises)
    folder = ws.exercise_dir(ex)
    files = m["exercises"]["dotenv-local"]["files"]
    assert m["exercises"]["dotenv-local"]["path"] == ex.path
    assert files == {p.as_posix(): layout.file_hash(folder / p) for p in layout.exercise_files(folder)}
    assert m["created"] >= ws.entry(ex)["last_checked"]
    assert sub.build_manifest(ws, *WHO)["exercises"] == m["exercises"]


def test_the_same_work_gives_the_same_archive(ws, tmp_path):
    first, _ = pack(ws, tmp_path, "a.zip")
    second, _ = pack(ws, tmp_path, "b.zip")
    assert first.sha256 == second.sha256 == hashlib.sha256(first.path.read_bytes()).hexdigest()
    (ws.root / "03-warehouse/01-explore-with-sql/notes.md").write_text("what I found\n")
    third, _ = pack(ws, tmp_path, "c.zip")
    assert third.sha256 != first.sha256


def test_links_inside_are_kept_links_out_are_left_out_and_named(ws, tmp_path):
    folder = ws.root / "05-secrets/01-dotenv"
    (folder / "settings-link.py").symlink_to("config.py")
    (folder / "escape").symlink_to("../../..")
    (folder / "passwd").symlink_to("/etc/passwd")
    report, zf = pack(ws, tmp_path)
    name = "workspace/05-secrets/01-dotenv/"
    info = zf.getinfo(name + "settings-link.py")
    assert stat.S_ISLNK(info.external_attr >> 16) and zf.read(info) == b"config.py"
    assert name + "escape" not in zf.namelist() and name + "passwd" not in zf.namelist()
    assert sorted(x.split(":")[0] for x in report.left_out) == ["05-secrets/01-dotenv/escape",
                                                                "05-secrets/01-dotenv/passwd"]
    assert manifest_of(zf)["left_out"] == report.left_out


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_is_left_out_without_waiting_on_it(ws, tmp_path):
    os.mkfifo(ws.root / "00-orientation/01-check-loop/pipe")
    report, zf = pack(ws, tmp_path)
    assert report.left_out == ["00-orientation/01-check-loop/pipe: not a file or a folder (a pipe or a device)"]


@pytest.mark.skipif(os.name != "posix", reason="non-UTF-8 names need a POSIX file system")
def test_a_name_that_is_not_utf8_is_refused_with_what_to_do(ws, tmp_path):
    try:
        (ws.root / "00-orientation/01-check-loop" / os.fsdecode(b"caf\xe9.py")).write_text("x = 1\n")
    except OSError:
        pytest.skip("this file system refuses non-UTF-8 names")
    with pytest.raises(sub.SubmitError, match=r"caf\\xe9\.py is not valid text .* Rename it"):
        pack(ws, tmp_path)


# ------------------------------------------------------------------------------------------ limits


def test_a_file_over_the_limit_is_refused_by_name(ws, tmp_path, monkeypatch):
    monkeypatch.setattr(layout, "MAX_FILE_BYTES", 64 * 1024)
    (ws.root / "03-warehouse/01-explore-with-sql/export.csv").write_bytes(b"x" * 70 * 1024)
    with pytest.raises(sub.SubmitError) as e:
        pack(ws, tmp_path)
    assert "03-warehouse/01-explore-with-sql/export.csv is 0.1 MB" in str(e.value)
    assert "Move it out of the exercise folder" in str(e.value)
    assert not (tmp_path / "out.zip").exists()


def test_too_many_files_or_too_many_bytes_are_refused_naming_where(ws, tmp_path, monkeypatch):
    monkeypatch.setattr(layout, "MAX_FILES", sub.collect(ws).files + 100)
    venv = ws.root / "07-deployments/03-review-ci/env-copy"  # the last exercise: counted last
    venv.mkdir()
    for i in range(200):
        (venv / f"m{i}.py").write_text("pass\n")
    with pytest.raises(sub.SubmitError, match="07-deployments/03-review-ci/env-copy alone has 200"):
        pack(ws, tmp_path)
    monkeypatch.setattr(layout, "MAX_FILES", 20_000)
    monkeypatch.setattr(layout, "MAX_TOTAL_BYTES", sub.collect(ws).bytes + 300 * 1024)
    (ws.root / "03-warehouse/01-explore-with-sql/big.csv").write_bytes(b"x" * 800 * 1024)
    with pytest.raises(sub.SubmitError, match=r"The biggest files: 03-warehouse/01-explore-with-sql/big\.csv"):
        pack(ws, tmp_path)


# ------------------------------------------------------------------------------------------ the secret scan


def _no_value(text: str, *values: str) -> None:
    for v in values:
        assert v not in text


def test_a_password_in_a_changed_file_is_refused_by_file_and_line_never_by_value(ws, tmp_path):
    config = ws.root / "05-secrets/01-dotenv/config.py"
    lines = config.read_text().splitlines()
    config.write_text("\n".join(lines[:20] + [f'REDSHIFT_PASSWORD = "{PASSWORD}"'] + lines[20:]) + "\n")
    with pytest.raises(sub.SecretsFound) as e:
        pack(ws, tmp_path)
    message = str(e.value)
    assert "05-secrets/01-dotenv/config.py:21  a password typed into the file" in message
    assert "--allow-secret 05-secrets/01-dotenv/config.py:21" in message
    _no_value(message + repr(e.value) + json.dumps([f.to_dict() for f in e.value.findings]), PASSWORD)
    assert [f.location for f in e.value.findings] == ["05-secrets/01-dotenv/config.py:21"]
    assert not (tmp_path / "out.zip").exists()
    # Let through on purpose: recorded in the manifest (where and what kind, no value).
    report, zf = pack(ws, tmp_path, allow=("./05-secrets/01-dotenv/config.py:21", "x.py:1"))
    assert manifest_of(zf)["secret_scan"] == {"findings": 1, "allowed": [
        {"location": "05-secrets/01-dotenv/config.py:21", "kind": "a password typed into the file"}]}
    assert report.warnings == ["--allow-secret x.py:1: the scan found nothing there (copy the place from its message)"]
    _no_value(zf.read(layout.MANIFEST).decode(), PASSWORD)


def test_new_files_and_env_like_files_are_scanned_but_not_the_ignored_env(ws, tmp_path):
    folder = ws.root / "06-orchestration/04-retries-alerts"
    (folder / ".env").write_text(f"MEMBERSHIP_API_KEY={PASSWORD}\n")  # never packed: not scanned
    (folder / ".env.local").write_text(f"# mine\nMEMBERSHIP_API_KEY={PASSWORD}\n")  # packed: scanned
    (folder / "deploy.yaml").write_text(f"name: nightly\ntoken: {TOKEN}\n")
    (folder / "notes.md").write_text("The key was AKIAZ7Q2W4E6R8T0Y1U3, rotated.\n")
    with pytest.raises(sub.SecretsFound) as e:
        pack(ws, tmp_path)
    found = {f.location: f.kind for f in e.value.findings}
    assert found == {"06-orchestration/04-retries-alerts/.env.local:2": "an API key typed into the file",
                     "06-orchestration/04-retries-alerts/deploy.yaml:2": "a GitHub token",
                     "06-orchestration/04-retries-alerts/notes.md:1": "an AWS access key"}
    _no_value(str(e.value), PASSWORD, TOKEN, "AKIAZ7Q2W4E6R8T0Y1U3")


def test_a_secret_in_a_learner_commit_is_found_even_after_the_file_is_fixed(ws, tmp_path):
    repo = ws.root / "05-secrets/05-leaked-secret/pipeline"
    (repo / "deploy.py").write_text(f'import os\n\nGITHUB_TOKEN = "{TOKEN}"\n')
    git(repo, "add", "deploy.py")
    git(repo, "commit", "-q", "-m", "Deploy script")
    sha = git(repo, "rev-parse", "--short=7", "HEAD")
    (repo / "deploy.py").write_text('import os\n\nGITHUB_TOKEN = os.environ["GITHUB_TOKEN"]\n')
    git(repo, "commit", "-q", "-am", "Token from the environment")
    with pytest.raises(sub.SecretsFound) as e:
        pack(ws, tmp_path)
    [finding] = e.value.findings
    assert finding.location == f"05-secrets/05-leaked-secret/pipeline/deploy.py@{sha}:3"
    assert finding.kind == "a GitHub token" and finding.commit.startswith(sha)
    assert "rewrite that commit" in str(e.value)
    _no_value(str(e.value), TOKEN)
    report, _ = pack(ws, tmp_path, allow=(finding.location,))
    assert report.scan["commits"] == 2


def test_the_scan_runs_nothing_a_learner_repository_configures(ws, tmp_path):
    repo = ws.root / "05-secrets/05-leaked-secret/pipeline"
    (repo / "deploy.py").write_text(f'TOKEN = "{TOKEN}"\n')
    (repo / ".gitattributes").write_text("*.py diff=evil\n")
    git(repo, "add", "deploy.py", ".gitattributes")
    git(repo, "commit", "-q", "-m", "deploy")
    marker = tmp_path / "ran"
    for key, value in (("core.fsmonitor", f"touch {marker}-fsmonitor; false"),
                       ("diff.evil.textconv", f"touch {marker}-textconv; cat"),
                       ("diff.external", f"touch {marker}-external"), ("core.pager", f"touch {marker}-pager")):
        git(repo, "config", key, value)
    hook = repo / ".git/hooks/post-checkout"
    hook.write_text(f"#!/bin/sh\ntouch {marker}-hook\n")
    hook.chmod(0o755)
    with pytest.raises(sub.SecretsFound) as e:
        pack(ws, tmp_path)
    assert [(f.location.split("/")[-1], f.kind) for f in e.value.findings] == [
        ("deploy.py:1", "a GitHub token"), (f"deploy.py@{git(repo, 'rev-parse', '--short=7', 'HEAD')}:1",
                                            "a GitHub token")]  # in the file and in the commit
    assert not list(tmp_path.glob("ran*"))


def test_the_course_fakes_and_the_accepted_outcomes_are_not_flagged(ws, tmp_path):
    """Planted secrets (fcsecret-..., the rotated password in prefect-secrets' starter, .env.example placeholders)
    and the answers the secrets module accepts, in files and in commits, pass the scan."""
    course = ws.course
    for alt in ("dotenv-local/right-dotenv-values", "gitignore/wrong-env-deleted-later",
                "gitignore/wrong-password-pasted-in-code", "prefect-secrets/wrong-hard-coded-password",
                "leaked-secret/wrong-half-rewrite"):
        ex = course.get(alt.split("/")[0])
        fresh_copy(ws, ex)
        apply_alternative(ws, ex, ALTERNATIVES / alt)
    for ex_id in ("civis-credentials", "typed-settings", "prefect-secrets", "retries-alerts"):
        ex = course.get(ex_id)
        for f in ex.files:
            shutil.copyfile(ex.solution_dir / f, ws.exercise_dir(ex) / f)
    result = secretscan.scan_workspace(ws)
    assert result.findings == [] and result.commits >= 4 and result.files >= 8


def test_no_solution_and_no_right_alternative_of_the_course_looks_like_a_secret(course):
    """Every file a learner could end up with by a right answer, read as if all of it were new."""
    allowed = secretscan.course_digests(course)
    texts = [p for p in (ROOT / "solutions").rglob("*") if p.is_file()]
    texts += [p for p in ALTERNATIVES.glob("*/right-*/**/*") if p.is_file() and p.name != "commands.sh"]
    flagged = [f"{p}:{n} {kind}" for p in texts if "__pycache__" not in p.parts
               for n, kind, d in secretscan.detect(p.read_text(encoding="utf-8"), p.name) if d not in allowed]
    assert flagged == [] and len(texts) > 50


@pytest.mark.parametrize("line, path, kind", [
    ('PASSWORD = "hunter2-and-more"', "a.py", "a password typed into the file"),
    ('connect(password="Tr0ub4dor")', "a.py", "a password typed into the file"),
    ('os.environ["X_SECRET"] = "s3cr3t-value"', "a.py", "a secret typed into the file"),
    ('SIGNING_KEY = "a8F3kQ9zL2mX7vB1nR5t"', "a.py", "a key typed into the file"),
    ("REDSHIFT_PASSWORD=hunter2-and-more", ".env.example", "a password typed into the file"),
    ("export API_TOKEN='xyzxyz123abc'", "run.sh", "a token typed into the file"),
    ("password: hunter2-and-more", "deploy.yml", "a password typed into the file"),
    ("CREATE USER etl PASSWORD 'hunter2-and-more';", "users.sql", "a password typed into the file"),
    ('    "PASSWORD = \\"hunter2-and-more\\"\\n",', "explore.ipynb", "a password typed into the file"),
    ('URL = "postgres://etl:Pa55word9@db.example.org/prod"', "a.py", "a password inside a connection address"),
    ("AKIAZ7Q2W4E6R8T0Y1U3", "notes.md", "an AWS access key"),
    ("xoxb-1234567890-abcdefghij", "notes.md", "a Slack token"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----", "id_ed25519", "a private key"),
])
def test_what_looks_like_a_secret(line, path, kind):
    assert [k for _n, k, _d in secretscan.detect(line, path)] == [kind]


@pytest.mark.parametrize("line, path", [
    ('PASSWORD = os.environ["WAREHOUSE_PASSWORD"]', "a.py"), ('password = ""', "a.py"),
    ('PASSWORD_VARIABLE = "REDSHIFT_PASSWORD"', "a.py"), ('SUMMARY_KEY = "nightly-summary-2024"', "a.py"),
    ('url = f"postgresql://{user}:{password}@{host}"', "a.py"),
    ('WAREHOUSE_PASSWORD = "fcsecret-0a1b2c3d4e5f"', "a.py"),
    ('pw = "***REMOVED***"', "a.py"), ('SECRET = "<your secret here>"', "a.py"), ("REDSHIFT_PASSWORD=", ".env.example"),
    ("MOBILIZE_API_KEY=change-me", ".env.example"), ("password: ${{ secrets.WAREHOUSE_PASSWORD }}", "ci.yml"),
    ('key = "AKIAIOSFODNN7EXAMPLE"', "a.py"), ('labels = {"password": "Your password"}', "a.py"),
    ("WAREHOUSE_PASSWORD = os.environ.get('WAREHOUSE_PASSWORD', '')", "settings.py"),
    ('Settings(warehouse_password="fake-password-for-tests")', "test_settings.py"),
    ('password = Secret.load("warehouse-password").get()', "pipeline.py"),
])
def test_what_is_not_a_secret(line, path):
    assert secretscan.detect(line, path) == []


# ------------------------------------------------------------------------------------------ identity


def test_identity_comes_from_the_options_then_git_and_is_never_asked(ws, tmp_path, monkeypatch):
    with pytest.raises(sub.SubmitError) as e:
        identity(ws)
    assert "--name and --email" in str(e.value) and "git config --global user.email" in str(e.value)
    assert identity(ws, " Ada  Lovelace ", "ada@example.org") == ("Ada Lovelace", "ada@example.org")
    git(ws.root, "config", "user.name", "Ada From The Repository")
    with pytest.raises(sub.SubmitError, match=r"needs your email\b.*Pass --email"):
        identity(ws)
    glob = tmp_path / "global-gitconfig"
    glob.write_text("[user]\n\tname = Ada Global\n\temail = ada.global@example.org\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(glob))
    assert identity(ws) == ("Ada From The Repository", "ada.global@example.org")
    assert identity(ws, email="other@example.org") == ("Ada From The Repository", "other@example.org")
    with pytest.raises(sub.SubmitError, match="does not look like an email"):
        identity(ws, email="ada")


def test_the_default_file_name_comes_from_the_name_else_the_email():
    assert sub.default_name("Ada Lovelace", "a@b.org") == "flowcamp-submission-ada-lovelace.zip"
    assert sub.default_name("Zoë O'Neil", "z@b.org") == "flowcamp-submission-zoe-o-neil.zip"
    assert sub.default_name("李雷", "li.lei@example.org") == "flowcamp-submission-li-lei-example-org.zip"


# ------------------------------------------------------------------------------------------ the command


@pytest.fixture
def run(ws, monkeypatch, tmp_path):
    app = typer.Typer()
    app.command("submit")(submit_cmd)
    app.command("other")(lambda: None)  # two commands: `submit` stays a subcommand
    monkeypatch.setenv("FLOWCAMP_WORKSPACE", str(ws.root))
    monkeypatch.setenv("CI", "true")
    monkeypatch.chdir(tmp_path)
    return lambda *args: CliRunner().invoke(app, ["submit", *args])


def test_the_command_packs_says_what_and_what_next(run, ws, tmp_path):
    r = run("--name", WHO[0], "--email", WHO[1])
    assert r.exit_code == 0, r.output
    out = " ".join(r.output.split())
    assert f"Packed {len(ws.course.exercises)} exercise(s) for Ada Lovelace <ada@example.org>" in out
    assert "flowcamp-submission-ada-lovelace.zip" in out and "Next: Hand in" in out
    assert "nothing that looks like a secret" in out
    assert (tmp_path / "flowcamp-submission-ada-lovelace.zip").is_file()
    r = run("--name", WHO[0], "--email", WHO[1], "--json", "--out", str(tmp_path / "mine.zip"))
    doc = json.loads(r.output)
    assert r.exit_code == 0 and doc["ok"] and doc["mode"] == "archive" and doc["path"] == str(tmp_path / "mine.zip")
    assert doc["sha256"] == hashlib.sha256((tmp_path / "mine.zip").read_bytes()).hexdigest()
    (tmp_path / "hand-in").mkdir()
    r = run("--name", WHO[0], "--email", WHO[1], "--out", "hand-in")
    assert r.exit_code == 0 and (tmp_path / "hand-in/flowcamp-submission-ada-lovelace.zip").is_file()


def test_the_command_refuses_a_secret_without_showing_it(run, ws, tmp_path):
    (ws.root / "04-prefect/01-first-flow/secrets.toml").write_text(f'[db]\npassword = "{PASSWORD}"\n')
    r = run("--name", WHO[0], "--email", WHO[1])
    assert r.exit_code == 1 and "04-prefect/01-first-flow/secrets.toml:2" in r.output
    r = run("--name", WHO[0], "--email", WHO[1], "--json")
    doc = json.loads(r.output)
    assert r.exit_code == 1 and doc["ok"] is False
    assert doc["findings"] == [{"location": "04-prefect/01-first-flow/secrets.toml:2",
                                "kind": "a password typed into the file"}]
    assert PASSWORD not in r.output
    r = run("--allow-secret", "04-prefect/01-first-flow/secrets.toml:2", "--json")
    assert r.exit_code == 2 and "needs your name and email" in json.loads(r.output)["error"]
    assert not list(tmp_path.glob("*.zip"))


# ------------------------------------------------------------------------------------------ the git route


def test_git_commits_the_snapshot_without_hooks_and_a_clone_has_it(ws, tmp_path):
    marker = tmp_path / "hook-ran"
    hook = ws.root / ".git/hooks/pre-commit"
    hook.write_text(f"#!/bin/sh\ntouch '{marker}'\n")
    hook.chmod(0o755)
    (ws.root / "02-python-scripts/01-environment-variables/notes.md").write_text("done\n")
    report = sub.snapshot_git(ws, *WHO)
    assert report.commit and not marker.exists()
    assert git(ws.root, "log", "-1", "--format=%an <%ae>") == "Ada Lovelace <ada@example.org>"
    clone = tmp_path / "clone"
    subprocess.run(proc.safe_git(tmp_path, "clone", "-q", str(ws.root), str(clone)), check=True,
                   env=proc.git_env())
    m = json.loads((clone / layout.GIT_SNAPSHOT_DIR / layout.GIT_MANIFEST).read_text())
    assert layout.manifest_problems(m) == [] and m["learner"]["email"] == WHO[1]
    assert (clone / "02-python-scripts/01-environment-variables/notes.md").read_text() == "done\n"
    tarball = clone / layout.repo_archive("leaked-secret", "pipeline")
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
        assert {"pipeline/.git/HEAD", "pipeline/.git/logs/HEAD", "pipeline/settings.py"} <= set(names)
        assert all(n.startswith("pipeline/") for n in names)
        assert {t.mtime for t in tar.getmembers()} == {0}
    assert sorted(p.parent.name for p in (clone / "submission/repos").rglob("*.tar.gz")) == sorted(
        ex.id for ex in ws.course.exercises if ex.repos)
    # Unchanged work: the same files, no new commit.
    again = sub.snapshot_git(ws, *WHO)
    assert again.commit is None and git(ws.root, "rev-parse", "HEAD") == report.commit


def test_git_leaves_out_links_that_point_out_as_the_archive_does(ws, tmp_path):
    folder = ws.root / "05-secrets/01-dotenv"
    (folder / "escape").symlink_to("../../../..")
    (folder / "inside").symlink_to("config.py")
    report = sub.snapshot_git(ws, *WHO)
    tracked = git(ws.root, "ls-tree", "-r", "--name-only", "HEAD", "--", "05-secrets/01-dotenv").splitlines()
    assert "05-secrets/01-dotenv/inside" in tracked and "05-secrets/01-dotenv/escape" not in tracked
    assert report.left_out[0].startswith("05-secrets/01-dotenv/escape: a link to ../../../..")


def test_push_sends_it_to_origin_and_says_so_when_there_is_none(ws, tmp_path):
    with pytest.raises(sub.SubmitError, match="no remote called origin.*git remote add origin"):
        sub.snapshot_git(ws, *WHO, push=True)
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(ws.root, "remote", "add", "origin", str(origin))
    report = sub.snapshot_git(ws, *WHO, push=True)
    assert report.pushed_to == str(origin) and "Nothing more to do" in report.next_step()
    branch = git(ws.root, "symbolic-ref", "--short", "HEAD")
    assert git(origin, "rev-parse", branch) == git(ws.root, "rev-parse", "HEAD")
    assert git(origin, "cat-file", "-t", f"{branch}:submission/manifest.json") == "blob"


def test_git_refuses_a_secret_committed_in_the_workspace_repository(ws, tmp_path):
    notes = ws.root / "03-warehouse/01-explore-with-sql/connect.py"
    notes.write_text(f'PASSWORD = "{PASSWORD}"\n')
    git(ws.root, "add", str(notes))
    git(ws.root, "commit", "-q", "-m", "connect")
    notes.write_text('import os\nPASSWORD = os.environ["PASSWORD"]\n')
    pack(ws, tmp_path)  # the file route sends no history: fine
    with pytest.raises(sub.SecretsFound) as e:
        sub.snapshot_git(ws, *WHO)
    assert [f.location.split("@")[0] for f in e.value.findings] == ["03-warehouse/01-explore-with-sql/connect.py"]
    assert not (ws.root / layout.GIT_SNAPSHOT_DIR).exists()


def test_both_routes_give_the_grader_the_same_submission(ws, tmp_path):
    """What intake unpacks from the file and from the pushed repository is the same, file for file (so the
    grader's resume key is the same too), and the practice repositories work."""
    from flowcamp.grading import intake

    (ws.root / "05-secrets/01-dotenv/inside").symlink_to("config.py")
    report, _ = pack(ws, tmp_path)
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(ws.root, "remote", "add", "origin", str(origin))
    sub.snapshot_git(ws, *WHO, push=True)
    got = []
    for source in (report.path, origin):
        (dest := tmp_path / f"unpacked-{len(got)}").mkdir()
        got.append(intake.open_source(str(source), dest, ws.course))
    assert [(s.status, s.message) for s in got] == [("ok", ""), ("ok", "")]
    assert got[0].hash == got[1].hash == layout.tree_hash(got[0].root)
    repo = got[1].root / layout.WORKSPACE_DIR / "05-secrets/05-leaked-secret/pipeline"
    assert git(repo, "rev-parse", "HEAD") == git(ws.root / "05-secrets/05-leaked-secret/pipeline", "rev-parse", "HEAD")


def test_an_unreadable_file_is_refused_by_name(ws, tmp_path, monkeypatch):
    private = ws.root / "03-warehouse/01-explore-with-sql/private.sql"
    private.write_text("select 1;\n")
    real_open = os.open

    def refuse(path, *args, **kw):
        if Path(path) == private:
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kw)

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(sub.SubmitError, match=r"Could not read 03-warehouse/01-explore-with-sql/private\.sql "
                                              r"\(Permission denied\)"):
        pack(ws, tmp_path)
