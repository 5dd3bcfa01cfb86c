"""Checks for exercise dotenv-local: config.py loads a .env file next to itself, real variables win,
.env.example lists every name with no value, and .gitignore keeps .env out of git.

The learner's code never sees the learner's own .env: each check copies config.py (and the other Python
files) to a temporary folder, writes its own .env there with made-up values, and runs the code in that
copy, in a learner process. Nothing is written into the learner's folder.
"""

import io
import os
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest
from dotenv.parser import parse_stream

from flowcamp.checks import Learner, LearnerError
from flowcamp.checks.plugin import plant_secret

FILE = "config.py"
NAMES = {"warehouse_path": "WAREHOUSE_PATH", "redshift_username": "REDSHIFT_USERNAME",
         "redshift_password": "REDSHIFT_PASSWORD"}
PASSWORD = "REDSHIFT_PASSWORD"
PROBE = "_flowcamp_names_probe.py"
SKIP_COPY = shutil.ignore_patterns(".env", ".git", ".venv", "__pycache__", ".pytest_cache", "*.duckdb", "*.duckdb.wal")

# Runs in the learner process of a copy (never in the check's): imports config.py, then calls
# load_settings() while os.environ notes every name that config.py's own code asks for and is not set.
PROBE_SOURCE = '''
import _collections_abc
import importlib.util
import os
import sys
from pathlib import Path

_SKIP = {os.getenv.__code__.co_filename, _collections_abc.Mapping.get.__code__.co_filename}


def names_read(config_file):
    code_dir = Path(config_file).resolve().parent
    me = str(Path(__file__).resolve())
    spec = importlib.util.spec_from_file_location("flowcamp_probe_config", config_file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    seen = []
    base = type(os.environ)

    class Recording(base):
        def __getitem__(self, key):
            frame = sys._getframe(1)
            while frame is not None and frame.f_code.co_filename in _SKIP:
                frame = frame.f_back
            name = frame.f_code.co_filename if frame is not None else ""
            ours = bool(name) and name != me and not name.startswith("<") and Path(name).resolve().parent == code_dir
            try:
                return base.__getitem__(self, key)
            except KeyError:
                if not ours:
                    raise
                if key not in seen:
                    seen.append(key)
                return "flowcamp-probe-value"

    os.environ.__class__ = Recording
    try:
        module.load_settings()
    finally:
        os.environ.__class__ = base
    return seen
'''


def _value(stem: str) -> str:
    return f"{stem}-{secrets.token_hex(5)}"


def _password() -> str:
    return plant_secret("made-up-pw-" + secrets.token_hex(8))


def _copy_code(learner, dest: Path) -> Path:
    """The learner's exercise folder without any .env: code, .env.example, .gitignore."""
    learner.read(FILE)  # a clear message if config.py is missing
    shutil.copytree(learner.dir, dest, ignore=SKIP_COPY)
    return dest


def _write_env(folder: Path, values: dict[str, str]) -> None:
    text = "# written by the check\n" + "".join(f"{k}={v}\n" for k, v in values.items())
    (folder / ".env").write_text(text, encoding="utf-8")


def _clear_names(monkeypatch):
    for name in NAMES.values():
        monkeypatch.delenv(name, raising=False)


def _settings(other: Learner, file: str = FILE) -> dict:
    """Import config.py in the copy and call load_settings(); its answer, checked for shape."""
    mod = other.load(file)
    fn = other.get(mod, "load_settings")
    try:
        got = other.call(fn)
    except LearnerError as err:
        if err.__cause__ is not None and isinstance(err.__cause__, NotImplementedError):
            raise AssertionError("`load_settings` is not written yet (it still raises NotImplementedError). "
                                 "See step 1 in README.md.") from None
        raise
    assert isinstance(got, dict), (
        f"`load_settings()` returned {type(got).__name__}, not a dictionary. Return a dict with the keys "
        '"warehouse_path", "redshift_username" and "redshift_password".')
    missing = [k for k in NAMES if k not in got]
    assert not missing, (
        f"The dictionary `load_settings()` returned has no key {', '.join(repr(k) for k in missing)}. It needs "
        'these three keys: "warehouse_path", "redshift_username", "redshift_password".')
    return got


def _nothing_from_file(got: dict, keys) -> None:
    """Fail with the likely cause when every value that only .env held came back as None."""
    keys = list(keys)
    if keys and all(got.get(k) is None for k in keys):
        raise AssertionError(
            "A .env file next to config.py set " + ", ".join(NAMES[k] for k in keys) + ", but `load_settings()` "
            "returned None for " + ("it" if len(keys) == 1 else "each") + ". Call load_dotenv(...) inside "
            "load_settings, before you read os.environ. (Loading it at the top of the file is not enough: Prefect "
            "and the checks call your function long after the file was imported, with a fresh environment.)")


def _differs(got: dict, want: dict) -> list[str]:
    return [k for k in NAMES if got.get(k) != want[k]]


def _safe(key: str, value) -> str:
    """A value for a message: the password is never shown, only whether it matched."""
    return "the password" if key == "redshift_password" else repr(value)


@pytest.mark.points(2)
def test_reads_env_file(learner, tmp_path, monkeypatch):
    """load_settings reads the values from the .env file next to config.py"""
    _clear_names(monkeypatch)
    folder = _copy_code(learner, tmp_path / "code")
    want = {"warehouse_path": _value("warehouse.duckdb"), "redshift_username": _value("user"),
            "redshift_password": _password()}
    _write_env(folder, {NAMES[k]: v for k, v in want.items()})
    with learner.elsewhere(folder) as other:
        got = _settings(other)
    _nothing_from_file(got, NAMES)
    wrong = _differs(got, want)
    assert not wrong, (
        "With a .env file next to config.py, `load_settings()` gave the wrong value for "
        + ", ".join(f"{k} ({NAMES[k]} in .env; you returned {'something else' if k == 'redshift_password' else repr(got.get(k))})"
                    for k in wrong)
        + ". Read each value from os.environ after load_dotenv, with the name spelled exactly as in README.md.")


@pytest.mark.points(2)
def test_environment_wins(learner, tmp_path, monkeypatch):
    """A real environment variable wins over the same name in .env"""
    _clear_names(monkeypatch)
    folder = _copy_code(learner, tmp_path / "code")
    in_file = {"warehouse_path": _value("file-warehouse"), "redshift_username": _value("file-user"),
               "redshift_password": _password()}
    _write_env(folder, {NAMES[k]: v for k, v in in_file.items()})
    real = {"warehouse_path": _value("real-warehouse"), "redshift_password": _password()}
    for key, value in real.items():
        monkeypatch.setenv(NAMES[key], value)
    want = {**in_file, **real}
    with learner.elsewhere(folder) as other:
        got = _settings(other)
    beaten = [k for k in real if got.get(k) == in_file[k]]
    assert not beaten, (
        f"{' and '.join(NAMES[k] for k in beaten)} {'was' if len(beaten) == 1 else 'were'} set in the environment and also in .env, and `load_settings()` "
        "returned the value from .env. The environment must win: on a server, the real variable is the truth. "
        "Do not pass override=True to load_dotenv (its default, False, keeps what is already set).")
    _nothing_from_file(got, [k for k in NAMES if k not in real])
    wrong = _differs(got, want)
    assert not wrong, (
        "With WAREHOUSE_PATH and REDSHIFT_PASSWORD set in the environment and all three names in .env, "
        "`load_settings()` gave the wrong value for " + ", ".join(
            f"{k} (you returned {_safe(k, got.get(k))})" for k in wrong)
        + ". Expected: the environment's values for those two, and REDSHIFT_USERNAME from .env.")


@pytest.mark.points(1)
def test_reads_when_called(learner, tmp_path, monkeypatch):
    """load_settings loads .env each time it is called, not when config.py is imported"""
    _clear_names(monkeypatch)
    folder = _copy_code(learner, tmp_path / "code")
    first = {"warehouse_path": _value("first"), "redshift_username": _value("first"), "redshift_password": _password()}
    second = {"warehouse_path": _value("second"), "redshift_username": _value("second"),
              "redshift_password": _password()}
    _write_env(folder, {NAMES[k]: v for k, v in first.items()})
    with learner.elsewhere(folder) as other:
        mod = other.load(FILE)
        _write_env(folder, {NAMES[k]: v for k, v in second.items()})  # the file changes after the import
        fn = other.get(mod, "load_settings")
        try:
            got = other.call(fn)
        except LearnerError as err:
            if isinstance(err.__cause__, NotImplementedError):
                raise AssertionError("`load_settings` is not written yet (it still raises NotImplementedError). "
                                     "See step 1 in README.md.") from None
            raise
    assert isinstance(got, dict), f"`load_settings()` returned {type(got).__name__}, not a dictionary."
    stale = [k for k in NAMES if got.get(k) == first[k]]
    assert not stale, (
        "The check changed .env after config.py was imported, but `load_settings()` still returned the old value "
        f"for {', '.join(NAMES[k] for k in stale)}. Load .env and read os.environ inside load_settings, every time "
        "it is called: nothing at the top of config.py should load or read a setting.")
    _nothing_from_file(got, NAMES)
    wrong = _differs(got, second)
    assert not wrong, (
        f"After .env changed, `load_settings()` gave the wrong value for {', '.join(wrong)}. "
        "Load .env inside the function, then read each name from os.environ.")


@pytest.mark.points(2)
def test_finds_env_next_to_code(learner, tmp_path, monkeypatch):
    """The .env file is found next to config.py, wherever the code is run from"""
    _clear_names(monkeypatch)
    run_from = tmp_path / "elsewhere"
    run_from.mkdir()
    folder = _copy_code(learner, run_from / "pipeline")
    right = {"warehouse_path": _value("next-to-code"), "redshift_username": _value("next-to-code"),
             "redshift_password": _password()}
    decoy = {"warehouse_path": _value("current-folder"), "redshift_username": _value("current-folder"),
             "redshift_password": _password()}
    _write_env(folder, {NAMES[k]: v for k, v in right.items()})
    _write_env(run_from, {NAMES[k]: v for k, v in decoy.items()})
    with learner.elsewhere(run_from) as other:  # the learner process runs in run_from; the code is in pipeline/
        got = _settings(other, f"pipeline/{FILE}")
    took_decoy = [k for k in NAMES if got.get(k) == decoy[k]]
    assert not took_decoy, (
        "The check ran config.py from another folder, which had a .env of its own. `load_settings()` read that "
        "one, the .env of the folder the terminal was in, instead of the .env next to config.py. Build the path "
        'from the file itself: Path(__file__).resolve().parent / ".env". (A bare load_dotenv(), with no path, '
        "also falls back to the current folder in a notebook, in the Python prompt and under VS Code's "
        "debugger.)")
    _nothing_from_file(got, NAMES)
    wrong = _differs(got, right)
    assert not wrong, (
        "When config.py is run from another folder, `load_settings()` did not return the values of the .env "
        f"next to config.py (wrong: {', '.join(wrong)}). Build the path from the file itself: "
        'Path(__file__).resolve().parent / ".env".')


@pytest.mark.points(1)
def test_no_env_file(learner, tmp_path, monkeypatch):
    """With no .env file at all, the real environment variables are used"""
    _clear_names(monkeypatch)
    folder = _copy_code(learner, tmp_path / "code")
    want = {"warehouse_path": _value("prod-warehouse"), "redshift_username": _value("prod-user"),
            "redshift_password": _password()}
    for key, value in want.items():
        monkeypatch.setenv(NAMES[key], value)
    with learner.elsewhere(folder) as other:
        got = _settings(other)
    wrong = _differs(got, want)
    assert not wrong, (
        "In production there is no .env file, only environment variables. With all three set and no .env, "
        f"`load_settings()` gave the wrong value for {', '.join(wrong)}. Read them from os.environ.")


@pytest.mark.points(1)
def test_unset_is_none(learner, tmp_path, monkeypatch):
    """A variable that is set nowhere gives None (not an error, not an empty text)"""
    given, user = _value("only-this-one"), _value("from-file")
    scenarios = [  # (what is set where, in words; environment; .env; expected)
        ("none of the three names set anywhere (no .env, nothing in the environment)", {}, None,
         dict.fromkeys(NAMES)),
        ("WAREHOUSE_PATH in the environment, REDSHIFT_USERNAME in .env and REDSHIFT_PASSWORD set nowhere",
         {"warehouse_path": given}, {"redshift_username": user},
         {"warehouse_path": given, "redshift_username": user, "redshift_password": None}),
    ]
    for n, (situation, env, in_file, want) in enumerate(scenarios):
        _clear_names(monkeypatch)
        folder = _copy_code(learner, tmp_path / f"code-{n}")
        for key, value in env.items():
            monkeypatch.setenv(NAMES[key], value)
        if in_file:
            _write_env(folder, {NAMES[k]: v for k, v in in_file.items()})
        with learner.elsewhere(folder) as other:
            try:
                got = _settings(other)
            except LearnerError as err:
                if isinstance(err.__cause__, KeyError):
                    raise AssertionError(
                        f"With {situation}, `load_settings()` stopped with KeyError: {err.__cause__}. "
                        "`os.environ[name]` fails for a name that is not set; `os.environ.get(name)` gives None "
                        "instead, which is what README.md step 1 asks for. Use it for every name.") from None
                raise
        not_none = [k for k, v in want.items() if v is None and got.get(k) is not None]
        assert not not_none, (
            f"With {situation}, `load_settings()` returned "
            + ", ".join(f"{'an empty text' if got[k] == '' else 'a value'} for {NAMES[k]}"
                        + ("" if k == "redshift_password" or got[k] == "" else f" ({got[k]!r})") for k in not_none)
            + " instead of None. Use `os.environ.get(name)` with no default, for every name: None says plainly "
            "\"not set\", where an empty text looks like a real (empty) setting.")
        wrong = [k for k, v in want.items() if v is not None and got.get(k) != v]
        assert not wrong, (
            f"With {situation}, `load_settings()` did not return {', '.join(NAMES[k] for k in wrong)}. Read every "
            "name, whichever of them is missing.")


def _example_lines(learner) -> dict[str, str | None]:
    """The names in the learner's .env.example and their values (read as data: nothing of it runs)."""
    if not learner.exists(".env.example"):
        raise AssertionError(".env.example is missing from the exercise folder. Create it: one line per setting, "
                             "like WAREHOUSE_PATH= with nothing after the =.")
    text = learner.read(".env.example")
    found: dict[str, str | None] = {}
    for binding in parse_stream(io.StringIO(text)):
        line = binding.original.line
        if binding.error:
            raise AssertionError(f".env.example, line {line}: this line is not NAME=value. Write each setting as "
                                 "NAME= on a line of its own, and start comments with #.")
        if binding.key is not None:
            found[binding.key] = binding.value
    return found


@pytest.mark.points(2)
def test_env_example(learner, tmp_path, monkeypatch):
    """.env.example names every setting config.py reads, with no values"""
    found = _example_lines(learner)
    with_value = [k for k, v in found.items() if v not in (None, "")]
    assert not with_value, (
        f".env.example gives a value for {', '.join(with_value)}. This file is committed and shared: leave every "
        "value empty (a line like REDSHIFT_PASSWORD= and nothing after the =). If that value was a real "
        "password, treat it as leaked: ask for a new one.")
    _clear_names(monkeypatch)
    folder = _copy_code(learner, tmp_path / "code")
    (folder / PROBE).write_text(PROBE_SOURCE, encoding="utf-8")
    with learner.elsewhere(folder) as other:
        probe = other.load(PROBE)
        try:
            asked = other.call(other.get(probe, "names_read"), str(folder / FILE))
        except LearnerError as err:
            if isinstance(err.__cause__, NotImplementedError):
                raise AssertionError("`load_settings` is not written yet (it still raises NotImplementedError), so "
                                     "the check cannot tell which names config.py reads. See step 1 in README.md.") \
                    from None
            raise
    reads = list(NAMES.values()) + [n for n in (asked or []) if isinstance(n, str) and n not in NAMES.values()]
    missing = [n for n in reads if n not in found]
    assert not missing, (
        f".env.example has no line for {', '.join(missing)}, which config.py reads. Add "
        + ", ".join(f"{n}=" for n in missing) + " (one per line, with no value).")
    extra = [n for n in found if n not in reads]
    assert not extra, (
        f".env.example lists {', '.join(extra)}, which config.py never reads. List exactly the names the code "
        "reads: a name nobody uses sends a teammate looking for a value that does not matter.")


def _git_ignores(folder: Path, name: str) -> bool:
    """Does the .gitignore in `folder` make git ignore `name`? Asked in a throwaway repository, with no user or
    system git config."""
    home = folder / ".home"
    home.mkdir(exist_ok=True)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "XDG_CONFIG_HOME": str(home),
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "LC_ALL": "C"}
    git = ["git", "-c", "core.excludesFile=" + os.devnull, "-c", "core.hooksPath=" + os.devnull]
    if not (folder / ".git").exists():
        subprocess.run(git + ["init", "-q"], cwd=folder, env=env, check=True, capture_output=True)
    done = subprocess.run(git + ["check-ignore", "-q", "--no-index", name], cwd=folder, env=env, capture_output=True)
    return done.returncode == 0


@pytest.mark.points(1)
def test_env_ignored(learner, tmp_path):
    """.gitignore in the exercise folder keeps .env out of git, and not .env.example"""
    assert learner.exists(".gitignore"), (
        ".gitignore is missing from the exercise folder. Create it, with the line .env in it.")
    folder = tmp_path / "ignore-test"
    folder.mkdir()
    (folder / ".gitignore").write_text(learner.read(".gitignore"), encoding="utf-8")
    assert _git_ignores(folder, ".env"), (
        "The .gitignore in this exercise's folder does not make git ignore .env. Add a line with just .env on it. "
        "(The workspace's own .gitignore happens to cover it too, but a real project must not count on that: "
        "your repository's .gitignore has to say it.)")
    for keep in (".env.example", FILE):
        assert not _git_ignores(folder, keep), (
            f"The .gitignore in this exercise's folder also makes git ignore {keep}, which must be committed. "
            "A pattern like .env* catches .env.example too: write .env on its own line instead.")


@pytest.mark.points(1)
def test_password_not_shown(learner, tmp_path, monkeypatch):
    """The password never appears in what config.py prints"""
    _clear_names(monkeypatch)
    folder = _copy_code(learner, tmp_path / "code")
    password = _password()
    values = {"WAREHOUSE_PATH": _value("warehouse.duckdb"), "REDSHIFT_USERNAME": _value("user"), PASSWORD: password}
    _write_env(folder, values)
    with learner.elsewhere(folder) as other:
        got = _settings(other)
        assert got.get("redshift_password") == password, (
            "`load_settings()` did not return the password from .env, so this check cannot tell whether it stays "
            "hidden. Make the first checks pass first.")
        said_by_call = other.output
        done = other.run(["python", FILE], timeout=30)
        said_by_script = done.stdout + done.stderr
    assert password not in said_by_call, (
        "`load_settings()` printed or logged the password. Never print a secret, not even while you test: print "
        "whether it is set, or how long it is, instead.")
    assert password not in said_by_script, (
        "`python config.py` printed the password. Print \"set\" or \"not set\" for it, as the starter did, "
        "never the value (and never the whole settings dictionary, which holds it).")
    assert done.returncode == 0, (
        f"`uv run python config.py` stopped with an error (exit code {done.returncode}) when .env held all three "
        "settings. Run it yourself and read the last lines of what it prints.")
