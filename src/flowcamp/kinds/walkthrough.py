"""Walk-throughs: a git exercise's model answer as steps a learner types, one command each.

A walk-through is the text of `solution.sh`, marked by its first line, `# walk-through`. Steps are separated
by blank lines. Each step is a few `# ` lines that say why, then ONE of:

- a command line, typed as is in Git Bash or PowerShell: `git ...`, `cd FOLDER` or `uv run python FILE`.
  No shell features (no pipes, `$(...)`, `;`, `&&`, redirections, `$` variables), no `sed` or `grep`, no
  lone `--` (some PowerShell versions drop it).
  `<name>` is a placeholder for a value found in an earlier step's output. After the command, lines
  `#> name: REGEX` tell the runner how to find that value in the output (the first group of the first
  match); the step's words must say where the learner reads it (and name `<name>`). `#! exit N` says the
  command stops with status N on purpose (a merge that stops at a conflict).
- a change the learner makes in their editor: `#@ edit FILE` followed by pairs of `#- old line` and
  `#+ new line` groups (each group of `-` lines is replaced by the `+` lines after it), or `#@ write FILE`
  followed by `#+ line` for every line of the whole file. `<name>` placeholders work here too.

The runner (`run`) does exactly that, in the exercise folder, with no shell: that is how `flowcamp dev check`
proves the walk-through works. Commands run with git's hardened settings (no hooks, no editor, no pager).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

MARKER = "# walk-through"
PLACEHOLDER = re.compile(r"<([a-z][a-z0-9_-]*)>")
# What a typed command must not hold: shell features that differ between Git Bash and PowerShell. `$` and
# the backtick mean something even inside double quotes; the others only outside quotes.
FORBIDDEN_ANYWHERE = ("$(", "$", "|", "`")
FORBIDDEN_UNQUOTED = (";", "&", ">", "<")
QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")
FORBIDDEN_WORDS = ("sed", "grep", "awk", "cat", "echo", "printf", "rm", "bash", "sh")
# In PowerShell these characters mean something in an unquoted word (arrays, script blocks, splatting).
UNQUOTED_SPECIAL = set(",{}()@#")


class WalkthroughError(ValueError):
    """The walk-through cannot be read, or a step failed when run."""


@dataclass
class Step:
    number: int
    line: int  # where the step starts in the file, counting from 1
    why: list[str] = field(default_factory=list)
    command: str | None = None
    captures: list[tuple[str, str]] = field(default_factory=list)  # (name, regex)
    exit: int = 0  # the status the command ends with (not 0 only for a stop on purpose: `#! exit 1`)
    edit: str | None = None  # "edit" or "write"
    path: str | None = None
    changes: list[tuple[list[str], list[str]]] = field(default_factory=list)  # (old lines, new lines)


def is_walkthrough(text: str) -> bool:
    first = next((line for line in text.splitlines() if line.strip()), "")
    return first.strip().lower().startswith(MARKER)


def _blocks(text: str) -> list[tuple[int, list[str]]]:
    blocks, current, start = [], [], 0
    for i, line in enumerate(text.splitlines(), 1):
        if line.strip():
            if not current:
                start = i
            current.append(line.rstrip())
        elif current:
            blocks.append((start, current))
            current = []
    if current:
        blocks.append((start, current))
    return blocks


def _content(line: str, prefix: str) -> str:
    rest = line[len(prefix):]
    return rest[1:] if rest.startswith(" ") else rest


def _parse_edit(step: Step, lines: list[str], at: int) -> None:
    head = lines[0][2:].split(None, 1)
    if len(head) != 2 or head[0] not in ("edit", "write"):
        raise WalkthroughError(f"line {at}: write `#@ edit FILE` or `#@ write FILE`")
    step.edit, step.path = head[0], head[1].strip()
    for line in lines[1:]:
        if line.startswith("#-"):
            if not step.changes or step.changes[-1][1]:
                step.changes.append(([], []))
            step.changes[-1][0].append(_content(line, "#-"))
        elif line.startswith("#+"):
            if not step.changes:
                step.changes.append(([], []))
            step.changes[-1][1].append(_content(line, "#+"))
        else:
            raise WalkthroughError(f"line {at}: after `#@ {step.edit}`, every line starts with `#-` or `#+`")
    if step.edit == "write" and (len(step.changes) != 1 or step.changes[0][0]):
        raise WalkthroughError(f"line {at}: `#@ write` takes only `#+` lines (the whole new file)")
    if step.edit == "edit" and (not step.changes or any(not old for old, _ in step.changes)):
        raise WalkthroughError(f"line {at}: `#@ edit` needs `#-` lines (what to change) before its `#+` lines")


def _parse_step(number: int, at: int, lines: list[str]) -> Step:
    step = Step(number, at)
    i = 0
    while i < len(lines) and lines[i].startswith("#") and not lines[i].startswith(("#@", "#>", "#-", "#+")):
        step.why.append(_content(lines[i], "#"))
        i += 1
    if not step.why:
        raise WalkthroughError(f"line {at}: a step starts with `# ` lines that say why")
    rest = lines[i:]
    if not rest:
        raise WalkthroughError(f"line {at}: this step has no command and no `#@ edit`")
    if rest[0].startswith("#@"):
        _parse_edit(step, rest, at + i)
        return step
    if rest[0].startswith("#"):
        raise WalkthroughError(f"line {at + i}: expected the step's command here")
    step.command = rest[0].strip()
    for line in rest[1:]:
        m = re.fullmatch(r"#>\s*([a-z][a-z0-9_-]*)\s*:\s*(.+)", line)
        status = re.fullmatch(r"#!\s*exit\s+(\d+)", line)
        if status:
            step.exit = int(status.group(1))
            continue
        if not m:
            raise WalkthroughError(f"line {at}: one command per step; after it, only `#> name: REGEX` "
                                   "or `#! exit N` lines")
        step.captures.append((m.group(1), m.group(2)))
    return step


def parse(text: str) -> tuple[list[str], list[Step]]:
    """The walk-through's introduction (its first block, without `# `) and its steps."""
    blocks = _blocks(text)
    if not blocks or not is_walkthrough(text):
        raise WalkthroughError(f"a walk-through starts with the line `{MARKER}`")
    intro = [_content(line, "#") for line in blocks[0][1][1:]]
    steps = [_parse_step(n, at, lines) for n, (at, lines) in enumerate(blocks[1:], 1)]
    return intro, steps


def _command_problems(step: Step, known: set[str]) -> list[str]:
    where = f"step {step.number} (line {step.line})"
    out = []
    used = PLACEHOLDER.findall(step.command)
    out += [f"{where}: <{n}> is not found by an earlier step's `#> {n}: ...`" for n in used if n not in known]
    bare = PLACEHOLDER.sub("X", step.command)
    unquoted = QUOTED.sub("Q", bare)
    out += [f"{where}: `{t}` is a shell feature; one plain command per step"
            for t in FORBIDDEN_ANYWHERE if t in bare] + [
            f"{where}: `{t}` is a shell feature; one plain command per step"
            for t in FORBIDDEN_UNQUOTED if t in unquoted]
    try:
        words = shlex.split(bare)
        raw = shlex.split(bare, posix=False)
    except ValueError as e:
        return out + [f"{where}: the command cannot be read ({e})"]
    out += [f"{where}: `{w}` is not a git command; say in words what to do" for w in words if w in FORBIDDEN_WORDS]
    out += [f"{where}: quote `{w}`: PowerShell reads {''.join(sorted(set(w) & UNQUOTED_SPECIAL))} in it"
            for w in raw if w[:1] not in "'\"" and set(w) & UNQUOTED_SPECIAL]
    if "--" in words:
        out.append(f"{where}: leave out the lone `--`: some PowerShell versions drop it")
    if not words or not (words[0] in ("git", "cd") or words[:3] == ["uv", "run", "python"]):
        out.append(f"{where}: a command is `git ...`, `cd FOLDER` or `uv run python FILE`")
    return out


def problems(text: str) -> list[str]:
    """What is wrong with a walk-through, in words (for `flowcamp dev check`)."""
    try:
        _, steps = parse(text)
    except WalkthroughError as e:
        return [str(e)]
    if not steps:
        return ["the walk-through has no steps"]
    out, known = [], set()
    for step in steps:
        if step.command is not None:
            out += _command_problems(step, known)
        else:
            text_of = "\n".join(line for old, new in step.changes for line in old + new)
            out += [f"step {step.number} (line {step.line}): <{n}> is not found by an earlier step"
                    for n in PLACEHOLDER.findall(text_of) if n not in known and n in _all_names(steps)]
        for name, pattern in step.captures:
            try:
                re.compile(pattern)
            except re.error as e:
                out.append(f"step {step.number}: the pattern for <{name}> is not a regular expression ({e})")
            if f"<{name}>" not in " ".join(step.why):
                out.append(f"step {step.number}: say in its words where the learner reads <{name}>")
            known.add(name)
    return out


def _all_names(steps: list[Step]) -> set[str]:
    return {name for s in steps for name, _ in s.captures}


def _fill(text: str, values: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def _argv(command: str) -> list[str]:
    """The command as the learner types it, run without a shell. `uv run python` is flowcamp's own Python
    (the one uv gives the learner), also inside `git bisect run`. git gets the hardened settings."""
    from flowcamp.proc import SAFE_GIT_CONFIG

    words = shlex.split(command)
    out, i = [], 0
    while i < len(words):
        if words[i:i + 3] == ["uv", "run", "python"]:
            out.append(sys.executable)
            i += 3
        else:
            out.append(words[i])
            i += 1
    return ["git", *SAFE_GIT_CONFIG, *out[1:]] if out[0] == "git" else out


def _apply_edit(step: Step, folder: Path, values: dict[str, str]) -> None:
    path = folder / step.path
    if step.edit == "write":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(_fill(line, values) + "\n" for line in step.changes[0][1]), encoding="utf-8")
        return
    if not path.is_file():
        raise WalkthroughError(f"step {step.number}: {step.path} is not there to edit")
    text = path.read_text(encoding="utf-8")
    nl = "\r\n" if "\r\n" in text else "\n"
    for old, new in step.changes:
        before, after = (nl.join(_fill(line, values) for line in lines) for lines in (old, new))
        if before not in text:
            raise WalkthroughError(f"step {step.number}: {step.path} has no line {before!r} to change")
        text = text.replace(before, after, 1)
    path.write_bytes(text.encode("utf-8"))


def run(text: str, folder: Path, env: dict[str, str] | None = None, timeout: float = 120) -> list[str]:
    """Do every step in the exercise folder, as a learner would. Returns what each command printed;
    raises WalkthroughError, naming the step, when one fails."""
    from flowcamp.proc import git_env

    bad = problems(text)
    if bad:
        raise WalkthroughError("; ".join(bad))
    _, steps = parse(text)
    here, values, printed = Path(folder), {}, []
    environment = git_env({**os.environ, **(env or {})})
    for step in steps:
        if step.edit:
            _apply_edit(step, here, values)
            continue
        command = _fill(step.command, values)
        words = shlex.split(command)
        if words[0] == "cd":
            here = (here / words[1]).resolve()
            continue
        done = subprocess.run(_argv(command), cwd=here, env=environment, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=timeout)
        output = done.stdout + done.stderr
        printed.append(output)
        if done.returncode != step.exit:
            raise WalkthroughError(f"step {step.number} `{command}` ended with status {done.returncode}, "
                                   f"not {step.exit}:\n"
                                   f"{output[-1500:]}")
        for name, pattern in step.captures:
            m = re.search(pattern, output, re.MULTILINE)
            if not m:
                raise WalkthroughError(f"step {step.number} `{command}`: nothing in its output matches "
                                       f"{pattern!r} (for <{name}>):\n{output[-1500:]}")
            values[name] = m.group(1) if m.groups() else m.group(0)
    return printed


def display(text: str) -> list[tuple[str, str]]:
    """The walk-through for a learner to read, as (what, text) pieces: "intro" and "why" (words), "step" (its
    heading), "command" (to type), "diff" (a change in the editor: `-` old lines, `+` new ones), "file" (a
    whole file to write). The runner's patterns are left out: the words say where to read a value."""
    intro, steps = parse(text)
    out = [("intro", "\n".join(intro))] if intro else []
    for step in steps:
        out.append(("step", f"Step {step.number}"))
        out.append(("why", "\n".join(step.why)))
        if step.command is not None:
            out.append(("command", step.command))
        elif step.edit == "write":
            out.append(("file", f"{step.path}:\n" + "\n".join(step.changes[0][1])))
        else:
            lines = [f"--- {step.path}", f"+++ {step.path}"]
            for old, new in step.changes:
                lines += [f"-{x}" for x in old] + [f"+{x}" for x in new]
            out.append(("diff", "\n".join(lines)))
    return out
