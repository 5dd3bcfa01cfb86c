"""Run a GitHub Actions workflow's `run:` steps on this computer, the way a fresh GitHub runner would, offline.

The check process reads the workflow (it never runs learner code itself); every `run:` step runs as GitHub
runs it on Linux (`bash -e`, or `bash --noprofile --norc -eo pipefail` with `shell: bash`) in a learner
subprocess, with a clean environment. What cannot run here is stubbed:

- `uses: actions/checkout`: the job's folder gets the repository's files, committed in a new git repository.
- `uses: astral-sh/setup-uv` (or a `run:` step that only installs uv with pip, pipx or the install script):
  the uv already on this computer is put on PATH. Before that step, `uv` is "command not found".
- any other `uses:` (setup-python, cache, ...): does nothing.
- `${{ ... }}`: github.event_name is "pull_request", secrets and vars are empty, matrix values are the
  first of each list, runner.os is "Linux"; anything else is empty text.
- uv runs with UV_OFFLINE=1 and the course's own package cache, so nothing is downloaded; pip gets no index.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

EXPR = re.compile(r"\$\{\{(.*?)\}\}", re.S)
INSTALLS_UV = re.compile(
    r"^\s*(?:(?:python3?\s+-m\s+)?pip3?\s+install\s+(?:(?:-U|--upgrade|--user|-q|--quiet)\s+)*"
    r"['\"]?uv(?:[=<>~!]=?[\w.]*)?['\"]?"
    r"|pipx\s+install\s+uv|curl\s+-\w+\s+https://astral\.sh/uv/[\w./-]*install\.sh\s*\|\s*(?:ba)?sh)\s*$")


@dataclass
class Step:
    label: str
    command: str
    outcome: str  # success, failure, skipped, stubbed
    output: str = ""
    ignored: bool = False  # failed, but continue-on-error let the job go on


@dataclass
class Job:
    name: str
    steps: list[Step] = field(default_factory=list)
    result: str = "success"
    folder: Path | None = None

    def failed_step(self) -> Step | None:
        return next((s for s in self.steps if s.outcome == "failure" and not s.ignored), None)


def triggers(workflow: dict) -> dict:
    """The workflow's `on:` as a dict (YAML 1.1 reads the key `on` as True)."""
    on = workflow.get("on", workflow.get(True))
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return {str(x): None for x in on}
    return on if isinstance(on, dict) else {}


def _stub_value(name: str, env: dict, matrix: dict, ctx: dict) -> str:
    name = name.strip()
    parts = name.split(".")
    if parts[0] == "env" and len(parts) == 2:
        return env.get(parts[1], "")
    if parts[0] == "matrix" and len(parts) == 2:
        return str(matrix.get(parts[1], ""))
    return ctx.get(name, "")


def substitute(text, env: dict, matrix: dict, ctx: dict) -> str:
    """Replace each ${{ expression }} by its stub value."""
    if text is None:
        return ""
    if isinstance(text, bool):
        return "true" if text else "false"
    return EXPR.sub(lambda m: _stub_value(m.group(1), env, matrix, ctx), str(text))


def _literal(token: str, env, matrix, ctx):
    if token in ("true", "false"):
        return token == "true"
    if re.fullmatch(r"-?\d+(\.\d+)?", token):
        return float(token)
    if token.startswith("'"):
        return token[1:-1].replace("''", "'")
    return _stub_value(token, env, matrix, ctx)


def condition(text, ok: bool, env: dict, matrix: dict, ctx: dict) -> bool | None:
    """Evaluate a step's or job's `if:` (None: this check cannot work it out)."""
    if text is None:
        return ok
    if isinstance(text, bool):
        return text
    src = str(text).strip()
    m = re.fullmatch(r"\$\{\{(.*)\}\}", src, re.S)
    src = m.group(1) if m else src
    calls = {"always()": True, "success()": ok, "failure()": not ok, "cancelled()": False}
    pieces, values = [], []
    uses_status = False
    for tok in re.findall(r"\w+\(\)|'(?:[^']|'')*'|[\w.\-]+|==|!=|&&|\|\||!|\(|\)|\S", src):
        if tok in calls:
            uses_status = uses_status or tok != "cancelled()"
            values.append(calls[tok])
        elif tok in ("&&", "||", "!", "(", ")", "==", "!="):
            pieces.append({"&&": " and ", "||": " or ", "!": " not "}.get(tok, tok))
            continue
        elif re.fullmatch(r"'(?:[^']|'')*'|[\w.\-]+", tok):
            values.append(_literal(tok, env, matrix, ctx))
        else:
            return None
        pieces.append(f"_v{len(values) - 1}")
    try:
        tree = ast.parse("".join(pieces), mode="eval")
        value = _evaluate(tree.body, values)
    except (SyntaxError, ValueError, IndexError):
        return None
    return bool(value) and (uses_status or ok)


def _evaluate(node, values):
    if isinstance(node, ast.Name) and node.id.startswith("_v"):
        return values[int(node.id[2:])]
    if isinstance(node, ast.BoolOp):
        results = [_evaluate(v, values) for v in node.values]
        return all(results) if isinstance(node.op, ast.And) else any(results)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return not _evaluate(node.operand, values)
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        a, b = _evaluate(node.left, values), _evaluate(node.comparators[0], values)
        a, b = (a.lower(), b.lower()) if isinstance(a, str) and isinstance(b, str) else (a, b)
        if isinstance(node.ops[0], ast.Eq):
            return a == b
        if isinstance(node.ops[0], ast.NotEq):
            return a != b
    raise ValueError("not an expression this check understands")


def runner_path(first: Path) -> list[str]:
    """A runner's PATH: the system's own folders, git and bash, and no Python tools the learner installed
    (a pytest on this computer's PATH is not on GitHub's runner)."""
    path = [str(first)]
    for tool in ("git", "bash", "xargs"):
        found = shutil.which(tool)
        if found:
            path.append(str(Path(found).parent))
    path += ["/usr/bin", "/bin"]
    return list(dict.fromkeys(path))


class Runner:
    """One workflow run on this computer: `source` is the repository a checkout gives."""

    def __init__(self, root: Path, source: Path, run_bash, uv: str, python: str, cache: str):
        self.root, self.source, self.run_bash = root, source, run_bash
        self.uv, self.python, self.cache = uv, python, cache
        for d in ("home", "tmp", "bin", "pre-commit", "../pycache"):
            (root / d).mkdir(parents=True, exist_ok=True)

    # ----------------------------------------------------------------------------- the runner's set-up
    def _hide_uv(self, on_path: bool) -> None:
        for name in ("uv", "uvx"):
            link = self.root / "bin" / name
            if link.exists() or link.is_symlink():
                link.unlink()
            if on_path:
                real = Path(self.uv).with_name(name) if name == "uvx" else Path(self.uv)
                if real.exists():
                    link.symlink_to(real)
            else:
                link.write_text(f"#!/bin/sh\necho \"{name}: command not found (no step has set up uv yet)\" >&2\n"
                                "exit 127\n")
                link.chmod(0o755)

    def base_env(self, workspace: Path) -> dict[str, str]:
        r = self.root
        return {
            "PATH": os.pathsep.join(runner_path(r / "bin")), "HOME": str(r / "home"), "TMPDIR": str(r / "tmp"),
            "LANG": "C.UTF-8", "CI": "true", "GITHUB_ACTIONS": "true", "RUNNER_OS": "Linux",
            "RUNNER_TEMP": str(r / "tmp"), "GITHUB_WORKSPACE": str(workspace), "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_REF": "refs/pull/1/merge", "GITHUB_BASE_REF": "main", "GITHUB_HEAD_REF": "my-change",
            "PYTHONPYCACHEPREFIX": str(r.parent / "pycache"),
            "UV_OFFLINE": "1", "UV_CACHE_DIR": self.cache, "UV_PYTHON": self.python,
            "UV_PYTHON_DOWNLOADS": "never", "UV_NO_PROGRESS": "1", "NO_COLOR": "1",
            "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PRE_COMMIT_HOME": str(r / "pre-commit"),
            "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_TERMINAL_PROMPT": "0",
        }

    def context(self, workspace: Path) -> dict[str, str]:
        return {"github.event_name": "pull_request", "github.ref": "refs/pull/1/merge", "github.base_ref": "main",
                "github.head_ref": "my-change", "github.workspace": str(workspace), "runner.os": "Linux",
                "runner.temp": str(self.root / "tmp"), "runner.arch": "X64", "github.sha": "0" * 40,
                "github.repository": "team/nightly-pipeline", "github.run_id": "1", "github.actor": "learner"}

    def checkout(self, workspace: Path) -> None:
        """The stub of actions/checkout: the job's folder holds the repository's files, committed."""
        for item in workspace.iterdir() if workspace.exists() else []:
            if item.name != ".venv":
                shutil.rmtree(item) if item.is_dir() and not item.is_symlink() else item.unlink()
        shutil.copytree(self.source, workspace, dirs_exist_ok=True, symlinks=True)
        env = {**self.base_env(workspace), "GIT_AUTHOR_NAME": "Flowcamp", "GIT_AUTHOR_EMAIL": "ci@example.org",
               "GIT_COMMITTER_NAME": "Flowcamp", "GIT_COMMITTER_EMAIL": "ci@example.org"}
        for args in (["init", "-q", "--template=", "-b", "main"], ["add", "-A"],
                     ["commit", "-q", "--no-verify", "-m", "The pull request"]):
            subprocess.run(["git", *args], cwd=workspace, env=env, check=True, capture_output=True)

    # ------------------------------------------------------------------------------------ running a job
    def run_job(self, job_id: str, job: dict, workflow: dict) -> Job:
        workspace = self.root / "jobs" / re.sub(r"[^\w-]", "_", job_id)
        for item in workspace.iterdir() if workspace.exists() else []:
            if item.name != ".venv":
                shutil.rmtree(item) if item.is_dir() and not item.is_symlink() else item.unlink()
        workspace.mkdir(parents=True, exist_ok=True)
        self._hide_uv(False)
        matrix = {k: (v[0] if isinstance(v, list) and v else v)
                  for k, v in ((job.get("strategy") or {}).get("matrix") or {}).items()
                  if k not in ("include", "exclude")}
        ctx = self.context(workspace)
        files = {n: self.root / "tmp" / f"{job_id}-{n}" for n in ("GITHUB_ENV", "GITHUB_PATH", "GITHUB_OUTPUT",
                                                                   "GITHUB_STEP_SUMMARY")}
        for f in files.values():
            f.write_text("")
        env = {**self.base_env(workspace), **{k: str(v) for k, v in files.items()}}
        for scope in (workflow.get("env"), job.get("env")):
            for k, v in (scope or {}).items():
                env[str(k)] = substitute(v, env, matrix, ctx)
        defaults = {**((workflow.get("defaults") or {}).get("run") or {}),
                    **((job.get("defaults") or {}).get("run") or {})}
        result = Job(job_id, folder=workspace)
        for i, step in enumerate(job.get("steps") or [], 1):
            step = step if isinstance(step, dict) else {}
            result.steps.append(self._step(i, step, workspace, env, matrix, ctx, defaults, result, files))
        result.result = "failure" if result.failed_step() else "success"
        return result

    def _step(self, i, step, workspace, env, matrix, ctx, defaults, job: Job, files) -> Step:
        uses, run = step.get("uses"), step.get("run")
        label = str(step.get("name") or uses or (str(run).strip().splitlines() or [""])[0])
        ok = job.failed_step() is None
        go = condition(step.get("if"), ok, env, matrix, ctx)
        if go is None:
            return Step(label, f"if: {step.get('if')}", "skipped",
                        "This check cannot work out this step's `if:` condition here, so it skipped the step.")
        if not go:
            return Step(label, str(run or uses), "skipped")
        step_env = {**env, **{str(k): substitute(v, env, matrix, ctx) for k, v in (step.get("env") or {}).items()}}
        if uses:
            action = str(uses).split("@")[0].lower()
            if action == "actions/checkout":
                self.checkout(workspace)
            elif action == "astral-sh/setup-uv":
                self._hide_uv(True)
                if str((step.get("with") or {}).get("activate-environment", "")).lower() == "true":
                    env["VIRTUAL_ENV"] = str(workspace / ".venv")
                    env["PATH"] = f"{workspace / '.venv' / 'bin'}{os.pathsep}{env['PATH']}"
            return Step(label, f"uses: {uses}", "stubbed")
        command = substitute(run, step_env, matrix, ctx)
        if INSTALLS_UV.match(command.strip()) and all(INSTALLS_UV.match(x) for x in command.strip().splitlines()):
            self._hide_uv(True)
            return Step(label, command, "stubbed")
        chosen = step.get("shell") or defaults.get("shell")
        shell = str(chosen or "bash").split()[0]
        if shell not in ("bash", "sh"):
            return self._finish(label, command, 1, f"This check runs steps with bash only, not `{shell}`.", step)
        cwd = workspace / substitute(step.get("working-directory") or defaults.get("working-directory") or ".",
                                     step_env, matrix, ctx)
        if not cwd.is_dir():
            return self._finish(label, command, 1, f"The folder {cwd.relative_to(workspace)} does not exist.", step)
        script = self.root / "tmp" / f"step-{i}.sh"
        script.write_text(command + "\n")
        # GitHub's own commands: `shell: bash` adds pipefail; with no `shell:`, a pipe's last command decides.
        args = (["sh", "-e", str(script)] if shell == "sh" else ["bash", "-e", str(script)] if not chosen
                else ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)])
        code, output = self.run_bash(cwd, args, step_env)
        output = output.replace(str(script), f"step-{i}.sh")
        self._apply_files(env, files)
        return self._finish(label, command, code, output, step)

    @staticmethod
    def _apply_files(env: dict, files: dict) -> None:
        for line in files["GITHUB_PATH"].read_text().splitlines():
            if line.strip() and line.strip() not in env["PATH"].split(os.pathsep):
                env["PATH"] = f"{line.strip()}{os.pathsep}{env['PATH']}"
        for line in files["GITHUB_ENV"].read_text().splitlines():
            if "=" in line and "<<" not in line:
                k, v = line.split("=", 1)
                env[k] = v

    @staticmethod
    def _finish(label, command, code, output, step) -> Step:
        ignored = str(step.get("continue-on-error", "")).lower() == "true"
        return Step(label, command, "success" if code == 0 else "failure", output, ignored and code != 0)

    def run(self, workflow: dict) -> list[Job]:
        """Every job, in the file's order; a job whose `needs` did not succeed is skipped."""
        done: dict[str, Job] = {}
        for job_id, job in (workflow.get("jobs") or {}).items():
            job = job if isinstance(job, dict) else {}
            needs = job.get("needs") or []
            needs = [needs] if isinstance(needs, str) else needs
            if any(done.get(str(n)) is None or done[str(n)].result != "success" for n in needs):
                done[str(job_id)] = Job(str(job_id), result="skipped")
                continue
            if condition(job.get("if"), True, {}, {}, self.context(self.root)) is False:
                done[str(job_id)] = Job(str(job_id), result="skipped")
                continue
            done[str(job_id)] = self.run_job(str(job_id), job, workflow)
        return list(done.values())
