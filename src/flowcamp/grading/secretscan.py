"""The secret scan ``flowcamp submit`` runs before a learner's work leaves their computer.

It looks only at the learner's own changes: files that differ from the course's starter (the lines they added),
new files, and, in each prepared repository, the lines added by commits that the course's prepare script did not
make (prepare is deterministic for a seed, so running it again in a temporary folder gives exactly the commits it
made). With ``workspace_history``, also the commits of the workspace repository itself (what a push would send).

What counts as a secret: a value typed after a name that ends in PASSWORD, SECRET, TOKEN, API_KEY (or a random-
looking value after one that ends in KEY), in .py, .env-like, .toml, .yaml, .ipynb and .sql files; and anywhere,
well-known shapes: AWS access keys, GitHub and Slack tokens, Slack webhook addresses, private key blocks, and a
password inside a connection address (``postgres://user:pass@host``). Not secrets: placeholders (empty,
``changeme``, ``<...>``, ``xxx``, ``${VAR}``, ``{name}``), names of environment variables, the course's fake
secrets (they start with ``fcsecret-``) and any value the course itself put in a starter or a prepared repository.

A finding says where (``file:line``) and what kind of secret, never the value: values stay inside this module.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import math
import os
import re
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from flowcamp import prepare, proc
from flowcamp.course import Course, Exercise
from flowcamp.grading import layout

PLANTED = re.compile(r"fcsecret-[0-9a-f]{6,}")  # the course's fake secrets (lessons/05-secrets)
MAX_SCAN_BYTES = 2 * 1024 * 1024  # a bigger text file is data, not code: only its shapes would matter
GIT_TIMEOUT = 120

_SHAPES = [
    ("an AWS access key", re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}"
                                     r"(?![A-Z0-9])")),
    ("a GitHub token", re.compile(r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})")),
    ("a Slack token", re.compile(r"(?<![A-Za-z0-9])xox[abposr]-[A-Za-z0-9-]{10,}")),
    ("a Slack webhook address", re.compile(r"hooks\.slack\.com/services/[A-Za-z0-9_/]{20,}")),
    ("a private key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")),
]
_URL_PASSWORD = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.\-]{1,20}://[^\s:/@'\"<>]*:(?P<value>[^\s@/'\"<>]+)@")
_BEARER = re.compile(r"\bBearer\s+(?P<value>[A-Za-z0-9._~+/=-]{20,})")
# name = "value", name: "value", "name": "value", name: str = "value", ["name"] = "value", name := "value"
_CODE = re.compile(r"""(?P<name>[A-Za-z_][A-Za-z0-9_.\-]*)["']?\]?\s*(?::\s*[A-Za-z_][\w\[\], .|]*?\s*)?"""
                   r"""(?:=|:=|:|=>)\s*[rRbBuUfF]{0,2}(?P<q>"|')(?P<value>(?:\\.|(?!(?P=q)).)*)(?P=q)""")
# os.environ.get(NAME, "default"), os.getenv(prefix + "_PASSWORD", "default"): a secret typed in as a default
_DEFAULT = re.compile(r"""\b(?:get|getenv|setdefault)\(\s*(?P<arg>[^,()]{1,120}?)\s*,\s*[rRbBuUfF]{0,2}"""
                      r"""(?P<q>"|')(?P<value>(?:\\.|(?!(?P=q)).)*)(?P=q)\s*\)""")
_ENV = re.compile(r"^\s*(?:export\s+|set\s+)?(?P<name>[A-Za-z_][A-Za-z0-9_.]*)\s*[=:]\s*(?P<value>.*?)\s*$")
_YAML = re.compile(r"^\s*(?:-\s+)?(?P<name>[A-Za-z_][\w.\-]*)\s*:\s+(?P<value>[^\s#'\"{\[&*!|>][^#]*?)\s*(?:#.*)?$")
_SQL = re.compile(r"(?i)\b(?P<name>password|secret|key_id|session_token|token)\s+'(?P<value>[^']*)'")
_KEYWORD = re.compile(r"(?i)\b(?P<name>password|pwd|api_key|apikey|token|secret)=(?P<value>[^\s'\"&;,)]+)")
_STRONG_KEYS = ("secret key", "private key", "access key", "auth key", "signing key", "master key", "encryption key")
_ENV_NAME = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")
_PLACEHOLDER_WORDS = ("changeme", "change-me", "change_me", "example", "placeholder", "redacted", "removed",
                      "dummy", "fake", "your-", "your_", "yourpass", "replace", "todo", "xxx", "***", "...", "…")
_NOT_SECRETS = {"none", "null", "nil", "true", "false", "password", "passwd", "pass", "secret", "token", "key", "test",
                "tbd", "hidden", "empty", "unset", "required", "optional", "str", "string", "secretstr"}
_ENV_FILES = (".sh", ".bash", ".zsh", ".ini", ".cfg", ".conf", ".properties", ".envrc")
_CODE_FILES = (".py", ".pyw", ".toml", ".ipynb", ".json", ".ps1", ".yaml", ".yml", ".sql", ".r", ".js", ".ts")


@dataclass(frozen=True)
class Finding:
    """Where a secret-looking value is, and what kind: never the value."""

    location: str  # "<path from the workspace folder>:<line>"; in a commit "<path>@<commit>:<line>"
    kind: str  # "a password typed into the file", "an AWS access key", ...
    commit: str | None = None  # the commit that added it (full hash), for findings in a repository's history

    def to_dict(self) -> dict:
        return {"location": self.location, "kind": self.kind, **({"commit": self.commit} if self.commit else {})}

    def describe(self) -> str:
        where = f" (added in commit {self.commit[:7]})" if self.commit else ""
        return f"{self.location}  {self.kind}{where}"


@dataclass
class ScanResult:
    findings: list[Finding] = field(default_factory=list)
    files: int = 0  # files the learner changed or added, scanned
    commits: int = 0  # the learner's own commits, scanned
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------ detection


def _words(name: str) -> list[str]:
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name.rsplit(".", 1)[-1])
    return [w for w in re.split(r"[_\-\s]+", name.lower()) if w]


def name_kind(name: str) -> tuple[str, bool] | None:
    """(kind, strong) for a name that holds a secret, or None. Strong: any real value is a secret; weak (a name
    ending in KEY): only a random-looking one is (SORT_KEY = "event_id" is not)."""
    words = _words(name)
    if not words or "hashed" in words or "hash" in words or words[-1] in ("name", "names", "file", "path", "env"):
        return None
    last, two = words[-1], " ".join(words[-2:])
    if last in ("password", "passwd", "pwd", "passphrase") or (last == "pass" and len(words) > 1):
        return "a password typed into the file", True
    kind = {"secret": "a secret", "token": "a token", "apikey": "an API key"}.get(
        last, {"api key": "an API key"}.get(two, "a key" if two in _STRONG_KEYS else None))
    if kind:
        return f"{kind} typed into the file", True
    return ("a key typed into the file", False) if last == "key" else None


def entropy(value: str) -> float:
    counts = {c: value.count(c) for c in set(value)}
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values()) if value else 0.0


def looks_random(value: str) -> bool:
    """A generated key or token rather than words: long, no spaces, mixed characters, high entropy."""
    if len(value) < 16 or any(c.isspace() for c in value):
        return False
    if re.fullmatch(r"[0-9a-fA-F]{32,}", value):
        return True
    classes = sum(any(f(c) for c in value) for f in (str.islower, str.isupper, str.isdigit))
    return classes >= 2 and any(c.isdigit() for c in value) and entropy(value) >= 3.5 \
        and not re.fullmatch(r"[a-z]+(?:[-_.][a-z0-9]+)*", value)


def is_placeholder(value: str) -> bool:
    """Empty, a placeholder, words (a label), a template or a reference to something else: not a value anyone
    could leak."""
    v = value.strip().strip("\"'").strip()
    low = v.lower()
    return (len(v) < 4 or " " in v or low in _NOT_SECRETS or bool(_ENV_NAME.fullmatch(v)) or v[0] in "<$%{[("
            or ("{" in v and "}" in v) or "%s" in v or "%(" in v or bool(re.fullmatch(r"(.)\1+", v))
            or any(w in low for w in _PLACEHOLDER_WORDS))


def allowed_by_course(value: str) -> bool:
    return bool(PLANTED.search(value))


def style(path: str) -> str:
    """How to read a file for named values: "env" (NAME=value lines), "code", or "" (only well-known shapes)."""
    name = path.rsplit("/", 1)[-1].lower()
    suffix = os.path.splitext(name)[1]
    if name.startswith(".env") or name.endswith(".env") or suffix in _ENV_FILES:
        return "env"
    return "code" if suffix in _CODE_FILES else ""


def _named(name: str, value: str) -> str | None:
    found = name_kind(name)
    return found[0] if found is not None and (found[1] or looks_random(value)) else None


def detect_line(line: str, how: str, suffix: str = "") -> list[tuple[str, str]]:
    """(kind, value) for every secret-looking value in one line (one finding a value). The values never leave
    this module."""
    found = [(kind, m.group(0)) for kind, rx in _SHAPES for m in rx.finditer(line) if "EXAMPLE" not in m.group(0)]
    shapes = len(found)  # well-known shapes need no placeholder test
    found += [("a password inside a connection address", m.group("value")) for m in _URL_PASSWORD.finditer(line)]
    found += [("a bearer token", m.group("value")) for m in _BEARER.finditer(line) if looks_random(m.group("value"))]
    named: list[tuple[str, str]] = []
    if how == "env" and not line.lstrip().startswith("#"):
        named += [(m.group("name"), re.sub(r"(?:^|\s+)#.*$", "", m.group("value")).strip().strip("\"'"))
                  for m in [_ENV.match(line)] if m]
    if how == "code":
        text = line.replace('\\"', '"') if suffix == ".ipynb" else line
        matches = list(_CODE.finditer(text)) + [m for m in [_YAML.match(text)] if m and suffix in (".yaml", ".yml")]
        matches += list(_SQL.finditer(text)) + list(_KEYWORD.finditer(text)) if suffix == ".sql" else []
        named += [(m.group("name"), m.group("value")) for m in matches]
        named += [(names[-1], m.group("value")) for m in _DEFAULT.finditer(text)
                  for names in [re.findall(r"[A-Za-z_][A-Za-z0-9_]*", m.group("arg"))] if names]
    found += [(kind, value) for name, value in named for kind in [_named(name, value)] if kind]
    out, seen = [], set()
    for i, (kind, value) in enumerate(found):
        if value not in seen and not allowed_by_course(value) and (i < shapes or not is_placeholder(value)):
            seen.add(value)
            out.append((kind, value))
    return out


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).hexdigest()


def detect(text: str, path: str, lines: set[int] | None = None) -> list[tuple[int, str, str]]:
    """(line number, kind, digest of the value) in a text; only the given line numbers when ``lines`` is set."""
    how, suffix = style(path), os.path.splitext(path.lower())[1]
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if lines is not None and n not in lines:
            continue
        out += [(n, kind, digest(value)) for kind, value in detect_line(line, how, suffix)]
    return out


def read_text(data: bytes) -> str | None:
    """A file's text, or None for a binary file."""
    if b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", errors="replace")


def added_lines(old: bytes, new: bytes) -> set[int] | None:
    """Line numbers (1-based) of ``new`` that are not in ``old``; None means every line."""
    old_text, new_text = read_text(old), read_text(new)
    if old_text is None or new_text is None:
        return None
    a, b = old_text.splitlines(), new_text.splitlines()
    out: set[int] = set()
    for tag, _i1, _i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag in ("replace", "insert"):
            out.update(range(j1 + 1, j2 + 1))
    return out


# ------------------------------------------------------------------------------------------ git


def _git(repo: Path, args: list[str], stdin: str | None = None) -> str | None:
    """A read-only git command on a repository the learner controls: none of its hooks or config runs."""
    try:
        done = subprocess.run(proc.safe_git(repo, "-c", "core.quotePath=false", *args), capture_output=True,
                              input=stdin.encode("utf-8") if stdin is not None else None, env=proc.git_env(),
                              timeout=GIT_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.decode("utf-8", errors="replace") if done.returncode == 0 else None


def repositories(folder: Path, files: list[Path]) -> list[tuple[Path, bool]]:
    """The git repositories in a folder, from its file list: (path relative to it, bare?). A working repository
    has a ``.git`` inside; a bare one has HEAD beside objects/ and nothing else of interest."""
    roots: dict[Path, bool] = {}
    for rel in files:
        if ".git" in rel.parts:
            roots[Path(*rel.parts[: rel.parts.index(".git")])] = False
        elif rel.name == "HEAD" and (folder / rel.parent / "objects").is_dir() and rel.parent not in roots:
            roots[rel.parent] = True
    return sorted(roots.items())


def in_repository_store(rel: Path, roots: list[tuple[Path, bool]]) -> bool:
    """Is this file git's own (in a .git folder, or in a bare repository), not a file someone edits?"""
    return ".git" in rel.parts or any(bare and rel.parts[: len(root.parts)] == root.parts for root, bare in roots)


def commit_list(repo: Path, reflog: bool = True) -> list[str]:
    """Every commit of a repository, oldest first: on a branch or tag, and (``reflog``) only in the reflog."""
    out = _git(repo, ["rev-list", "--all", *(["--reflog"] if reflog else []), "--reverse", "--date-order"])
    return [c for c in (out or "").split() if c]


def history_hits(repo: Path, commits: list[str]) -> list[tuple[str, str, int, str, str]]:
    """(commit, path, line, kind, digest) for the lines these commits added (a merge: against its first parent)."""
    if not commits:
        return []
    out = _git(repo, ["log", "--no-walk=unsorted", "--stdin", "-p", "-U0", "--no-renames", "--no-color",
                      "--no-ext-diff", "--no-textconv", "--diff-merges=first-parent", "--root", "--format=%x01%H"],
               stdin="\n".join(commits) + "\n")
    hits: list[tuple[str, str, int, str, str]] = []
    commit, path, n = "", None, 0
    for raw in (out or "").split("\n"):
        if raw.startswith("\x01"):
            commit, path = raw[1:].strip(), None
        elif raw.startswith("diff --git "):
            path = None
        elif raw.startswith("+++ "):
            name = raw[4:].strip().strip('"')
            path = None if name == "/dev/null" else name.removeprefix("b/")
        elif raw.startswith("@@"):
            m = re.match(r"@@ -\S+ \+(\d+)", raw)
            n = int(m.group(1)) if m else 0
        elif raw.startswith("+") and path is not None:
            hits += [(commit, path, n, kind, digest(value))
                     for kind, value in detect_line(raw[1:], style(path), os.path.splitext(path.lower())[1])]
            n += 1
    return hits


# ------------------------------------------------------------------------------------------ the course's own


@dataclass(frozen=True)
class Baseline:
    """What an exercise's prepare script made for a seed: the prepared repositories' files (by path in the
    exercise folder), every commit it made, and the digests of the secret-looking values it put there."""

    files: dict[str, bytes]
    commits: frozenset[str]
    digests: frozenset[str]


_BASELINES: dict[str, Baseline] = {}
_COURSE_DIGESTS: dict[str, frozenset[str]] = {}


def baseline(ex: Exercise, seed: int) -> Baseline:
    """Run the exercise's prepare.py again for this seed, in a temporary folder (kept in memory, per process)."""
    if ex.prepare_script is None:
        return Baseline({}, frozenset(), frozenset())
    key = f"{ex.source_dir}\0{prepare.facts_key(ex.source_dir, seed)}"
    if key in _BASELINES:
        return _BASELINES[key]
    with tempfile.TemporaryDirectory(prefix="flowcamp-scan-", ignore_cleanup_errors=True) as tmp:
        dest = Path(tmp) / Path(ex.path).name
        dest.mkdir()
        prepare.run_prepare_script(ex.prepare_script, dest, seed)
        files = layout.exercise_files(dest)
        roots = repositories(dest, files)
        texts, digests, commits = {}, set(), set()
        for rel in files:
            p = dest / rel
            if in_repository_store(rel, roots) or p.is_symlink() or not p.is_file():
                continue
            texts[rel.as_posix()] = data = p.read_bytes()
            text = read_text(data)
            digests |= {d for _n, _k, d in detect(text, rel.as_posix())} if text is not None else set()
        for root, _bare in roots:
            made = commit_list(dest / root)
            commits.update(made)
            digests |= {hit[4] for hit in history_hits(dest / root, made)}
    _BASELINES[key] = found = Baseline(texts, frozenset(commits), frozenset(digests))
    return found


def course_digests(course: Course) -> frozenset[str]:
    """Digests of the secret-looking values in every starter file of the course (the course's own fakes)."""
    key = str(course.root)
    if key not in _COURSE_DIGESTS:
        found: set[str] = set()
        for ex in course.exercises:
            for rel in ex.starter_files():
                text = read_text((ex.source_dir / rel).read_bytes())
                found |= {d for _n, _k, d in detect(text, rel.as_posix())} if text is not None else set()
        _COURSE_DIGESTS[key] = frozenset(found)
    return _COURSE_DIGESTS[key]


# ------------------------------------------------------------------------------------------ the learner's work


def _changed_file_hits(ex: Exercise, folder: Path, rel: Path, base: Baseline, starters: set[str]):
    """The hits in one file of the exercise folder, in the lines that differ from the course's version; None
    when the file is the course's own, unchanged (or binary)."""
    key = rel.as_posix()
    p = folder / rel
    if p.is_symlink() or not p.is_file():
        return None
    try:
        with open(p, "rb") as fh:
            data = fh.read(MAX_SCAN_BYTES)
        old = (ex.source_dir / rel).read_bytes() if key in starters else base.files.get(key)
    except OSError:  # unreadable: packing it fails with a message that says so
        return None
    if old == data:
        return None
    lines = None if old is None else added_lines(old, data)
    text = read_text(data)
    if text is None or lines == set():
        return None
    return detect(text, key, lines)


def scan_exercise(ws_root: Path, ex: Exercise, seed: int, files: list[Path], allowed: frozenset[str],
                  result: ScanResult) -> None:
    """Scan one exercise folder (its file list as :func:`layout.exercise_files` gives it) into ``result``."""
    folder = Path(ws_root) / ex.path
    try:
        base = baseline(ex, seed)
    except prepare.PrepareError:
        base = Baseline({}, frozenset(), frozenset())
        result.notes.append(f"{ex.path}: the course could not rebuild this exercise's repositories, so every "
                            "commit in them was scanned")
    allowed = allowed | base.digests
    starters = {p.as_posix() for p in ex.starter_files()}
    roots = repositories(folder, files)
    for rel in files:
        if in_repository_store(rel, roots):
            continue
        hits = _changed_file_hits(ex, folder, rel, base, starters)
        if hits is None:
            continue
        result.files += 1
        result.findings += [Finding(f"{ex.path}/{rel.as_posix()}:{n}", kind) for n, kind, d in hits if d not in allowed]
    for root, _bare in roots:
        mine = [c for c in commit_list(folder / root) if c not in base.commits]
        result.commits += len(mine)
        prefix = ex.path if root == Path(".") else f"{ex.path}/{root.as_posix()}"
        _add_history(result, folder / root, mine, prefix, allowed)


def _add_history(result: ScanResult, repo: Path, commits: list[str], prefix: str, allowed: frozenset[str],
                 skip: tuple[str, ...] = ()) -> None:
    seen = set()
    for commit, path, n, kind, d in history_hits(repo, commits):
        if d in allowed or (path, kind, d) in seen or path.startswith(skip):
            continue
        seen.add((path, kind, d))  # the same value in the same file: once, where it was first added
        where = f"{prefix}/{path}" if prefix else path
        result.findings.append(Finding(f"{where}@{commit[:7]}:{n}", kind, commit))


def scan_workspace_history(ws_root: Path, allowed: frozenset[str], result: ScanResult) -> None:
    """The workspace repository's own commits (what a push sends), but the first one flowcamp made from the
    starters, and what ``flowcamp submit --git`` put in submission/."""
    log = _git(ws_root, ["log", "--all", "--reverse", "--date-order", "--format=%H %P%x01%ae"])
    mine = []
    for line in (log or "").splitlines():
        head, _, email = line.partition("\x01")
        sha, *parents = head.split()
        if parents or email != "flowcamp@localhost":
            mine.append(sha)
    result.commits += len(mine)
    _add_history(result, ws_root, mine, "", allowed, skip=(layout.GIT_SNAPSHOT_DIR + "/",))


def _try(fn, *args):
    with contextlib.suppress(prepare.PrepareError):
        return fn(*args)


def scan_workspace(ws, files: dict[str, list[Path]] | None = None, *, workspace_history: bool = False) -> ScanResult:
    """Scan a workspace's exercise folders (``files``: exercise id -> its file list, else every folder there is),
    and with ``workspace_history`` the workspace repository's commits."""
    result = ScanResult()
    allowed = course_digests(ws.course)
    with ThreadPoolExecutor(max_workers=4) as pool:  # the prepare scripts run again, a few at a time
        list(pool.map(lambda ex: _try(baseline, ex, ws.seed), [ex for ex in ws.course.exercises if ex.prepare_script
                                                              and (files is None or ex.id in files)]))
    for ex in ws.course.exercises:
        folder = ws.exercise_dir(ex)
        if files is not None and ex.id not in files:
            continue
        if files is None and (folder.is_symlink() or not folder.is_dir()):
            continue
        listing = files[ex.id] if files is not None else layout.exercise_files(folder)
        scan_exercise(ws.root, ex, ws.seed, listing, allowed, result)
    if workspace_history and (ws.root / ".git").exists():
        scan_workspace_history(ws.root, allowed, result)
    return result
