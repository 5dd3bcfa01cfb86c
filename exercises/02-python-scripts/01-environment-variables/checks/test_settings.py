"""Checks for exercise env-settings: settings.py reads settings from environment variables."""

import difflib
import os
import re
import secrets

import pytest

from flowcamp.checks import LearnerError

FILE = "settings.py"


def _random_name(stem: str = "FLOWCAMP_CHECK") -> str:
    # A fresh name every run, so no name or value can be typed into settings.py.
    return f"{stem}_{secrets.token_hex(3).upper()}"


def _stem(name: str) -> str:
    """FLOWCAMP_CHECK_1A2B3C -> FLOWCAMP_CHECK: what a misspelled name still starts with."""
    return name.rsplit("_", 1)[0]


def _random_value() -> str:
    return "v-" + secrets.token_urlsafe(12)


def _load(learner):
    mod = learner.load(FILE)
    error_class = learner.get(mod, "MissingSettingError", "class")
    assert error_class.subclass_of("RuntimeError"), (
        f"{FILE}: MissingSettingError must stay a class that inherits from RuntimeError, "
        "as it is in the starter: `class MissingSettingError(RuntimeError):`."
    )
    return mod


def _call(learner, fn, *args):
    """Call the learner's function. Returns (value, None) or (None, the exception it raised)."""
    try:
        return learner.call(fn, *args), None
    except LearnerError as err:
        if err.__cause__ is None:
            raise
        return None, err.__cause__


def _asked_for(err, stem: str, set_names: list[str], expected: str | None = None) -> str | None:
    """When the learner's error names a variable that is not set (a typo such as VAN_USER for VAN_USERNAME),
    a sentence that leads with it: the name the code asked for, the names that are set, the closest one.

    Only names are shown, never a value: the names come from the error's text and from the check itself.
    """
    names = []
    for found in re.findall(re.escape(stem) + r"[A-Za-z0-9_]*", str(err), flags=re.IGNORECASE):
        if found.upper() == stem.upper() or found in names or found in set_names or found == expected:
            continue
        if not os.environ.get(found):
            names.append(found)
    if not names:
        return None
    asked = names[0]
    shown_set = " and ".join(", ".join(set_names).rsplit(", ", 1))
    verb = "is" if len(set_names) == 1 else "are"
    said = (f"Your code asked for {asked}, which is not set; the variable{'s' if len(set_names) > 1 else ''} "
            f"that {verb} set {verb} {shown_set}.")
    guess = difflib.get_close_matches(asked, ([expected] if expected else []) + set_names, n=1, cutoff=0.5)
    if guess:
        said += f" Did you mean {guess[0]}? Check how the name is spelled in settings.py."
    return said


def _expect_value(learner, mod, fn, *args, set_names: list[str] | None = None, stem: str | None = None):
    """Call the learner's function while its variables (`set_names`) are set; it must not raise."""
    value, err = _call(learner, fn, *args)
    if err is None:
        return value
    if isinstance(err, NotImplementedError):
        raise AssertionError(f"`{fn.__name__}` is not written yet (it still raises NotImplementedError). See README.md.")
    shown = ", ".join(repr(a) for a in args)
    if isinstance(err, mod.MissingSettingError):
        typo = _asked_for(err, stem or str(args[0]), set_names or [str(args[0])])
        if typo:
            raise AssertionError(f"{typo} (`{fn.__name__}({shown})` stopped with MissingSettingError.)")
        raise AssertionError(
            f"The variables were set, but `{fn.__name__}({shown})` raised MissingSettingError anyway. "
            "The checks set variables after settings.py is imported. Read os.environ inside the "
            f"function, each time it is called, not once at the top of the file. (Your error said: {err})"
        )
    raise AssertionError(f"`{fn.__name__}({shown})` raised {type(err).__name__}: {err}")


def _expect_missing_error(learner, mod, fn, args, situation):
    """The call must raise the module's MissingSettingError; returns it."""
    fname = fn.__name__
    shown = ", ".join(repr(a) for a in args)
    value, err = _call(learner, fn, *args)
    if err is None:
        if value is None:
            raise AssertionError(
                f"When {situation}, `{fname}({shown})` returned None. A missing setting should stop the "
                f"script at once: raise MissingSettingError(...) instead of returning. "
                "(os.getenv and os.environ.get give None when a variable is not set: check for that.)"
            )
        if value == "":
            raise AssertionError(
                f"When {situation}, `{fname}({shown})` returned '' (an empty string). An empty setting is "
                "as useless as a missing one: check for it too, and raise MissingSettingError."
            )
        raise AssertionError(
            f"When {situation}, `{fname}({shown})` returned {value!r} instead of raising "
            "MissingSettingError. Check for this case and raise the error."
        )
    if isinstance(err, KeyError):
        raise AssertionError(
            f"When {situation}, `{fname}({shown})` raised KeyError, which only says {err}. "
            "Nobody reading that at 6am knows what to do. Catch the missing case yourself "
            "(os.environ.get gives None instead of raising) and raise MissingSettingError with a clear message."
        )
    if isinstance(err, NotImplementedError):
        raise AssertionError(f"`{fname}` is not written yet (it still raises NotImplementedError). See README.md.")
    assert isinstance(err, mod.MissingSettingError), (
        f"When {situation}, `{fname}({shown})` raised {type(err).__name__}: {err}. "
        "It should raise MissingSettingError (the class at the top of settings.py)."
    )
    return err


@pytest.mark.points(2)
def test_reads_value(learner, monkeypatch):
    """get_setting returns the value of the environment variable"""
    mod = _load(learner)
    get_setting = learner.get(mod, "get_setting")
    name, value = _random_name(), _random_value()
    monkeypatch.setenv(name, value)
    result = _expect_value(learner, mod, get_setting, name, set_names=[name], stem=_stem(name))
    assert result == value, (
        f"`get_setting({name!r})` returned {result!r}, but the environment variable {name} holds {value!r}. "
        "Return the value you read from os.environ."
    )


@pytest.mark.points(1)
def test_reads_at_call_time(learner, monkeypatch):
    """get_setting reads the environment each time it is called"""
    mod = _load(learner)
    get_setting = learner.get(mod, "get_setting")
    # The variable is set only after settings.py was imported, and then changed.
    name = _random_name()
    first, second = _random_value(), _random_value()
    monkeypatch.setenv(name, first)
    got_first = _expect_value(learner, mod, get_setting, name, set_names=[name], stem=_stem(name))
    monkeypatch.setenv(name, second)
    got_second = _expect_value(learner, mod, get_setting, name, set_names=[name], stem=_stem(name))
    assert (got_first, got_second) == (first, second), (
        f"{name} was set to {first!r} and then changed to {second!r}, but get_setting returned "
        f"{got_first!r} and then {got_second!r}. Read os.environ inside get_setting, every time it is "
        "called, not once at the top of settings.py."
    )


@pytest.mark.points(2)
def test_missing_raises(learner, monkeypatch):
    """get_setting raises MissingSettingError when the variable is not set"""
    mod = _load(learner)
    get_setting = learner.get(mod, "get_setting")
    name = _random_name()
    monkeypatch.delenv(name, raising=False)
    _expect_missing_error(learner, mod, get_setting, (name,), f"{name} is not set")


@pytest.mark.points(1)
def test_empty_raises(learner, monkeypatch):
    """get_setting raises MissingSettingError when the variable is empty"""
    mod = _load(learner)
    get_setting = learner.get(mod, "get_setting")
    name = _random_name()
    monkeypatch.setenv(name, "")
    _expect_missing_error(learner, mod, get_setting, (name,), f"{name} is set to an empty value")


@pytest.mark.points(1)
def test_message_is_clear(learner, monkeypatch):
    """The error message names the variable and says how to set it"""
    mod = _load(learner)
    get_setting = learner.get(mod, "get_setting")
    name = _random_name()
    monkeypatch.delenv(name, raising=False)
    err = _expect_missing_error(learner, mod, get_setting, (name,), f"{name} is not set")
    message = str(err)
    assert name in message, (
        f"The error for a missing {name} says {message!r}, which does not name the variable. "
        "Put the name in the message, for example with an f-string: f\"{name} is not set ...\"."
    )
    # A concrete way to set it: a command for a terminal, or a line for the .env file.
    how = re.compile(r"\bexport\b|\$env:|\bsetx\b|\.env\b|" + re.escape(name) + r"\s*=", re.IGNORECASE)
    assert how.search(message), (
        f"The error says {message!r}. It names the variable, but does not say how to set it. Give the reader "
        "one concrete way to do it, for example: f\"{name} is not set. In bash or zsh, run export {name}=... ; "
        "in PowerShell, $env:{name} = '...' ; or add a line {name}=... to your .env file.\""
    )


@pytest.mark.points(2)
def test_credentials_pair(learner, monkeypatch):
    """database_credentials returns (username, password) from PREFIX_USERNAME and PREFIX_PASSWORD"""
    mod = _load(learner)
    credentials = learner.get(mod, "database_credentials")
    prefix = _random_name("VAN")
    user, password = _random_value(), _random_value()
    monkeypatch.setenv(f"{prefix}_USERNAME", user)
    monkeypatch.setenv(f"{prefix}_PASSWORD", password)
    result = _expect_value(learner, mod, credentials, prefix,
                           set_names=[f"{prefix}_USERNAME", f"{prefix}_PASSWORD"], stem=prefix)
    if isinstance(result, list):
        result = tuple(result)
    assert result == (user, password), (
        f"With {prefix}_USERNAME={user!r} and {prefix}_PASSWORD={password!r}, "
        f"`database_credentials({prefix!r})` returned {result!r}. It should return the pair "
        f"({user!r}, {password!r}): the username first, then the password."
    )


@pytest.mark.points(1)
def test_credentials_missing(learner, monkeypatch):
    """database_credentials names the variable that is missing"""
    mod = _load(learner)
    credentials = learner.get(mod, "database_credentials")
    prefix = _random_name("VAN")
    for present, missing in (("USERNAME", "PASSWORD"), ("PASSWORD", "USERNAME")):
        monkeypatch.setenv(f"{prefix}_{present}", _random_value())
        monkeypatch.delenv(f"{prefix}_{missing}", raising=False)
        missing_name = f"{prefix}_{missing}"
        err = _expect_missing_error(
            learner, mod, credentials, (prefix,),
            f"{prefix}_{present} is set but {missing_name} is not",
        )
        typo = None if missing_name in str(err) else _asked_for(
            err, prefix, [f"{prefix}_{present}"], expected=missing_name)
        assert typo is None, (
            f"{typo} (This was the check where {missing_name} is not set: the error should name {missing_name}.)"
        )
        assert missing_name in str(err), (
            f"When {missing_name} is not set, `database_credentials({prefix!r})` raised an error that says "
            f"{str(err)!r}. It should name {missing_name}, so the reader knows which one to fix. "
            "(If you call get_setting for each variable, its message already does this.)"
        )
        monkeypatch.delenv(f"{prefix}_{present}", raising=False)
