"""Helpers for exercises' ``prepare.py`` scripts, and the facts that checks read about what they built.

An exercise's ``prepare.py`` defines ``prepare(exercise_dir: Path, seed: int) -> dict``. It builds the
exercise's repositories with :class:`ScriptedRepo` and returns its *facts*: a JSON-serialisable dict keyed
by repository folder, e.g. ``{"pipeline": {"start": sha, "bad": sha}}`` (or ``{}``). It writes nothing for
the checks into the learner's folder. Checks get the facts from :func:`build_facts`, which runs the
course's own prepare.py again, for the same seed, in a temporary folder: prepare is deterministic for a
seed (fixed dates, identities and text), so the result equals what the learner's repository started with,
whatever the learner has done to their files since.

Stdlib only and cheap to import: it runs inside every prepare subprocess.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

DEFAULT_IDENTITY = ("Flowcamp Learner", "learner@example.org")
ASSETS = Path(__file__).resolve().with_name("prepare_assets")
PREPARE_TIMEOUT = 120  # seconds


class PrepareError(RuntimeError):
    """A prepare script failed: a course bug, never a learner's mistake."""


def git_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment every prepare-time git command runs in.

    It ignores the user's and the system's git configuration and any inherited ``GIT_*`` variable, so a
    repository comes out the same on every machine (no global ``commit.gpgsign``, ``core.autocrlf``,
    ``init.defaultBranch``, hooks path, ...).
    """
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("GIT_")}
    env.update({"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_TERMINAL_PROMPT": "0"})
    env.update(extra or {})
    return env


def _run_git(cwd: Path, args: Iterable[str], env: dict[str, str] | None = None) -> str:
    args = list(args)
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, encoding="utf-8",
                          errors="replace", env=git_env(env))
    if proc.returncode != 0:
        raise PrepareError(f"git {' '.join(args)} failed in {cwd}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout.rstrip("\n")


def git_date(when: datetime) -> str:
    """A timezone-aware datetime as git reads it in GIT_AUTHOR_DATE (ISO 8601, whole seconds)."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{when!r} has no time zone: give one (e.g. timezone.utc), or hashes depend on the machine")
    return when.strftime("%Y-%m-%dT%H:%M:%S%z")


class ScriptedRepo:
    """A git repository built by a script, the same way every time.

    ``ScriptedRepo(path)`` runs ``git init`` in ``path`` (made if missing) with ``branch`` as the first
    branch, and gives the repository a local identity (the learner may have none), ``commit.gpgsign`` off
    and ``core.autocrlf`` off. Every commit gets a fixed author, committer and date, so a seed always
    gives the same commit hashes.
    """

    def __init__(self, path: Path, *, branch: str = "main", identity: tuple[str, str] = DEFAULT_IDENTITY):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q")
        self.git("symbolic-ref", "HEAD", f"refs/heads/{branch}")
        self.set_identity(identity)
        self.git("config", "commit.gpgsign", "false")
        self.git("config", "core.autocrlf", "false")

    def __repr__(self) -> str:
        return f"ScriptedRepo({str(self.path)!r})"

    # ------------------------------------------------------------------ git
    def git(self, *args: str, env: dict[str, str] | None = None) -> str:
        """Run a git command here (hardened environment); its output without the last newline."""
        return _run_git(self.path, args, env)

    def set_identity(self, identity: tuple[str, str]) -> None:
        """The repository's own user.name and user.email: who the learner's commits are by."""
        self.git("config", "user.name", identity[0])
        self.git("config", "user.email", identity[1])
        self.identity = (identity[0], identity[1])

    def rev_parse(self, rev: str = "HEAD") -> str:
        return self.git("rev-parse", "--verify", "-q", f"{rev}^{{commit}}")

    def head(self) -> str:
        return self.rev_parse("HEAD")

    def branch(self, name: str, start: str = "HEAD") -> None:
        """Make a branch without moving onto it."""
        self.git("branch", name, start)

    def switch(self, name: str, *, create: bool = False) -> None:
        """Move onto a branch (``create``: make it first, at HEAD)."""
        self.git("switch", "-q", *(["-c"] if create else []), name)

    def add(self, *paths: str) -> None:
        """Stage these paths (everything, with none)."""
        self.git("add", *(paths or ("-A",)))

    def commit(self, message: str, author: tuple[str, str] | None = None, when: datetime | None = None, *,
               committer: tuple[str, str] | None = None, add_all: bool = True) -> str:
        """Commit (after ``git add -A`` unless ``add_all`` is false) and return the new commit's sha.

        ``author`` defaults to the repository's identity, ``committer`` to the author. ``when`` is required
        and sets both dates: a timezone-aware datetime.
        """
        if when is None:
            raise ValueError("commit() needs `when`: a fixed date is what makes the hashes reproducible")
        name, email = author or self.identity
        c_name, c_email = committer or (name, email)
        stamp = git_date(when)
        if add_all:
            self.add()
        self.git("commit", "-q", "-m", message, env={
            "GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_AUTHOR_DATE": stamp,
            "GIT_COMMITTER_NAME": c_name, "GIT_COMMITTER_EMAIL": c_email, "GIT_COMMITTER_DATE": stamp,
        })
        return self.head()

    def publish_bare(self, dest: Path, branches: Iterable[str] = ("main",), head: str = "main") -> Path:
        """A bare repository at ``dest`` (a stand-in for the team's GitHub) holding these branches."""
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        _run_git(dest.parent, ["init", "-q", "--bare", str(dest)])
        _run_git(dest, ["symbolic-ref", "HEAD", f"refs/heads/{head}"])
        self.git("push", "-q", str(dest.resolve()), *branches)
        return dest

    # ------------------------------------------------------------------ files
    def file(self, rel: str) -> Path:
        return self.path / rel

    def exists(self, rel: str) -> bool:
        return (self.path / rel).exists()

    def write(self, rel: str, text: str, *, newline: str | None = "\n") -> Path:
        """Write a UTF-8 text file (folders made as needed). Newlines are LF on every platform.

        ``newline=None`` writes the platform's newlines instead, as ``Path.write_text`` does. Use it only
        to keep a repository byte-identical to one an older prepare script built that way.
        """
        p = self.path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        with open(p, "w", encoding="utf-8", newline=newline) as fh:
            fh.write(text)
        return p

    def write_bytes(self, rel: str, data: bytes) -> Path:
        p = self.path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        return p

    def read(self, rel: str) -> str:
        return (self.path / rel).read_text(encoding="utf-8")

    def delete(self, rel: str) -> None:
        (self.path / rel).unlink()


# ---------------------------------------------------------------------------------------- shared text


def shared_text(name: str) -> str:
    """A text several exercises use, kept once in ``flowcamp/prepare_assets/`` (newlines read as LF).

    Texts that prepare scripts commit are frozen: changing one changes the commit hashes of every
    exercise that commits it, and workspaces made before would no longer match their facts. Add a new
    text instead (see prepare_assets/README.md).
    """
    path = ASSETS / name
    if path.parent != ASSETS or not path.is_file():
        known = ", ".join(sorted(p.name for p in ASSETS.iterdir() if p.name != "README.md"))
        raise KeyError(f"No shared text called {name!r}. Known: {known}")
    return path.read_text(encoding="utf-8")


_WAREHOUSE_HEADER = '''\
import os
import sys
from pathlib import Path
{imports}
HERE = Path(__file__).resolve().parent


def find_warehouse() -> Path:
    """The warehouse file: FLOWCAMP_WAREHOUSE if it is set, else the nearest
    warehouse.duckdb in this folder or a folder above it, up to the workspace's
    top folder (the one with .flowcamp/workspace.json in it)."""
    if os.environ.get("FLOWCAMP_WAREHOUSE"):
        return Path(os.environ["FLOWCAMP_WAREHOUSE"])
    for folder in [HERE, *HERE.parents]:
        if (folder / "warehouse.duckdb").is_file():
            return folder / "warehouse.duckdb"
        if (folder / ".flowcamp" / "workspace.json").is_file():
            break
    sys.exit(
        "No warehouse found. Set FLOWCAMP_WAREHOUSE to the path of a warehouse.duckdb file, "
        "or run `uv run flowcamp warehouse` in the course folder to make the workspace's own."
    )
'''


def warehouse_header(imports: Iterable[str] = ("import duckdb",)) -> str:
    """The start of every learner-facing script prepare generates: imports, HERE and ``find_warehouse()``.

    ``find_warehouse()`` returns $FLOWCAMP_WAREHOUSE if it is set, else the nearest ``warehouse.duckdb``
    from the script's folder up to the workspace root (the folder with ``.flowcamp/workspace.json``), and
    stops the script with a plain message if there is none. ``imports`` are the script's other imports
    (third-party ones), placed after the standard library's. A script is its docstring, a blank line,
    this header, two blank lines, then the rest of its code.
    """
    lines = "".join(f"{line}\n" for line in imports)
    return _WAREHOUSE_HEADER.format(imports=f"\n{lines}" if lines else "")


# ---------------------------------------------------------------------------------------- facts

_RUNNER = (
    "import importlib.util, json, pathlib, sys\n"
    "spec = importlib.util.spec_from_file_location('prepare', sys.argv[1])\n"
    "module = importlib.util.module_from_spec(spec)\n"
    "spec.loader.exec_module(module)\n"
    "facts = module.prepare(pathlib.Path(sys.argv[2]), int(sys.argv[3]))\n"
    "pathlib.Path(sys.argv[4]).write_text(json.dumps({} if facts is None else facts), encoding='utf-8')\n"
)


def run_prepare_script(script: Path, dest: Path, seed: int) -> dict:
    """Run a prepare.py in a subprocess (hardened git environment) into ``dest``; return its facts.

    A prepare() that returns None (an older script) has no facts: ``{}``.
    """
    script, dest = Path(script).resolve(), Path(dest).resolve()
    env = git_env()
    package_root = str(Path(__file__).resolve().parents[1])  # so the subprocess imports this same flowcamp
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    with tempfile.TemporaryDirectory(prefix="flowcamp-facts-out-") as out_dir:
        out = Path(out_dir) / "facts.json"
        try:
            proc = subprocess.run([sys.executable, "-c", _RUNNER, str(script), str(dest), str(int(seed)), str(out)],
                                  capture_output=True, text=True, encoding="utf-8", errors="replace", env=env,
                                  timeout=PREPARE_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise PrepareError(f"{script} ran for more than {PREPARE_TIMEOUT} seconds") from None
        if proc.returncode != 0:
            raise PrepareError(f"{script} failed:\n{(proc.stderr or proc.stdout)[-2000:]}")
        try:
            facts = json.loads(out.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise PrepareError(f"{script}: prepare() did not return JSON-serialisable facts ({e})") from None
    return check_facts(facts, script)


def check_facts(facts: object, where: object = "prepare()") -> dict:
    """Facts must be a dict keyed by folder, each entry a dict."""
    if not isinstance(facts, dict) or not all(isinstance(k, str) and isinstance(v, dict) for k, v in facts.items()):
        raise PrepareError(f"{where}: prepare() must return a dict keyed by repository folder, "
                           f"like {{'pipeline': {{'start': sha}}}}, or {{}}; it returned {facts!r:.200}")
    return facts


def _exercise_name(source_dir: Path) -> str:
    try:
        data = tomllib.loads((source_dir / "exercise.toml").read_text(encoding="utf-8"))
        if isinstance(data.get("id"), str) and data["id"]:
            return data["id"]
    except (OSError, ValueError):
        pass
    return source_dir.name


def facts_key(source_dir: Path, seed: int) -> str:
    """sha256 of what decides the facts: the exercise's prepare.py, this module, the shared texts, the seed."""
    h = hashlib.sha256()
    h.update((Path(source_dir) / "prepare.py").read_bytes())
    h.update(b"\0")
    h.update(Path(__file__).read_bytes())
    for asset in sorted(ASSETS.glob("*")):
        if asset.is_file():
            h.update(b"\0" + asset.name.encode() + b"\0" + asset.read_bytes())
    h.update(f"\0seed={int(seed)}".encode())
    return h.hexdigest()


def _digest(key: str, facts: dict) -> str:
    return hashlib.sha256((key + "\0" + json.dumps(facts, sort_keys=True)).encode("utf-8")).hexdigest()


def cache_file(cache_dir: Path, source_dir: Path, seed: int) -> Path:
    return Path(cache_dir) / f"{_exercise_name(Path(source_dir))}-{facts_key(source_dir, seed)}.json"


def read_cached_facts(cache_dir: Path, source_dir: Path, seed: int) -> dict | None:
    """The cached facts, or None when the cache is missing, unreadable, for other inputs, or edited."""
    path = cache_file(cache_dir, source_dir, seed)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        key, facts = record["key"], record["facts"]
        if key != path.stem.rsplit("-", 1)[-1] or record["digest"] != _digest(key, facts):
            return None
        return check_facts(facts)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, PrepareError):
        return None


def store_facts(cache_dir: Path, source_dir: Path, seed: int, facts: dict) -> None:
    """Keep facts in the cache (best effort: a cache that cannot be written is simply not used)."""
    path = cache_file(cache_dir, source_dir, seed)
    key = path.stem.rsplit("-", 1)[-1]
    record = {"key": key, "seed": int(seed), "facts": facts, "digest": _digest(key, facts)}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        prefix = path.stem.rsplit("-", 1)[0] + "-"
        for old in path.parent.glob(f"{prefix}*.json"):  # facts of older prepare scripts or other seeds
            if old != path and len(old.stem) == len(path.stem):
                old.unlink(missing_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(record, indent=2), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass


def build_facts(source_dir: Path, seed: int, cache_dir: Path | None = None) -> dict:
    """The facts of an exercise for a seed, rebuilt from the course's own prepare.py.

    Runs prepare.py in a subprocess into a fresh temporary folder and returns what it returns. With a
    ``cache_dir``, a cached result for exactly these inputs is used instead; a missing, corrupt or
    mismatched cache is rebuilt. Nothing in the learner's folder is read.
    """
    source_dir = Path(source_dir).resolve()
    if not (source_dir / "prepare.py").is_file():
        return {}
    if cache_dir is not None:
        cached = read_cached_facts(cache_dir, source_dir, seed)
        if cached is not None:
            return cached
    with tempfile.TemporaryDirectory(prefix="flowcamp-facts-", ignore_cleanup_errors=True) as tmp:
        dest = Path(tmp) / source_dir.name
        dest.mkdir()
        facts = run_prepare_script(source_dir / "prepare.py", dest, seed)
    if cache_dir is not None:
        store_facts(cache_dir, source_dir, seed, facts)
    return facts
