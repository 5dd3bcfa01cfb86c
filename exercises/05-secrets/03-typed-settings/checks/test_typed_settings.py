"""Checks for exercise typed-settings: settings.py reads the pipeline's settings into one typed object, picks
the local DuckDB file or the production warehouse with PIPELINE_ENV, and never shows the password.

The learner's code runs in a learner process: ``probe.py`` (in this folder, loaded there by its full path)
imports settings.py as a pipeline would and reports what happened as plain data. Every verdict is made here.
The password is made up for each check, planted (cut out of every message and output), and looked for in
everything the learner's code printed, logged, raised or returned.
"""

import json
import os
import re
import secrets
import shutil
import string
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import pytest

from flowcamp.checks import LearnerError
from flowcamp.checks.plugin import plant_secret
from flowcamp.stamps import file_stamp

FILE = "settings.py"
PROBE = str(Path(__file__).with_name("probe.py"))
PASSWORD = "PIPELINE_WAREHOUSE_PASSWORD"
ALL_VARS = ("PIPELINE_ENV", "PIPELINE_DUCKDB_PATH", "PIPELINE_BATCH_SIZE", "PIPELINE_WAREHOUSE_HOST",
            "PIPELINE_WAREHOUSE_PORT", "PIPELINE_WAREHOUSE_DATABASE", "PIPELINE_WAREHOUSE_USER", PASSWORD)
DEFAULTS = {"env": "dev", "batch_size": 1000, "warehouse_port": 5439, "warehouse_database": "analytics"}
INTEGER = re.compile(r"\bint\b|integer|whole number|\bnumber\b|\bdigits?\b", re.IGNORECASE)


# ------------------------------------------------------------------------------------------- helpers


def _token(stem: str) -> str:
    return f"{stem}{secrets.token_hex(4)}"


def _password() -> str:
    """Made up for this check, and planted: it never reaches a message or output, even if the code prints it.
    Digits and capitals, one after the other: any four characters of it in a row are a pattern no other text of
    a check has, so a password cut short (its first or last few characters) is found too."""
    return plant_secret("".join(secrets.choice(string.digits) + secrets.choice(string.ascii_uppercase)
                                for _ in range(12)))


def _clear(monkeypatch):
    for name in list(os.environ):
        if name.upper().startswith("PIPELINE_"):
            monkeypatch.delenv(name)


def _start(learner, monkeypatch):
    """Load settings.py for a clear message if it cannot be imported, then the probe, with no PIPELINE_
    variable set: a value read when the file is imported is then the default, not the check's."""
    _clear(monkeypatch)
    if "shape" not in _SHAPE:  # the file's shape is the same for every check of a run: looked at once
        try:
            _SHAPE["shape"] = _shape(learner)
        except (AssertionError, LearnerError) as e:
            _SHAPE["shape"] = e
    if isinstance(_SHAPE["shape"], BaseException):
        raise _SHAPE["shape"]
    return learner.load(PROBE)


_SHAPE: dict = {}


def _shape(learner) -> bool:
    mod = learner.load(FILE)
    for name, what in (("Settings", "class"), ("ConfigError", "class"), ("load_settings", "function"),
                       ("warehouse_target", "function"), ("connect", "function")):
        learner.get(mod, name, what)
    assert mod.ConfigError.subclass_of("RuntimeError"), (
        f"{FILE}: ConfigError must stay a class that inherits from RuntimeError, as in the starter.")
    assert mod.Settings.subclass_of("BaseSettings"), (
        f"{FILE}: Settings must stay a class that inherits from pydantic-settings' BaseSettings, as in the starter.")
    return True


def _probe(learner, probe, monkeypatch, env: dict, **kwargs) -> dict:
    """Run the probe with exactly these PIPELINE_ variables set."""
    _clear(monkeypatch)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return learner.call(probe.probe, **kwargs)


def _not_written(err: dict) -> bool:
    return err["type"] == "NotImplementedError"


def _loaded(out: dict, situation: str) -> dict:
    """The settings loaded without an error; their fields."""
    err = out.get("load_error")
    if err:
        if _not_written(err):
            raise AssertionError("`load_settings` is not written yet (it still raises NotImplementedError). "
                                 "See steps 2 and 3 in README.md.")
        raise AssertionError(f"With {situation}, `load_settings()` should work, but it stopped: {err['where']}")
    return out["fields"]


def _field(fields: dict, name: str):
    info = fields[name]
    assert not info.get("missing"), (
        f"Settings has no field `{name}`. Add it to the class in {FILE}, with the type and default in the "
        "table of README.md.")
    return info


def _target(out: dict) -> str:
    err = out.get("target_error")
    if err:
        if _not_written(err):
            raise AssertionError("`warehouse_target` is not written yet (it still raises NotImplementedError). "
                                 "See step 4 in README.md.")
        raise AssertionError(f"`warehouse_target(settings)` stopped with an error: {err['where']}")
    return out["target"]["str"]


def _connected(out: dict, what: str) -> list:
    err = out.get("connect_error")
    if err:
        if _not_written(err):
            raise AssertionError("`connect` is not written yet (it still raises NotImplementedError). "
                                 "See step 5 in README.md.")
        raise AssertionError(f"`connect(settings)` should open {what}, but it stopped: {err['where']}")
    assert "rows" in out, (
        f"`connect(settings)` returned a {out.get('connection')}, which could not run a query "
        f"({out.get('query_error', 'no rows')}). Return the connection itself, as duckdb.connect(...) gives it.")
    return out["rows"]


def _marker_file(folder: Path, name: str) -> tuple[Path, str]:
    """A small DuckDB file with one row the learner cannot guess, copied into ``folder`` for this check: proof of
    which file the learner's code opened (it opens the copy, and may write to it).

    Writing a DuckDB file takes 40-90 ms, so the master copy is made once and kept in the workspace's check cache
    (FLOWCAMP_CACHE, which learner code is not told), made again with a new token if anything changed it since
    (its stamp, change time included, is kept beside the token)."""
    cache = os.environ.get("FLOWCAMP_CACHE")
    home = Path(cache) if cache else folder / "markers"
    master, note = home / f"typed-settings-{name}.duckdb", home / f"typed-settings-{name}.json"
    try:
        known = json.loads(note.read_text(encoding="utf-8"))
        fresh = known["stamp"] == list(file_stamp(master) or ()) and isinstance(known["token"], str)
    except (OSError, ValueError, KeyError, TypeError):
        fresh = False
    if not fresh:
        home.mkdir(parents=True, exist_ok=True)
        token, part = _token("t"), master.with_name(f"{master.name}.{os.getpid()}")
        part.unlink(missing_ok=True)
        with duckdb.connect(str(part)) as db:
            db.execute("CREATE TABLE check_marker (token VARCHAR)")
            db.execute("INSERT INTO check_marker VALUES (?)", [token])
        os.replace(part, master)
        known = {"token": token, "stamp": list(file_stamp(master))}
        note.write_text(json.dumps(known), encoding="utf-8")
    copy = folder / f"{name}.duckdb"
    shutil.copyfile(master, copy)
    return copy, known["token"]


def _config_error(out: dict, situation: str, env: dict) -> dict:
    """load_settings() must have raised the module's ConfigError; returns it."""
    err = out.get("load_error")
    if err is None:
        raise AssertionError(f"With {situation}, `load_settings()` returned settings instead of stopping. "
                             "It should raise ConfigError with a message that says what to fix."
                             + _why_no_error(out, env))
    if _not_written(err):
        raise AssertionError("`load_settings` is not written yet (it still raises NotImplementedError). "
                             "See steps 2 and 3 in README.md.")
    if "settings.ConfigError" in err["mro"]:
        return err
    if any(q.endswith("ValidationError") for q in err["mro"]):
        raise AssertionError(
            f"With {situation}, pydantic's ValidationError came out of `load_settings()` as it is. Its text "
            "names fields, not the variables a person sets, and it can quote values. Catch it "
            "(`except ValidationError as err:`) and raise ConfigError with a message built from err.errors().")
    raise AssertionError(f"With {situation}, `load_settings()` should raise ConfigError, but it stopped with "
                         f"{err['type']}: {err['where']}")


def _why_no_error(out: dict, env: dict) -> str:
    """Why load_settings() took settings it should have refused, from what the settings held."""
    fields = out.get("fields") or {}
    for var, value in env.items():
        field = var.removeprefix("PIPELINE_").lower()
        info = fields.get(field) or {}
        if not value or info.get("missing") or var == PASSWORD:
            continue
        if info.get("value") == value:
            return (f" Settings kept {var}={value!r} as it is: give the field `{field}` its type from the table "
                    "in README.md, and pydantic refuses a value of the wrong kind.")
        if field in DEFAULTS and info.get("value") == DEFAULTS[field]:
            return (f" Settings still has the default for {var}: the checks set variables after settings.py is "
                    "imported, so build Settings() inside load_settings(), each time it is called.")
    if env.get("PIPELINE_ENV") == "prod":
        return (" In prod, load_settings() checks that the host, user and password are set and not empty, and "
                "raises ConfigError naming each one that is not (step 3 in README.md).")
    return ""


def _shows_part(text: str, password: str, width: int = 4) -> bool:
    """Does the text hold the password, or any `width` characters of it in a row (a value cut short)?"""
    return any(password[i:i + width] in text for i in range(max(1, len(password) - width + 1)))


def _quote(message: str, password: str | None = None) -> str:
    """The learner's message, to quote in ours; never when it holds part of the password."""
    if password and _shows_part(message, password):
        return "(not shown here: it holds part of the password)"
    return repr(message)


def _names_only(message: str, wanted: list[str], situation: str, fine: list[str],
                password: str | None = None) -> None:
    said = _quote(message, password)
    for name in wanted:
        assert name.lower() in message.lower(), (
            f"With {situation}, the ConfigError says {said}. It should name the variable to fix, {name}, "
            "in full: that is what a person types to set it. (A field name such as `batch_size` is not enough.)")
    named = [n for n in fine if re.search(rf"\b{n}\b", message, re.IGNORECASE)]
    assert not named, (
        f"With {situation}, the ConfigError also names {', '.join(named)}, which {'is' if len(named) == 1 else 'are'} "
        f"fine. Name only the variables that are wrong, so the reader fixes the right one. It said: {said}")


def _leaks(out: dict, output: str, password: str) -> list[str]:
    """Where the password shows, whole or in part, in words (never the password itself)."""
    places, shows = [], lambda text: _shows_part(text, password)
    for key, where in (("repr", "repr(settings)"), ("str", "str(settings) and print(settings)"),
                       ("json", "settings.model_dump_json()")):
        if shows(out.get(key, "")):
            places.append(where)
    target = out.get("target") or {}
    if shows(target.get("str", "")) or shows(target.get("repr", "")):
        places.append("what warehouse_target(settings) returns")
    for key, where in (("load_error", "the error load_settings() raised"),
                       ("target_error", "the error warehouse_target() raised"),
                       ("connect_error", "the error connect() raised")):
        err = out.get(key)
        if err and (shows(err["message"]) or shows(err["printed"])):
            places.append(where + " (or the traceback printed with it)")
    if any(shows(line) for line in out.get("logs", [])):
        places.append("a log message")
    if shows(output):
        places.append("what your code printed")
    return places


def _prod_env(password: str | None, **changes) -> dict:
    env = {"PIPELINE_ENV": "prod", "PIPELINE_WAREHOUSE_HOST": _token("db-") + ".example.org",
           "PIPELINE_WAREHOUSE_PORT": str(5400 + secrets.randbelow(500)),
           "PIPELINE_WAREHOUSE_DATABASE": _token("events_"), "PIPELINE_WAREHOUSE_USER": _token("pipeline_")}
    if password is not None:
        env[PASSWORD] = password
    env.update(changes)
    return {k: v for k, v in env.items() if v is not None}


# -------------------------------------------------------------------------------------------- checks


@pytest.mark.points(2)
def test_defaults(learner, monkeypatch):
    """With no PIPELINE_ variable set, the settings are the dev defaults"""
    probe = _start(learner, monkeypatch)
    out = _probe(learner, probe, monkeypatch, {})
    fields = _loaded(out, "no PIPELINE_ variable set")
    dotenv = " (Is there a .env file in this folder? Its values count too.)" if learner.exists(".env") else ""
    for name, want in DEFAULTS.items():
        info = _field(fields, name)
        assert info.get("value") == want and info["type"] == type(want).__name__, (
            f"With no PIPELINE_ variable set, settings.{name} is {info.get('value')!r} ({info['type']}); "
            f"its default should be {want!r} ({type(want).__name__}).{dotenv}")
    target, local = _target(out), learner.dir.parents[1] / "warehouse.duckdb"
    assert Path(target).resolve() == local.resolve(), (
        f"In dev with no PIPELINE_ variable set, `warehouse_target(settings)` returned {target!r}. It should "
        "return the local DuckDB file, str(settings.duckdb_path): by default LOCAL_WAREHOUSE.")


@pytest.mark.points(2)
def test_env_overrides(learner, monkeypatch, tmp_path):
    """Environment variables override the defaults, as whole numbers where the field is an int"""
    probe = _start(learner, monkeypatch)
    dev_file, token = _marker_file(tmp_path, "laptop")
    batch, port = 10 + secrets.randbelow(9000), 6000 + secrets.randbelow(3000)
    env = {"PIPELINE_DUCKDB_PATH": str(dev_file), "PIPELINE_BATCH_SIZE": str(batch),
           "PIPELINE_WAREHOUSE_PORT": str(port)}
    out = _probe(learner, probe, monkeypatch, env, connect=True, query="SELECT token FROM check_marker")
    fields = _loaded(out, "PIPELINE_BATCH_SIZE, PIPELINE_WAREHOUSE_PORT and PIPELINE_DUCKDB_PATH set")
    for name, var, want in (("batch_size", "PIPELINE_BATCH_SIZE", batch),
                            ("warehouse_port", "PIPELINE_WAREHOUSE_PORT", port)):
        info = _field(fields, name)
        assert info.get("value") != DEFAULTS[name], (
            f"{var} was set to {want}, but settings.{name} is still the default, {DEFAULTS[name]}. The checks "
            "set variables after settings.py is imported: build Settings() inside load_settings(), each time it "
            "is called, and do not read os.environ at the top of the file.")
        assert info.get("value") == want and info["type"] == "int", (
            f"{var} was set to {want}, but settings.{name} is {info.get('value')!r} ({info['type']}). Give the "
            f"field the type int (`{name}: int = {DEFAULTS[name]}`): pydantic then turns the text into a number.")
    target = _target(out)
    assert Path(target).resolve() == dev_file.resolve(), (
        f"PIPELINE_DUCKDB_PATH was set to {str(dev_file)!r}, but `warehouse_target(settings)` returned "
        f"{target!r}. In dev, return str(settings.duckdb_path).")
    rows = _connected(out, "the DuckDB file in PIPELINE_DUCKDB_PATH")
    assert rows == [[token]], (
        "In dev, `connect(settings)` opened a database, but not the file named by PIPELINE_DUCKDB_PATH. "
        "Connect with duckdb.connect(str(settings.duckdb_path)).")
    assert not out.get("calls"), "In dev, `connect(settings)` called the production stand-in. Use duckdb.connect."


@pytest.mark.points(2)
def test_wrong_type(learner, monkeypatch):
    """A value of the wrong type stops with a ConfigError that names the variable and the type it expects"""
    probe = _start(learner, monkeypatch)
    for var, stem in (("PIPELINE_BATCH_SIZE", "lots"), ("PIPELINE_WAREHOUSE_PORT", "abc")):
        value = f"{stem}-{secrets.token_hex(3)}"  # not a number, and no word a message would hold by chance
        situation = f"{var}={value}"
        err = _config_error(_probe(learner, probe, monkeypatch, {var: value}), situation, {var: value})
        message = err["message"]
        _names_only(message, [var], situation, [n for n in ALL_VARS if n != var])
        assert value not in message and value not in err.get("printed", ""), (
            f"With {situation}, the ConfigError shows the value itself ({value!r}). Name the variable and what it "
            "expects, never the value: err.errors()'s 'input' is the value, and for some settings that is the "
            "password. Leave 'input' out of your message.")
        assert INTEGER.search(message), (
            f"With {situation}, the ConfigError says {message!r}. It names the variable but not what it "
            "expects. Say that it must be a whole number (pydantic's own words, in err.errors()'s 'msg', do).")


@pytest.mark.points(1)
def test_misspelled_switch(learner, monkeypatch):
    """A misspelled PIPELINE_ENV stops, and the message says it must be dev or prod"""
    probe = _start(learner, monkeypatch)
    situation = "PIPELINE_ENV=production"
    err = _config_error(_probe(learner, probe, monkeypatch, {"PIPELINE_ENV": "production"}), situation,
                        {"PIPELINE_ENV": "production"})
    message = err["message"]
    _names_only(message, ["PIPELINE_ENV"], situation, [n for n in ALL_VARS if n != "PIPELINE_ENV"])
    assert re.search(r"\bdev\b", message) and re.search(r"\bprod\b", message), (
        f"With {situation}, the ConfigError says {message!r}. Say what the variable expects: dev or prod. "
        "(Give the field the type Literal[\"dev\", \"prod\"], and keep pydantic's 'msg' in your message.)")


@pytest.mark.points(2)
def test_prod_needs_credentials(learner, monkeypatch):
    """In prod, a missing or empty host, user or password stops with a message that names it"""
    probe = _start(learner, monkeypatch)
    password = _password()
    cases = (
        (_prod_env(None), [PASSWORD], f"PIPELINE_ENV=prod and {PASSWORD} not set"),
        (_prod_env(""), [PASSWORD], f"PIPELINE_ENV=prod and {PASSWORD} set to an empty value"),
        (_prod_env(password, PIPELINE_WAREHOUSE_HOST=None), ["PIPELINE_WAREHOUSE_HOST"],
         "PIPELINE_ENV=prod and PIPELINE_WAREHOUSE_HOST not set"),
        (_prod_env(password, PIPELINE_WAREHOUSE_USER=None), ["PIPELINE_WAREHOUSE_USER"],
         "PIPELINE_ENV=prod and PIPELINE_WAREHOUSE_USER not set"),
    )
    for env, missing, situation in cases:
        err = _config_error(_probe(learner, probe, monkeypatch, env), situation, env)
        # Saying that PIPELINE_ENV is prod is fine; naming a credential that is set is not.
        fine = [n for n in env if n not in missing and n != "PIPELINE_ENV"]
        _names_only(err["message"], missing, situation, fine, password)


@pytest.mark.points(2)
def test_prod_target(learner, monkeypatch, tmp_path):
    """PIPELINE_ENV=prod selects the production warehouse: its URL, and a connection made with the password"""
    probe = _start(learner, monkeypatch)
    dev_file, _ = _marker_file(tmp_path, "laptop")
    prod_file, token = _marker_file(tmp_path, "production")
    password = _password()
    env = _prod_env(password, PIPELINE_DUCKDB_PATH=str(dev_file))
    out = _probe(learner, probe, monkeypatch, env, connect=True, production=str(prod_file),
                 query="SELECT token FROM check_marker")
    _loaded(out, "PIPELINE_ENV=prod and every production setting set")
    target = _target(out)
    host, port, database, user = (env[f"PIPELINE_WAREHOUSE_{k}"] for k in ("HOST", "PORT", "DATABASE", "USER"))
    want = f"postgresql://{user}@{host}:{port}/{database}"
    assert "://" in target, (
        f"PIPELINE_ENV was prod, but `warehouse_target(settings)` returned {_quote(target, password)}, which is "
        "not a URL (a local DuckDB file?). Decide with settings.env, the object you were given, not with a value "
        f"read when the file was imported: in prod, return a URL such as {want!r}.")
    try:
        parts = urlsplit(target)
        got = (parts.scheme, parts.username, parts.hostname, parts.port, parts.path)
    except ValueError:
        got = None
    # A hidden password part (postgresql://user:***@host, as SQLAlchemy's URL renders it) is fine: any of the
    # password itself is found by test_password_never_shown.
    assert got == ("postgresql", user, host.lower(), int(port), f"/{database}"), (
        f"In prod, `warehouse_target(settings)` returned {_quote(target, password)}; with these settings it should be "
        f"{want!r}: postgresql://USER@HOST:PORT/DATABASE, from the PIPELINE_WAREHOUSE_ variables.")
    calls = out.get("calls") or []
    if not calls and not out.get("connect_error"):
        raise AssertionError("PIPELINE_ENV was prod, but `connect(settings)` did not call "
                             "warehouse_standin.connect(...). In prod, connect through the stand-in driver.")
    rows = _connected(out, "the production warehouse through warehouse_standin.connect(...)")
    sent = calls[-1]["kwargs"]
    assert rows == [[token]] and sent.get("password") == password, (
        "In prod, `connect(settings)` should call warehouse_standin.connect(host=..., port=..., database=..., "
        "user=..., password=...) with the settings' values, the password as "
        "settings.warehouse_password.get_secret_value(), and return the connection it gives.")
    assert (sent.get("host"), sent.get("port"), sent.get("database"), sent.get("user")) == (
        host, int(port), database, user), (
        "In prod, `connect(settings)` called warehouse_standin.connect with host, port, database or user that "
        "are not the settings' own: pass settings.warehouse_host, settings.warehouse_port, "
        "settings.warehouse_database and settings.warehouse_user.")


@pytest.mark.points(1)
def test_dev_ignores_production(learner, monkeypatch, tmp_path):
    """PIPELINE_ENV=dev uses the local file even when production settings are set"""
    probe = _start(learner, monkeypatch)
    dev_file, token = _marker_file(tmp_path, "laptop")
    prod_file, _ = _marker_file(tmp_path, "production")
    env = _prod_env(_password(), PIPELINE_ENV="dev", PIPELINE_DUCKDB_PATH=str(dev_file))
    out = _probe(learner, probe, monkeypatch, env, connect=True, production=str(prod_file),
                 query="SELECT token FROM check_marker")
    _loaded(out, "PIPELINE_ENV=dev and the production settings also set")
    target = _target(out)
    assert Path(target).resolve() == dev_file.resolve(), (
        f"PIPELINE_ENV was dev (with the production settings also set), but `warehouse_target(settings)` "
        f"returned {target!r}. Only PIPELINE_ENV decides: in dev, return str(settings.duckdb_path).")
    rows = _connected(out, "the local DuckDB file")
    assert rows == [[token]] and not out.get("calls"), (
        "PIPELINE_ENV was dev, but `connect(settings)` did not open the file in PIPELINE_DUCKDB_PATH. "
        "Only settings.env decides which warehouse to open.")


@pytest.mark.points(3)
def test_password_never_shown(learner, monkeypatch, tmp_path):
    """The password never shows: not in repr, str, the target, logs, errors or printed output"""
    probe = _start(learner, monkeypatch)
    prod_file, _ = _marker_file(tmp_path, "production")
    password = _password()
    scenarios = (
        ("with every production setting set", _prod_env(password), True),
        ("with PIPELINE_WAREHOUSE_PORT=abc", _prod_env(password, PIPELINE_WAREHOUSE_PORT="abc"), False),
        ("with PIPELINE_WAREHOUSE_HOST missing", _prod_env(password, PIPELINE_WAREHOUSE_HOST=None), False),
    )
    for situation, env, connect in scenarios:
        out = _probe(learner, probe, monkeypatch, env, connect=connect, production=str(prod_file))
        if connect:
            _loaded(out, f"PIPELINE_ENV=prod {situation}")
            info = _field(out["fields"], "warehouse_password")
            assert any(q.endswith("SecretStr") for q in info["mro"]), (
                f"settings.warehouse_password is a {info['type']}. Give the field the type SecretStr "
                "(`warehouse_password: SecretStr = SecretStr(\"\")`): it shows as '**********' in repr, "
                "str and logs, and gives its value only to .get_secret_value().")
        places = _leaks(out, learner.output, password)
        assert not places, (
            f"In prod {situation}, the password showed in {' and in '.join(places)}. Keep it a SecretStr "
            "everywhere, call .get_secret_value() only inside connect(), where the connection is made, and "
            "never put a value in an error message (err.errors()'s 'input' can be one).")
