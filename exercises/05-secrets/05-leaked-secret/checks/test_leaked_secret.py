"""Checks for `leaked-secret`: a password committed long ago, found, moved out, rotated, and blocked next time.

The leaked password comes from prepare.py's facts and is registered with `plant_secret`, so no message
or output ever shows it: messages name a file, a line, a cell or a commit. Every git command on the
learner's repository goes through the hardened Repo. The learner's pre-commit hook is the learner's code:
it is installed and run only in a learner process, in a throwaway clone, never in this process.

History may be kept (the password is rotated, so the old one is worthless) or rewritten (git filter-repo);
a rewrite must be complete: no commit on any branch or tag may still hold the password.
"""

import json
import os
import re
import secrets
import shutil
import string
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from flowcamp.checks import reset_hint
from flowcamp.checks.git import Repo
from flowcamp.checks.plugin import plant_secret

RESET = reset_hint()
FOLDER = "pipeline"
NOTE = "ROTATION.md"
CONFIG = ".pre-commit-config.yaml"
NEEDS_DOWNLOAD = {"python", "node", "ruby", "golang", "rust", "docker", "docker_image", "conda", "dotnet",
                  "julia", "lua", "perl", "r", "swift", "coursier", "dart", "haskell"}


def _pipeline(repo):
    project = repo(FOLDER)
    project.require_repo()
    assert project.head(), f"{FOLDER}/ has no commits any more. {RESET}"
    facts = project.facts
    plant_secret(facts["secret"])
    return project, facts


# ------------------------------------------------------------------ where the password still is


def _first_line(cell: dict, secret: str) -> str:
    """', the one that starts `print("Connecting to", ...`': the cell's first line of code, to find it by
    (the secret, if it is in that line, left out)."""
    source = cell.get("source", "")
    source = "".join(source) if isinstance(source, list) else str(source)
    first = next((line.strip() for line in source.splitlines() if line.strip()), "").replace(secret, "...")
    return f", the one that starts `{first[:50]}`" if first else ""


def _where_in_text(path: str, text: str, secret: str) -> str | None:
    """'settings.py, line 13' or 'explore_attendance.ipynb, the output of cell 2' (never the value)."""
    if secret not in text:
        return None
    if path.endswith(".ipynb"):
        try:
            cells = json.loads(text).get("cells", [])
        except (ValueError, AttributeError):
            cells = []
        for n, cell in enumerate(cells if isinstance(cells, list) else [], 1):
            if not isinstance(cell, dict):
                continue
            which = f"cell {n} (counting every cell from the top{_first_line(cell, secret)})"
            if secret in json.dumps(cell.get("outputs", []), ensure_ascii=False):
                return f"{path}, in the output of {which}: clear the notebook's outputs"
            if secret in json.dumps(cell.get("source", ""), ensure_ascii=False):
                return f"{path}, in the code of {which}"
    line = text[: text.index(secret)].count("\n") + 1
    return f"{path}, line {line}"


def _working_files(project) -> list[str]:
    """Files git would see: tracked ones, and untracked ones that .gitignore does not hide."""
    out = project.git("ls-files", "-z", "--cached", "--others", "--exclude-standard")
    return sorted({p for p in out.split("\0") if p})


def _in_working_tree(project, secret: str) -> list[str]:
    found = []
    for rel in _working_files(project):
        path = project.path / rel
        if path.is_symlink() or not path.is_file():
            continue
        try:
            text = path.read_bytes().decode("utf-8", errors="replace")
        except OSError:
            continue
        where = _where_in_text(rel, text, secret)
        if where:
            found.append(where)
    return found


def _in_commit(project, rev: str, secret: str) -> list[str]:
    found = []
    for rel in project.files_at(rev):
        text = project.show(rev, rel)
        where = _where_in_text(rel, text or "", secret)
        if where:
            found.append(where)
    return found


def _commits_with(project, secret: str) -> list[str]:
    """Commits on any branch or tag that add or remove the password (git log -S, over every ref)."""
    out = project.git("log", "--all", "--no-ext-diff", "--no-textconv", "--format=%H", "-S", secret, check=False)
    return [line for line in out.split() if line]


def _refs_containing(project, sha: str) -> list[str]:
    out = project.git("for-each-ref", "--contains", sha, "--format=%(refname:short)", check=False)
    return [line for line in out.splitlines() if line]


def _subjects(project, rev: str = "HEAD") -> list[str]:
    return [c.subject for c in reversed(project.commits(rev))]


def _keeps_history(subjects: list[str], expected: list[str]) -> bool:
    """The expected subjects appear in order (a rewrite keeps every commit's message)."""
    it = iter(subjects)
    return all(any(s == want for s in it) for want in expected)


# ------------------------------------------------------------------ 1. the code reads the environment


@pytest.mark.points(2)
def test_settings_read_password_from_environment(repo, learner, monkeypatch):
    """settings.py takes the password from the WAREHOUSE_PASSWORD environment variable"""
    _, facts = _pipeline(repo)
    name = facts["credential"]
    planted = plant_secret("fcsecret-" + secrets.token_hex(8))
    monkeypatch.setenv(name, planted)
    mod = learner.load(f"{FOLDER}/settings.py")
    assert mod.has("production_url"), (
        f"{FOLDER}/settings.py no longer has the function production_url(). Keep it: the pipeline calls it "
        "in production. Change only where the password comes from."
    )
    url = learner.call(mod.production_url)
    assert isinstance(url, str), f"production_url() in {FOLDER}/settings.py should return the address as text."
    assert facts["secret"] not in url, (
        f"production_url() in {FOLDER}/settings.py still uses the password that was written in the code. "
        f"Read it from the environment instead: `os.environ[\"{name}\"]`."
    )
    assert planted in url, (
        f"With the environment variable {name} set, production_url() in {FOLDER}/settings.py does not put "
        f"its value in the address. Read the password with `os.environ[\"{name}\"]` (same name, capitals)."
    )


# ------------------------------------------------------------------ 2. the password is gone


@pytest.mark.points(2)
def test_password_gone_from_files_and_history(repo):
    """The password is in no file and not in the newest commit; history is kept whole or cleaned everywhere"""
    project, facts = _pipeline(repo)
    secret = facts["secret"]

    on_disk = _in_working_tree(project, secret)
    assert not on_disk, (
        "The leaked password is still in your files: " + "; ".join(on_disk) + ". Take it out (the code reads "
        "it from the environment; a notebook's outputs can be cleared), then commit."
    )
    head = _in_commit(project, "HEAD", secret)
    assert not head, (
        "Your files are clean, but your newest commit still holds the password: " + "; ".join(head) +
        ". `git add` the fixed files and `git commit`."
    )
    nb = facts["notebook"]
    text = project.show("HEAD", nb)
    assert text is not None, (
        f"{nb} is no longer in your newest commit. Keep the notebook: clear its outputs (VS Code: "
        "**Clear All Outputs**) and commit it."
    )
    try:
        cells = json.loads(text).get("cells")
    except (ValueError, AttributeError):
        cells = None
    cells = cells if isinstance(cells, list) else []
    code_cells = [c for c in cells if isinstance(c, dict) and c.get("cell_type") == "code"]
    assert code_cells, (
        f"{nb} in your newest commit is no longer a notebook with its code cells. Keep its cells and clear "
        f"only the outputs. To get it back as it was: `git restore --source {facts['start'][:7]} {nb}`, "
        "then clear its outputs."
    )

    if project.is_ancestor(facts["leak"], "HEAD"):
        return  # history kept: fine, because the password is rotated (the rotation note's check)
    assert _keeps_history(_subjects(project), facts["subjects"]), (
        f"main lost the pipeline's history: the commits your colleagues made are not there any more, not "
        f"even rewritten. Keep them (rotating the password is enough), or rewrite them with git filter-repo, "
        f"which keeps every commit. {RESET}"
    )
    left = _commits_with(project, secret)
    if left:
        holding = [(c, _in_commit(project, c, secret)) for c in reversed(left)]
        sha, found = next(((c, f) for c, f in holding if f), (left[-1], []))
        refs = _refs_containing(project, sha)
        files = [w.split(",")[0] for w in found]
        inside = f" (in {', '.join(files)})" if files else ""
        if refs and all(r in ("main", "HEAD") for r in refs):
            raise AssertionError(
                f"You rewrote main's history, but commit {sha[:7]} on main still holds the password{inside}. "
                "Your replacements file must hold the password's value alone on its line, so that every copy "
                "is replaced, whatever the line around it. Run `git filter-repo --replace-text` again."
            )
        raise AssertionError(
            f"You rewrote main's history, but {', '.join(refs) or 'another reference'} still holds the old "
            f"commit {sha[:7]} with the password{inside}. A rewrite must clean every branch and tag, or it only "
            "looks clean: delete it (`git branch -D NAME`, `git tag -d NAME`) if you do not need it."
        )


# ------------------------------------------------------------------ 3. the rotation note

FIELD = re.compile(r"^\s*(?:[-*+>#]\s*)*\**\s*([A-Za-z][A-Za-z ]*?)\s*\**\s*:\s*\**\s*(.*?)\s*$")
DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
VALUE_LIKE = re.compile(r"(?i)\b\w*(pass|pwd|secret|key|token)\w*\s*=\s*\S")


def _fields(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        m = FIELD.match(line)
        if m:
            key = m.group(1).strip().lower()
            if key.startswith("credential"):
                out.setdefault("credential", m.group(2))
            elif key.startswith("rotated"):
                out.setdefault("rotated", m.group(2))
            elif key.startswith(("new value", "kept in", "stored in", "lives in", "where")):
                out.setdefault("where", m.group(2))
    return out


def _looks_like_a_value(text: str, project) -> bool:
    """`PASSWORD=value`, or a long word that mixes letters and digits (a password or key, not a place). A
    variable's name in capitals, an address and a commit id are fine."""
    if VALUE_LIKE.search(text):
        return True
    for word in re.findall(r"[^\s`'\"(),;*]+", text):
        if re.fullmatch(r"[A-Z0-9_]+", word) or word.startswith(("http://", "https://")):
            continue
        if re.fullmatch(r"[0-9a-f]{7,40}", word) and project.resolve(word):
            continue
        if len(word) >= 16 and re.search(r"[A-Za-z]", word) and re.search(r"\d", word):
            return True
    return False


@pytest.mark.points(2)
def test_rotation_note(repo):
    """ROTATION.md says which credential was rotated, when, and where the new one lives (no value)"""
    project, facts = _pipeline(repo)
    name, leaked_on = facts["credential"], date.fromisoformat(facts["leaked_on"])
    text = project.show("HEAD", NOTE)
    if text is None:
        on_disk = (project.path / NOTE).is_file()
        raise AssertionError(
            f"{NOTE} is in {FOLDER}/ but not committed yet: `git add {NOTE}` and commit it, so the team sees it."
            if on_disk else
            f"There is no {NOTE} in your newest commit. Write {FOLDER}/{NOTE} with three lines, "
            f"`Credential: ...`, `Rotated on: YYYY-MM-DD` and `New value kept in: ...`, then commit it."
        )
    fields = _fields(text)
    missing = [label for key, label in (("credential", "Credential:"), ("rotated", "Rotated on:"),
                                        ("where", "New value kept in:")) if not fields.get(key)]
    assert not missing, (
        f"{NOTE} needs a line that starts with {' and '.join(f'`{m}`' for m in missing)}. Each of the three "
        "lines is the label, a colon, then the fact."
    )
    assert facts["secret"] not in text, f"{NOTE} holds the leaked password itself. A rotation note never holds a value."
    assert name.lower() in fields["credential"].lower().replace(" ", "_"), (
        f"`Credential:` in {NOTE} should name the credential that leaked, by the name the code uses for it "
        f"(look at the line that `git log -p -S` found in settings.py)."
    )
    m = DATE.search(fields["rotated"])
    when = None
    if m:
        try:
            when = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            when = None
    assert when is not None, (
        f"`Rotated on:` in {NOTE} should be a date written YYYY-MM-DD, for example {date.today().isoformat()}."
    )
    assert when >= leaked_on, (
        f"`Rotated on:` in {NOTE} is {when.isoformat()}, before the password was committed. It was rotated "
        "after the leak: `git log` shows the date of the commit that leaked it."
    )
    assert when <= date.today() + timedelta(days=1), (
        f"`Rotated on:` in {NOTE} is {when.isoformat()}, in the future. Write the day you changed the password."
    )
    assert not _looks_like_a_value(text, project), (
        f"{NOTE} seems to hold a value (something like `PASSWORD=...`, or a long mix of letters and digits). Say "
        "only *where* the new password lives, such as the environment variable's name and the place that "
        "sets it. Never the password."
    )
    assert len(re.findall(r"[A-Za-z_]{2,}", fields["where"])) >= 2, (
        f"`New value kept in:` in {NOTE} should say where the new password lives, in a few words (for "
        f"example: the environment variable {name}, set from .env on laptops and a Prefect Secret block in "
        "production)."
    )


# ------------------------------------------------------------------ 4 and 5. the pre-commit hook

_DRIVER = r"""
import json, os, subprocess, sys
os.environ.pop("VIRTUAL_ENV", None)
os.environ.pop("CONDA_PREFIX", None)
mode = sys.argv[1]
if mode == "install":
    os.chdir(sys.argv[2])
    done = subprocess.run([sys.executable, "-m", "pre_commit", "install"], capture_output=True, text=True)
    print(done.stdout + done.stderr)
    sys.exit(done.returncode)
if mode == "commits":  # each attempt in its own clone, all at once; their exit codes and output, in order
    attempts = json.loads(sys.argv[2])
    running = [subprocess.Popen([sys.executable, __file__, "commit", json.dumps(a)], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True) for a in attempts]
    results = []
    for p in running:
        out, _ = p.communicate(timeout=100)
        results.append([p.returncode, out])
    print(json.dumps(results))
    sys.exit(0)
attempt = json.loads(sys.argv[2])
os.chdir(attempt["clone"])
files = attempt["files"]
for rel, text in files.items():
    os.makedirs(os.path.dirname(rel) or ".", exist_ok=True)
    with open(rel, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
subprocess.run(["git", "add", *files], check=True, capture_output=True)
done = subprocess.run(["git", "commit", "-m", attempt["message"]], capture_output=True, text=True, timeout=90)
print(done.stdout + done.stderr)
sys.exit(done.returncode)
"""


def _course_root() -> Path | None:
    source = os.environ.get("FLOWCAMP_EXERCISE_SOURCE")
    for folder in Path(source).resolve().parents if source else []:
        if (folder / "pyproject.toml").is_file():
            return folder
    return None


def _plain_terminal_env(home: Path) -> dict[str, str]:
    """A terminal where the course's environment is not active (VS Code, Git Bash, PowerShell): its bin folder
    is not on PATH, but uv is. Offline: uv, pip and pre-commit may not download anything."""
    venv_bins = {str(Path(sys.prefix) / d) for d in ("bin", "Scripts")} | {str(Path(sys.executable).parent)}
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p not in venv_bins]
    uv = shutil.which("uv")
    if uv and str(Path(uv).parent) not in path:
        path.append(str(Path(uv).parent))
    env = {
        "PATH": os.pathsep.join(path), "VIRTUAL_ENV": "", "UV_OFFLINE": "1", "PIP_NO_INDEX": "1",
        "PRE_COMMIT_HOME": str(home / "pre-commit-cache"), "PRE_COMMIT_COLOR": "never",
        "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": "Flowcamp Check", "GIT_AUTHOR_EMAIL": "check@example.org",
        "GIT_COMMITTER_NAME": "Flowcamp Check", "GIT_COMMITTER_EMAIL": "check@example.org",
    }
    root = _course_root()
    if root is not None:
        env["UV_PROJECT"] = str(root)  # the clone is in a temporary folder, not under the course folder
    return env


def _config_problem(text: str) -> str | None:
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        return f"{CONFIG} is not valid YAML{where}. Check the indentation: spaces only, two per level."
    repos = config.get("repos") if isinstance(config, dict) else None
    if not isinstance(repos, list) or not repos:
        return f"{CONFIG} has no `repos:` list. It starts with `repos:`, then `- repo: local` and its `hooks:`."
    hooks = []
    for entry in repos:
        if not isinstance(entry, dict):
            continue
        where = str(entry.get("repo", ""))
        if where not in ("local", "meta"):
            return (f"{CONFIG} fetches hooks from {where}: pre-commit downloads that, and the hook must work "
                    "offline. Use `- repo: local` with a hook that runs the detect-secrets already installed.")
        hooks += [h for h in entry.get("hooks") or [] if isinstance(h, dict)]
    if not hooks:
        return f"{CONFIG} lists no hooks under `repo: local`. Add one with `id`, `name`, `entry` and `language`."
    for h in hooks:
        language = str(h.get("language", ""))
        if language in NEEDS_DOWNLOAD:
            return (f"The hook `{h.get('id', '?')}` in {CONFIG} has `language: {language}`: pre-commit then builds "
                    "an environment for it and downloads packages, which fails offline. Use `language: unsupported` "
                    "with an entry that runs detect-secrets through uv: `uv run detect-secrets-hook`.")
    return None


def _attempts(learner, driver: Path, env: dict, attempts: list[dict]) -> list[tuple[int, str]]:
    """Try each commit ({"clone", "files", "message"}) at once, each in its own clone: exit code and output."""
    done = learner.run(["python", str(driver), "commits", json.dumps(attempts)], env=env, timeout=120)
    try:
        results = json.loads(done.stdout.strip().splitlines()[-1])
        return [(int(code), str(out).strip()) for code, out in results]
    except (ValueError, IndexError, TypeError):
        raise AssertionError("The commits with your hook installed did not finish:\n"
                             + _tail(done.stdout + done.stderr)) from None


def _uncommitted(project) -> str:
    """A sentence for a learner whose .pre-commit-config.yaml on disk is not the one in their last commit
    (the check uses the committed one, as a clone gets it)."""
    on_disk = project.path / CONFIG
    committed = (project.show("HEAD", CONFIG) or "").replace("\r\n", "\n")
    if on_disk.is_file() and on_disk.read_text(encoding="utf-8", errors="replace").replace("\r\n", "\n") != committed:
        return (f" Note: your {CONFIG} has changes you have not committed. This check uses the committed one, "
                f"as everyone who clones the repository gets it: `git add {CONFIG}`, commit, then check again.")
    return ""


def _made_up() -> str:
    """A new fake secret that looks like a real one (no course prefix a hook could look for)."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(12)) + secrets.choice(string.digits) + "Qx7"


def _tail(output: str, lines: int = 8) -> str:
    return "\n".join(output.splitlines()[-lines:])


@pytest.mark.points(3)
def test_hook_blocks_new_secrets(repo, learner):
    """The committed pre-commit hook refuses a commit with a new secret and lets a harmless one through"""
    project, _ = _pipeline(repo)
    text = project.show("HEAD", CONFIG)
    if text is None:
        raise AssertionError(
            f"{CONFIG} is in {FOLDER}/ but not committed: `git add {CONFIG}` and commit it, so everyone who "
            "clones the repository gets the same hook."
            if (project.path / CONFIG).is_file() else
            f"There is no {CONFIG} in your newest commit. Write {FOLDER}/{CONFIG} with a `repo: local` hook "
            "that runs detect-secrets, install it with `uv run pre-commit install`, and commit the file."
        )
    problem = _config_problem(text)
    assert problem is None, problem + _uncommitted(project)

    key, password, in_address = plant_secret(_made_up()), plant_secret(_made_up()), plant_secret(_made_up())
    tries = [
        ("export_volunteers.py", {"export_volunteers.py": f'MOBILIZE_API_KEY = "{key}"\n'}, key, "an API key"),
        ("deploy/prod.yml", {"deploy/prod.yml": f"warehouse:\n  user: etl_nightly\n  password: {password}\n"},
         password, "a password"),
        # As Civis container scripts often held it: inside the database address, with no word like "password"
        # next to it, which detect-secrets finds and a hook that only looks for such words does not.
        ("nightly_export.sh", {"nightly_export.sh": "#!/bin/sh\n# The nightly export, as the Civis job ran it.\n"
                               f'psql "postgresql://etl_nightly:{in_address}@warehouse.example.org:5439/events" '
                               "-f export.sql\n"}, in_address, "a password inside a database address"),
    ]
    harmless = {
        "no_shows_by_month.sql": "-- No-shows per month.\nSELECT date_trunc('month', e.starts_at) AS month,\n"
                                 "       COUNT(*) AS no_shows\nFROM mobilize.signups AS s\n"
                                 "JOIN mobilize.events AS e USING (event_id)\nWHERE s.status = 'no_show'\n"
                                 "GROUP BY 1\nORDER BY 1;\n",
        "partners.py": '"""The partner sync reads its key from the environment."""\n\nimport os\n\n\n'
                       'def api_key() -> str:\n    return os.environ["MOBILIZE_API_KEY"]\n',
    }
    with tempfile.TemporaryDirectory(prefix="flowcamp-hook-") as tmp:
        home = Path(tmp)
        env = _plain_terminal_env(home)
        driver = home / "driver.py"
        driver.write_text(_DRIVER, encoding="utf-8")
        # Fresh clones of the learner's repository, the hook installed by pre-commit in the first and the same
        # hook files in the others: the commits (three secrets, one harmless change) are tried at once, each in
        # a clone of its own.
        clones = [home / f"pipeline-{n}" for n in range(len(tries) + 1)]
        for clone in clones:
            project.git("clone", "-q", "--no-hardlinks", "--template=", str(project.path), str(clone))
        done = learner.run(["python", str(driver), "install", str(clones[0])], env=env, timeout=60)
        assert done.returncode == 0, (
            "`pre-commit install` failed in a fresh clone of your repository:\n" + _tail(done.stdout + done.stderr)
        )
        installed = clones[0] / ".git" / "hooks"
        for clone in clones[1:]:
            shutil.copytree(installed, clone / ".git" / "hooks", symlinks=True, dirs_exist_ok=True)
        repos = [Repo(clone) for clone in clones]
        start = repos[-1].head()
        named = [(what, files) for what, files, _value, _why in tries] + [("the no-shows report", harmless)]
        results = _attempts(learner, driver, env, [{"clone": str(clone), "files": files, "message": f"Add {what}"}
                                                   for clone, (what, files) in zip(clones, named)])

        for (what, _files, value, why), cloned, (code, output) in zip(tries, repos, results):
            slipped = bool(_commits_with(cloned, value))
            address = "address" in why
            assert not slipped, (
                f"In a fresh clone of your repository, with your hook installed, a commit of a new {what} went "
                f"through, with {why} in it"
                + (" (`postgresql://user:PASSWORD@host/...`), with no word like `password` next to it. "
                   "detect-secrets finds a password in an address; a hook that looks for such words does not: run "
                   "detect-secrets (`entry: uv run detect-secrets-hook`)." if address else
                   ". Your hook must catch passwords and keys in every kind of file: run detect-secrets, and check "
                   f"`files:`, `types:`, `exclude:` or `stages:` in {CONFIG}.")
                + _uncommitted(project)
            )
            assert code != 0, f"Committing a new {what} with a secret in it ended oddly:\n{_tail(output)}"

        code, output = results[-1]
        cloned = repos[-1]
        moved = cloned.head() != start and "no_shows_by_month.sql" in cloned.files_at("HEAD")
        if code != 0 or not moved:
            missing = re.search(r"Executable `([^`]+)` not found", output)
            if missing and missing.group(1) == "uv":
                raise AssertionError(
                    "Your hook starts uv, but uv is not on the PATH of the terminal that ran this check. Open a "
                    "new terminal (uv's installer adds it to new ones), then check again."
                )
            if missing:
                raise AssertionError(
                    f"Your hook could not start `{missing.group(1)}` in a terminal where the course's environment "
                    "is not active (a plain terminal, VS Code's Source Control button). Start it through uv: "
                    f"`entry: uv run detect-secrets-hook` in {CONFIG}."
                )
            raise AssertionError(
                "Your hook also refused a harmless commit (a SQL file, and Python code that reads a key from the "
                "environment), in a terminal where the course's environment is not active. What it said:\n"
                + _tail(output) + _uncommitted(project)
            )


@pytest.mark.points(1)
def test_hook_installed(repo):
    """The hook is installed in your own repository (pre-commit install)"""
    project, _ = _pipeline(repo)
    hooks_path = project.git("config", "--local", "--get", "core.hooksPath", check=False).strip()
    assert not hooks_path, (
        f"{FOLDER}/ sets core.hooksPath to {hooks_path}, so git skips .git/hooks. Remove it with "
        "`git config --unset core.hooksPath`, then run `uv run pre-commit install` again."
    )
    git_dir = Path(project.git("rev-parse", "--absolute-git-dir").strip())
    hook = git_dir / "hooks" / "pre-commit"
    assert hook.is_file(), (
        f"The hook is not installed in {FOLDER}/: git runs nothing before a commit yet. In a terminal in "
        f"{FOLDER}/, run `uv run pre-commit install`."
    )
    text = hook.read_bytes().decode("utf-8", errors="replace")
    assert "pre-commit" in text or "pre_commit" in text, (
        f"{FOLDER}/.git/hooks/pre-commit is not the one pre-commit installs, so it does not run your "
        f"{CONFIG}. Run `uv run pre-commit install` in {FOLDER}/ (add `--overwrite` to replace the old one)."
    )
    assert os.name == "nt" or os.access(hook, os.X_OK), (
        f"{FOLDER}/.git/hooks/pre-commit cannot be run (it is not executable). Run `uv run pre-commit install` "
        f"in {FOLDER}/ again."
    )
