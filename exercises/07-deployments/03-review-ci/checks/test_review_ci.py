"""Checks for review-ci: a GitHub Actions workflow that installs with uv, runs the tests and a secret scan on
every pull request.

The workflow is read here; its `run:` steps run in learner subprocesses (actions_local.py), in a copy of the
course's project/ with the learner's .github/ folder, three times: with a change that does not matter (a
comment, a note), with a bug planted in the pipeline, and with a password and a key planted in a new file
(the bug and the file are chosen at random for each check run). The .venv the first run made is kept for the
other two (as a runner's cache would), so only the first installs from scratch.
"""

from __future__ import annotations

import fnmatch
import hashlib
import importlib.util
import os
import re
import secrets
import shutil
import stat
import string
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
import yaml

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

from flowcamp.checks.plugin import plant_secret
from flowcamp.checks import LearnerError

COURSE_DIR = Path(__file__).resolve().parents[1]
CI = "project/.github/workflows/ci.yml"
_spec = importlib.util.spec_from_file_location("review_ci_actions_local", Path(__file__).with_name("actions_local.py"))
actions = sys.modules[_spec.name] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(actions)

_STATE: dict = {}
STEP_SECONDS = 60
# Bugs a pull request could bring into pipeline/steps.py, each caught by the project's own tests: one is
# planted at random per check run, so a workflow that looks for one of them, or for a change to the file,
# instead of running the tests, does not pass. (what is in the file, what the bug makes of it, what it does)
BUGS = (
    ("AND CAST(donated_at AS DATE) <= CAST(? AS DATE)", "AND CAST(donated_at AS DATE) < CAST(? AS DATE)",
     "the last day of the window is left out"),
    ("AND CAST(donated_at AS DATE) > CAST(? AS DATE) - CAST(? AS INTEGER)",
     "AND CAST(donated_at AS DATE) >= CAST(? AS DATE) - CAST(? AS INTEGER)", "the window keeps a day too many"),
    ("WHERE NOT refunded", "WHERE refunded OR NOT refunded", "refunded donations are counted"),
    ("totals[person_id] = totals.get(person_id, 0) + float(amount)", "totals[person_id] = float(amount)",
     "a person's total keeps only their last donation"),
)
# Where a pull request could add a file with a password and a key: a folder, a kind of file and a made-up
# name are chosen at random per check run, so no workflow can know the file's name beforehand.
SECRET_FOLDERS = ("config", "settings", "deploy", "pipeline", "notebooks")
SECRET_KINDS = (".yml", ".env", ".py", ".toml")


def _workflow(learner) -> dict:
    if not learner.exists(CI):
        raise AssertionError(f"{CI} is missing. Write the workflow in that file (GitHub reads workflows only "
                             "from the folder .github/workflows/ at the top of the repository).")
    try:
        workflow = yaml.safe_load(learner.read(CI))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" on line {mark.line + 1}" if mark is not None else ""
        raise AssertionError(f"{CI} is not valid YAML{where}. Check the indentation there: spaces only, two per "
                             "level, and a space after each `-` and `:`.") from None
    if not isinstance(workflow, dict):
        raise AssertionError(f"{CI} has no settings yet: it needs `name:`, `on:` and `jobs:` (see README.md).")
    return workflow


def _tail(text: str, lines: int = 10) -> str:
    return "\n".join("    " + x for x in text.strip().splitlines()[-lines:])


def _source(learner, dest: Path, plant=None) -> Path:
    """The repository a checkout gives: the course's project/ and the learner's .github/ folder."""
    skip = shutil.ignore_patterns("__pycache__", ".venv", ".pytest_cache", ".github", ".git")
    shutil.copytree(COURSE_DIR / "project", dest, ignore=skip)
    shutil.copytree(learner.path("project/.github"), dest / ".github",
                    ignore=shutil.ignore_patterns("__pycache__"), symlinks=False)
    if plant:
        plant(dest)
    return dest


def _runner_root(tmp_path_factory) -> Path:
    """Where the runner works. A folder of the workspace's own in the system's temporary folder when no other
    check run uses it: the job folders are emptied first (so every run installs into a new .venv), but Python's compiled files
    of the last run are kept, which saves compiling pytest and DuckDB again. Else a temporary folder."""
    cache = os.environ.get("FLOWCAMP_CACHE")
    if os.environ.get("FLOWCAMP_SANDBOX"):  # cohort grading: the workspace's cache is hidden from learner code
        cache = None
    root = _outside_any_project(Path(cache)) if cache and fcntl is not None else None
    if root is not None:
        lock = open(root / ".lock", "w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
        else:
            _STATE["lock"] = lock  # held until this check process ends
            _clear_last_run(root)
            return root
    return tmp_path_factory.mktemp("review-ci")


def _clear_last_run(root: Path) -> None:
    """Move the last run's folders out of the way at once, and delete them in the background while this run's
    steps go (a .venv is thousands of files: 0.3 s or more to delete, which the check need not wait for). What
    is not deleted when the check ends is deleted by the next one."""
    for name in ("runner", "repo-clean", "repo-bug", "repo-secret"):
        if (root / name).exists():
            try:
                (root / name).rename(root / f"old-{secrets.token_hex(4)}")
            except OSError:
                shutil.rmtree(root / name, ignore_errors=True)
    old = [p for p in root.glob("old-*") if p.is_dir()]
    if old:
        threading.Thread(target=lambda: [shutil.rmtree(p, ignore_errors=True) for p in old], daemon=True).start()


def _outside_any_project(cache: Path) -> Path | None:
    """The runner's folder for this workspace, in the system's temporary folder: not inside the course, whose
    pyproject.toml uv and pytest would find from a job folder with no checkout (on GitHub there is none above
    it), and the same folder every time. None when that cannot be had safely (then a new temporary folder)."""
    name = f"flowcamp-review-ci-{os.getuid()}-{hashlib.sha256(str(cache.resolve()).encode()).hexdigest()[:12]}"
    root = Path(tempfile.gettempdir()) / name
    try:
        root.mkdir(mode=0o700, exist_ok=True)
        st = os.lstat(root)
    except OSError:
        return None
    mine = stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o077
    if not mine or any((p / "pyproject.toml").exists() for p in root.parents):
        return None
    return root


def _runner(learner, tmp_path_factory):
    if "runner" not in _STATE:
        uv = os.environ.get("UV") or shutil.which("uv")
        assert uv, "uv is not on the PATH of the terminal that ran this check. Open a new terminal and check again."
        cache = subprocess.run([uv, "cache", "dir"], capture_output=True, text=True).stdout.strip()
        python = getattr(sys, "_base_executable", None) or sys.executable
        _STATE["root"] = _runner_root(tmp_path_factory)
        _STATE["runner"] = actions.Runner(_STATE["root"] / "runner", _STATE["root"], None, uv, python, cache)

    def run_bash(cwd, args, env):
        with learner.elsewhere(cwd) as here:
            try:
                done = here.run(["env", "-i", *[f"{k}={v}" for k, v in env.items()], *args], timeout=STEP_SECONDS)
            except LearnerError:
                return 124, f"The step ran for more than {STEP_SECONDS} seconds and was stopped: what does it wait for?"
        return done.returncode, done.stdout + done.stderr

    _STATE["runner"].run_bash = run_bash
    return _STATE["runner"]


def _run(name, learner, tmp_path_factory, plant=None):
    if name not in _STATE:
        workflow = _workflow(learner)
        jobs = workflow.get("jobs")
        assert isinstance(jobs, dict) and jobs and all(isinstance(j, dict) for j in jobs.values()), (
            f"{CI} has no jobs I can run: under `jobs:`, give each job a name, then `runs-on:` and `steps:` "
            "indented below it.")
        runner = _runner(learner, tmp_path_factory)
        runner.source = _source(learner, _STATE["root"] / f"repo-{name}", plant)
        _STATE[name] = runner.run(workflow)
    return _STATE[name]


def _hint(output: str) -> str:
    low = output.lower()
    if "uv: command not found" in low:
        return "No step has set up uv yet: add `- uses: astral-sh/setup-uv@v6` before the steps that use uv."
    if "no `pyproject.toml` found" in low or "no pyproject.toml" in low or "not a git repository" in low:
        return ("The job's folder is empty here: a job starts with no files. `- uses: actions/checkout@v4` brings "
                "them, so it must come first, before any step that uses them.")
    if ("command not found" in low or "no such file or directory" in low) \
            and any(w in low for w in ("pytest", "detect-secrets", "pre-commit")) or "no module named" in low:
        return ("That tool is installed in the project's environment (.venv), not on PATH: start it through uv, "
                "e.g. `uv run pytest`.")
    if any(w in low for w in ("offline", "network", "no matching distribution", "could not find a version")):
        return ("This check runs your steps offline, with the packages uv already keeps on this computer. Install "
                "with uv from the project's uv.lock (`uv sync --locked`), not with pip.")
    return "Run that command in project/ on your computer to see the whole message."


def _failures(jobs) -> list[str]:
    said = []
    for job in jobs:
        step = job.failed_step()
        if step:
            said.append(f"Job `{job.name}` failed at the step `{step.label}`:\n    {step.command.strip()}\n"
                        f"  It said:\n{_tail(step.output)}\n  {_hint(step.output)}")
        elif job.result != "success":
            said.append(f"Job `{job.name}` did not run (`needs:` or `if:` kept it from running).")
    return said


def _installed(jobs) -> bool:
    """Did a step install the project (a .venv with a Python in it, in some job's folder)?"""
    return any(j.folder is not None and any((j.folder / ".venv" / d).glob("python*")) for j in jobs
               for d in ("bin", "Scripts"))


def _clean_runs(learner, tmp_path_factory):
    jobs = _run("clean", learner, tmp_path_factory, _plant_harmless)
    return jobs if not _failures(jobs) and _installed(jobs) else None


def _what_ran(jobs) -> str:
    lines = []
    for job in jobs:
        for s in job.steps:
            flag = " (failed, but `continue-on-error` let the job go on)" if s.ignored else ""
            lines.append(f"    {job.name}: {s.command.strip().splitlines()[0] if s.command.strip() else s.label} "
                         f"-> {s.outcome}{flag}")
    return "\n".join(lines) or "    (no steps)"


@pytest.mark.points(2)
def test_runs_on_pull_requests(learner):
    """The workflow runs on every pull request, in a job on Ubuntu"""
    workflow = _workflow(learner)
    on = actions.triggers(workflow)
    assert on, f"{CI} has no `on:` trigger. Add `on:` with `pull_request:` under it."
    assert "pull_request" in on, (
        f"{CI} runs on {', '.join(f'`{k}`' for k in on)}, but not on `pull_request`. Add `pull_request:` under "
        "`on:`, so the checks run on every pull request before anyone merges it."
        + (" (`pull_request_target` is a different event, for workflows that need secrets: do not use it here.)"
           if "pull_request_target" in on else ""))
    rule = on["pull_request"] if isinstance(on["pull_request"], dict) else {}
    types = rule.get("types")
    if types is not None:
        types = [types] if isinstance(types, str) else types
        missing = [t for t in ("opened", "synchronize") if t not in [str(x) for x in types or []]]
        assert not missing, (
            f"In {CI}, `pull_request:` lists `types:` without {' and '.join(missing)}: then the checks do not run "
            "when a pull request is opened, or when new commits are pushed to it. Remove `types:`.")
    branches, ignored = rule.get("branches"), rule.get("branches-ignore")
    if branches is not None:
        branches = [branches] if isinstance(branches, str) else branches
        assert any(fnmatch.fnmatch("main", str(b)) for b in branches or []), (
            f"In {CI}, `pull_request:` only runs for pull requests into {branches}, but the team merges into main. "
            "Remove `branches:` or list main.")
    if ignored is not None:
        ignored = [ignored] if isinstance(ignored, str) else ignored
        assert not any(fnmatch.fnmatch("main", str(b)) for b in ignored or []), (
            f"In {CI}, `branches-ignore:` skips pull requests into main. Remove it.")
    jobs = workflow.get("jobs")
    assert isinstance(jobs, dict) and jobs, f"{CI} has no jobs yet. Add `jobs:` with one job and its `steps:`."
    for name, job in jobs.items():
        job = job if isinstance(job, dict) else {}
        where = job.get("runs-on")
        labels = [where] if isinstance(where, str) else where if isinstance(where, list) else []
        assert any("ubuntu" in str(x) for x in labels), (
            f"Job `{name}` in {CI} has `runs-on: {where}`. Use `runs-on: ubuntu-latest`: the steps are bash "
            "commands for Linux, and that is what this check runs.")
        assert isinstance(job.get("steps"), list) and job["steps"], f"Job `{name}` in {CI} has no `steps:`."


@pytest.mark.points(2)
def test_steps_pass_on_the_project(learner, tmp_path_factory):
    """On the unchanged project, in a clean copy and offline, every step passes"""
    jobs = _run("clean", learner, tmp_path_factory, _plant_harmless)
    said = _failures(jobs)
    assert not said, ("I ran your workflow's steps in a clean copy of project/, offline, the way GitHub would on "
                      "a pull request that changes nothing that matters (it adds a comment to pipeline/steps.py "
                      "and a note in notes/): every step should pass. " + "\n".join(said))
    assert _installed(jobs), (
        "Your workflow's steps passed, but none of them installed the project, so nothing was tested. Add a step "
        f"that installs it with uv from uv.lock (`uv sync --locked`). What ran:\n{_what_ran(jobs)}")


def _plant_bug(repo: Path) -> None:
    steps = repo / "pipeline" / "steps.py"
    text = steps.read_text(encoding="utf-8")
    was, bug, what = _STATE.setdefault("bug", secrets.choice(BUGS))
    assert was in text, "The course's pipeline/steps.py changed: the check cannot plant its bug."
    steps.write_text(text.replace(was, bug), encoding="utf-8")


def _plant_harmless(repo: Path) -> None:
    """What a pull request that changes nothing that matters brings: a comment in the code, a new note. The
    unchanged project's run has them, so a workflow that fails on any change, instead of testing, fails it."""
    word = _made_up(string.ascii_lowercase, 8)
    steps = repo / "pipeline" / "steps.py"
    steps.write_text(steps.read_text(encoding="utf-8") + f"\n# Reviewed in pull request {word}.\n",
                     encoding="utf-8")
    (repo / "notes").mkdir(exist_ok=True)
    (repo / "notes" / f"review-{word}.md").write_text(
        "# Review notes\n\nThe warehouse password comes from the WAREHOUSE_PASSWORD environment variable, "
        "never from a file.\n", encoding="utf-8")


def _made_up(alphabet: str, n: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def _plant_secret(repo: Path) -> None:
    password = plant_secret(_made_up(string.ascii_letters + string.digits, 14) + "7Qx")
    key = plant_secret("AKIA" + _made_up(string.ascii_uppercase + string.digits, 16))
    if "secret_file" not in _STATE:
        _STATE["secret_file"] = (f"{secrets.choice(SECRET_FOLDERS)}/{_made_up(string.ascii_lowercase, 6)}_"
                                 f"{secrets.choice(('warehouse', 'connections', 'credentials', 'prod'))}"
                                 f"{secrets.choice(SECRET_KINDS)}")
    where = repo / _STATE["secret_file"]
    where.parent.mkdir(exist_ok=True)
    if where.suffix == ".py":
        text = f'WAREHOUSE_USER = "etl_nightly"\nWAREHOUSE_PASSWORD = "{password}"\nAWS_ACCESS_KEY_ID = "{key}"\n'
    elif where.suffix == ".env":
        text = f"WAREHOUSE_USER=etl_nightly\nWAREHOUSE_PASSWORD={password}\nAWS_ACCESS_KEY_ID={key}\n"
    elif where.suffix == ".toml":
        text = f'[warehouse]\nuser = "etl_nightly"\npassword = "{password}"\n\n[export]\naws_access_key_id = "{key}"\n'
    else:
        text = f"warehouse:\n  user: etl_nightly\n  password: {password}\nexport:\n  aws_access_key_id: {key}\n"
    where.write_text(text, encoding="utf-8")


def _scan_only(jobs) -> str:
    if any("detect-secrets scan" in s.command for j in jobs for s in j.steps):
        return (" (`detect-secrets scan` only lists what it finds, and always ends as a success; "
                "`detect-secrets-hook` fails when it finds a secret the baseline does not list.)")
    return ""


def _ignored_failure(jobs, tools: tuple[str, ...]) -> str:
    ignored = [s for j in jobs for s in j.steps if s.ignored]
    if ignored:
        return f" The step `{ignored[0].label}` failed, but `continue-on-error: true` hid it: remove that line."
    hidden = [s for j in jobs for s in j.steps if "|| true" in s.command or "exit 0" in s.command]
    if hidden:
        return f" The step `{hidden[0].label}` hides a failure (`|| true` or `exit 0`): remove that."
    piped = [s for j in jobs for s in j.steps if any(t in s.command for t in tools)
             and re.search(r"\b(?:" + "|".join(tools) + r")\b[^|]*(?<!\|)\|(?!\|)", s.command)]
    if piped:
        return (f" The step `{piped[0].label}` pipes into another command: only the pipe's last command counts. "
                "Remove the pipe, or add `shell: bash` to the step (it turns on pipefail).")
    return ""


@pytest.mark.points(2)
def test_broken_pipeline_fails_the_workflow(learner, tmp_path_factory):
    """A pull request that breaks the pipeline makes the workflow fail"""
    assert _clean_runs(learner, tmp_path_factory) is not None, (
        "First make every step pass on the unchanged project (the check above): only then does a failure mean "
        "something.")
    jobs = _run("bug", learner, tmp_path_factory, _plant_bug)
    assert any(j.result != "success" for j in jobs), (
        f"I changed one line in pipeline/steps.py so that {_STATE['bug'][2]} (a different change each time you "
        "check); tests/test_steps.py fails on that. Your workflow still passed, so a pull request with this bug would "
        "look fine. Run the tests in a step (`uv run pytest`), and let its failure fail the job."
        + _ignored_failure(jobs, ("pytest",)) + f"\nWhat ran:\n{_what_ran(jobs)}")


@pytest.mark.points(2)
def test_new_secret_fails_the_workflow(learner, tmp_path_factory):
    """A pull request that adds a password and a key makes the workflow fail"""
    assert _clean_runs(learner, tmp_path_factory) is not None, (
        "First make every step pass on the unchanged project (the check above): only then does a failure mean "
        "something.")
    jobs = _run("secret", learner, tmp_path_factory, _plant_secret)
    assert any(j.result != "success" for j in jobs), (
        f"I added a file {_STATE['secret_file']} with a made-up password and a made-up AWS key (a different file "
        "each time you check), and your workflow still passed. Add a step that scans the repository's files with detect-secrets against the project's "
        "baseline, for example `git ls-files -z | xargs -0 uv run detect-secrets-hook --baseline .secrets.baseline`"
        ", and let its failure fail the job." + _scan_only(jobs)
        + _ignored_failure(jobs, ("detect-secrets-hook", "pre-commit"))
        + f"\nWhat ran:\n{_what_ran(jobs)}")
