"""Checks for exercise civis-credentials: civis_credentials.py reads Civis-style credentials safely.

The learner's code runs in a learner process. The probe (probe.py, loaded there) calls it and reports what
a person could see of the result; this process compares those texts with the passwords it planted, before
any redaction, and fails if one shows up anywhere.
"""

import secrets
import string
from pathlib import Path

import pytest

from flowcamp.checks import LearnerError
from flowcamp.checks.plugin import plant_secret

FILE = "civis_credentials.py"
PROBE = Path(__file__).with_name("probe.py")
CLEAR = ("WAREHOUSE_USER", "WAREHOUSE_PASSWORD")
CIVIS = ("REDSHIFT_USERNAME", "REDSHIFT_PASSWORD")
ENDINGS = {
    "custom": ("_USERNAME", "_PASSWORD"),
    "database": ("_CREDENTIAL_USERNAME", "_CREDENTIAL_PASSWORD"),
    "aws": ("_ACCESS_KEY_ID", "_SECRET_ACCESS_KEY"),
}


# ------------------------------------------------------------------------------------------ made-up values


def _name(stem: str = "REDSHIFT") -> str:
    """A fresh credential name each run (letters only), so nothing can be typed into the file."""
    return stem + "_" + "".join(secrets.choice(string.ascii_uppercase) for _ in range(6))


def _username() -> str:
    return "u" + secrets.token_hex(6)


def _password() -> str:
    """A made-up password, registered as a secret. Its first and last four characters are digit, capital,
    digit, capital: a pattern no other text of a check has, so a half-hidden password is found too."""
    def edge():
        return "".join(secrets.choice(string.digits) + secrets.choice(string.ascii_uppercase) for _ in range(2))
    middle = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(16))
    return plant_secret(edge() + middle + edge())


def _leaks(text: str, password: str) -> bool:
    return password in text or password[:4] in text or password[-4:] in text


# ------------------------------------------------------------------------------------------ the learner's shim


_SHAPE: dict = {}  # what this check run found in the file: a name -> None (there, as it should be) or the failure


def _check_shape(learner, needs) -> None:
    """The file imports, and has MissingCredentialError (a RuntimeError) and the functions ``needs``: looked at
    once per check run for each name (a learner process each time costs time), the first problem raised."""
    wanted = ["MissingCredentialError", *needs]
    if any(name not in _SHAPE for name in wanted):
        try:
            mod = learner.load(FILE)  # a clear message if the file does not import
        except (AssertionError, LearnerError) as e:
            mod = None
            for name in wanted:
                _SHAPE.setdefault(name, e)
        for name in wanted if mod is not None else []:
            if name in _SHAPE:
                continue
            try:
                if name == "MissingCredentialError":
                    error = learner.get(mod, name, "class")
                    assert error.subclass_of("RuntimeError"), (
                        f"{FILE}: MissingCredentialError must stay a class that inherits from RuntimeError, as it "
                        "is in the starter: `class MissingCredentialError(RuntimeError):`.")
                else:
                    learner.get(mod, name)
                _SHAPE[name] = None
            except (AssertionError, LearnerError) as e:
                _SHAPE[name] = e
    for name in wanted:
        if _SHAPE[name] is not None:
            raise _SHAPE[name]


class Shim:
    """The learner's civis_credentials.py, imported once (before any variable is set) in a learner process."""

    def __init__(self, learner, monkeypatch, needs=("credential",)):
        for var in CLEAR + CIVIS:
            monkeypatch.delenv(var, raising=False)
        self.learner = learner
        _check_shape(learner, needs)
        self.probe = learner.load(str(PROBE))
        learner.call(self.probe.load, str(learner.path(FILE)))
        self.passwords: list[str] = []
        self.where: dict[str, str] = {}  # a planted value -> the variable it was put in

    def set(self, monkeypatch, variable: str, value: str) -> str:
        monkeypatch.setenv(variable, value)
        self.where[value] = variable
        return value

    def set_login(self, monkeypatch, user_var: str, password_var: str) -> tuple[str, str]:
        user = self.set(monkeypatch, user_var, _username())
        password = self.set(monkeypatch, password_var, _password())
        self.passwords.append(password)
        return user, password

    def quote(self, text: str) -> str:
        """Text of the learner's, safe to show: any planted password becomes a placeholder."""
        for password in self.passwords:
            text = text.replace(password, "[the password]")
        return text

    def call(self, fn: str, *args, **kwargs) -> dict:
        """What the learner's function did; the caller then checks it with assert_nothing_leaked."""
        return self.learner.call(self.probe.call, fn, *args, **kwargs)

    def assert_nothing_leaked(self, out: dict, call: str) -> None:
        texts = []
        if out.get("raised"):
            texts += [("the error it raised", t) for t in out["raised"]["shown"]]
        for how, text in (out.get("shown") or {}).items():
            texts.append((how, text))
        texts += [("a log line", line) for line in out.get("logs", [])]
        texts.append(("what your code printed", self.learner.output))
        for password in self.passwords:
            for where, text in texts:
                if isinstance(text, str) and _leaks(text, password):
                    whole = password in text
                    raise AssertionError(
                        f"The password itself, the value the check put in "
                        f"{self.where.get(password, 'a password variable')}, shows up in "
                        f"{where}, after `{call}`{'' if whole else ' (part of it: a password half-hidden is still leaked)'}. "
                        + _advice(where))


def _advice(where: str) -> str:
    if where in ("str(login)", 'f"{login}"'):
        return ("str(login), which print() and f-strings use, shows the password. If you wrote a __str__, "
                "leave the password out of it, or delete it: str() then uses your __repr__.")
    if where.startswith(("repr", "str", "f\"", "print")):
        return ("Printing or logging the login must never show the password. A @dataclass shows every field "
                "in its repr: write the password field as `password: str = field(repr=False)` "
                "(from dataclasses import field), or write a __repr__ that leaves it out.")
    if where == "the error it raised":
        return ("An error message ends up in logs and on screens: name the variable that is missing, never "
                "the value of one that is set.")
    if where == "a log line":
        return "Log which credential you read (its name), never its password."
    return "Never print a password. Print its length if you need to check it arrived."


def _shown_call(fn: str, args, kwargs) -> str:
    shown = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{fn}({', '.join(shown)})"


def _not_written(out: dict, call: str) -> None:
    raised = out.get("raised")
    if raised and raised["type"] == "NotImplementedError":
        raise AssertionError(f"`{call}` is not written yet (it still raises NotImplementedError). See README.md.")


def expect_login(shim: Shim, fn: str, *args, situation: str, pair=None, **kwargs) -> dict:
    """Call fn while its variables are set: it must return an object with .username and .password (and, given
    `pair` = (user, password, user_var, password_var), the right ones); nothing may show the password."""
    call = _shown_call(fn, args, kwargs)
    out = shim.call(fn, *args, **kwargs)
    _not_written(out, call)
    raised = out["raised"]
    if raised:
        said = shim.quote(raised["message"])
        if "MissingCredentialError" in raised["mro"]:
            raise AssertionError(
                f"When {situation}, `{call}` raised MissingCredentialError anyway: {said!r}. The checks set the "
                "variables after civis_credentials.py is imported, as Civis and Prefect can: read os.environ "
                "inside the function, each time it is called, not once at the top of the file. Check the "
                "spelling of each variable name too.")
        raise AssertionError(f"When {situation}, `{call}` raised {raised['type']}: {said!r}")
    for attr in ("username", "password"):
        assert out["has"][attr], (
            f"`{call}` returned a {out['type']} with no `.{attr}`. Return a Credential (the class in the "
            "starter), with .username and .password.")
        assert not isinstance(out[attr], dict), (
            f"`{call}` returned an object whose .{attr} is a {out[attr]['not_text']}, not text. Keep "
            f".{attr} a plain str: old code passes it straight to a database driver. Hide the password "
            "in the repr instead.")
    if pair is not None:
        check_pair(shim, out, call, *pair, situation=situation)
    shim.assert_nothing_leaked(out, call)
    return out


def check_pair(shim: Shim, out: dict, call: str, user: str, password: str, user_var: str, password_var: str,
               situation: str):
    got = (out["username"], out["password"])
    if got == (user, password):
        return
    for attr, value, var, want in (("username", got[0], user_var, user), ("password", got[1], password_var, password)):
        if value == want:
            continue
        came = shim.where.get(value)
        if came:
            raise AssertionError(
                f"When {situation}, `{call}` gave a .{attr} that is the value of {came}, but .{attr} should come from {var}. "
                + (f"Check which ending goes with which: {user_var} is the username, {password_var} the password."
                   if came in (user_var, password_var) else
                   f"Does your code read {var} when the file is imported (before the check set it)? Read the "
                   "environment inside the function, each time it is called; and check which pair wins."))
        raise AssertionError(f"When {situation}, `{call}` gave a .{attr} that is not the value of {var}. "
                             f"{'It' if attr == 'username' else 'The password'} should be read from {var}.")


def expect_missing(shim: Shim, fn: str, *args, situation: str, missing: str, **kwargs) -> str:
    """Call fn while `missing` is not set: it must raise MissingCredentialError; returns its message."""
    call = _shown_call(fn, args, kwargs)
    out = shim.call(fn, *args, **kwargs)
    _not_written(out, call)
    shim.assert_nothing_leaked(out, call)
    raised = out["raised"]
    if raised is None:
        raise AssertionError(
            f"When {situation}, `{call}` returned a login instead of raising MissingCredentialError. "
            f"A missing (or empty) {missing} should stop the script at once, with a message that names it. "
            "(os.environ.get gives None when a variable is not set, and \"\" when it is set but empty: "
            "`if not value:` catches both.)")
    if raised["type"] == "KeyError":
        raise AssertionError(
            f"When {situation}, `{call}` raised KeyError, which only says {shim.quote(raised['message'])}. "
            "Catch the missing case yourself and raise MissingCredentialError with a clear message.")
    assert "MissingCredentialError" in raised["mro"], (
        f"When {situation}, `{call}` raised {raised['type']}: {shim.quote(raised['message'])!r}. It should "
        "raise MissingCredentialError (the class at the top of civis_credentials.py).")
    return raised["message"]


# ------------------------------------------------------------------------------------------ the checks


@pytest.mark.points(2)
def test_reads_civis_names(learner, monkeypatch):
    """credential(NAME) reads NAME_USERNAME and NAME_PASSWORD"""
    shim = Shim(learner, monkeypatch)
    for name in ("REDSHIFT", _name()):
        user_var, password_var = name + "_USERNAME", name + "_PASSWORD"
        user, password = shim.set_login(monkeypatch, user_var, password_var)
        expect_login(shim, "credential", name, situation=f"{user_var} and {password_var} are set",
                     pair=(user, password, user_var, password_var))


@pytest.mark.points(1)
def test_reads_at_call_time(learner, monkeypatch):
    """credential reads the environment each time it is called"""
    shim = Shim(learner, monkeypatch)
    name = _name()
    got = []
    for _ in range(2):
        user, password = shim.set_login(monkeypatch, name + "_USERNAME", name + "_PASSWORD")
        out = expect_login(shim, "credential", name, situation=f"{name}_USERNAME and {name}_PASSWORD are set")
        got.append((out["username"], out["password"]) == (user, password))
    assert all(got), (
        f"{name}_USERNAME and {name}_PASSWORD were set, then changed, but `credential({name!r})` did not "
        "return the new values. Read os.environ inside the function, every time it is called.")


@pytest.mark.points(2)
def test_other_civis_patterns(learner, monkeypatch):
    """kind="database" and kind="aws" read the endings Civis gives those parameters"""
    shim = Shim(learner, monkeypatch)
    name = _name("SOURCE")
    planted = {kind: shim.set_login(monkeypatch, name + user_end, name + password_end)
               for kind, (user_end, password_end) in ENDINGS.items()}  # every pattern set at once, all different
    for kind in ("database", "aws"):
        user_var, password_var = (name + end for end in ENDINGS[kind])
        expect_login(shim, "credential", name, kind=kind, situation=f"{user_var} and {password_var} are set",
                     pair=(*planted[kind], user_var, password_var))


@pytest.mark.points(2)
def test_missing_names_the_variable(learner, monkeypatch):
    """A missing or empty variable raises MissingCredentialError that names it, and what was looked for"""
    shim = Shim(learner, monkeypatch)
    name = _name()
    user_var, password_var = name + "_USERNAME", name + "_PASSWORD"
    cases = (("missing", user_var, password_var, None), ("missing", password_var, user_var, None),
             ("empty", password_var, user_var, ""))
    for how, missing, present, blank in cases:
        monkeypatch.delenv(missing, raising=False)
        if present == password_var:
            shim.set_login(monkeypatch, "UNUSED_" + name, password_var)  # a planted password in the one that is set
        else:
            shim.set(monkeypatch, present, _username())
        if blank is not None:
            monkeypatch.setenv(missing, blank)
        situation = f"{present} is set but {missing} is {'not set' if how == 'missing' else 'empty'}"
        message = expect_missing(shim, "credential", name, situation=situation, missing=missing)
        shown = shim.quote(message)
        assert missing in message, (
            f"When {situation}, the error says {shown!r}. Name the variable that is missing, {missing}, "
            "so the reader knows exactly which one to set.")
        assert present in message, (
            f"When {situation}, the error says {shown!r}. Also say which variables this credential is read "
            f"from ({user_var} and {password_var}): a reader then sees the whole pair at once.")
        monkeypatch.delenv(present, raising=False)
        monkeypatch.delenv(missing, raising=False)


@pytest.mark.points(1)
def test_message_says_how_to_set(learner, monkeypatch):
    """The error says how to set the variable in PowerShell and in a macOS or Linux terminal"""
    shim = Shim(learner, monkeypatch)
    name = _name()
    missing = name + "_PASSWORD"
    shim.set(monkeypatch, name + "_USERNAME", _username())
    message = expect_missing(shim, "credential", name, situation=f"{missing} is not set", missing=missing)
    shown = shim.quote(message)
    assert missing in message, (
        f"{name}_USERNAME is set and {missing} is not, but the error says {shown!r}. It should name {missing}. "
        "(If it names the username instead, read os.environ inside the function, when it is called.)")
    assert f"$env:{missing}".lower() in message.lower(), (
        f"The error says {shown!r}. Show the PowerShell way (Windows) to set it, with the variable's real "
        f"name: $env:{missing} = \"...\"")
    assert f"export {missing}" in message, (
        f"The error says {shown!r}. Show the macOS and Linux way (bash or zsh) to set it, with the variable's "
        f"real name: export {missing}=...")


@pytest.mark.points(2)
def test_password_never_shown(learner, monkeypatch):
    """Printing or logging a login never shows its password"""
    shim = Shim(learner, monkeypatch)
    seen = 0
    for name, kind in ((_name(), "custom"), (_name("S3"), "aws")):
        user_var, password_var = (name + end for end in ENDINGS[kind])
        user, password = shim.set_login(monkeypatch, user_var, password_var)
        # fails, naming where, if the password shows up anywhere
        out = expect_login(shim, "credential", name, kind=kind, situation=f"{user_var} and {password_var} are set",
                           pair=(user, password, user_var, password_var))
        seen += len(out["shown"])
    assert seen >= 6, "The check could not look at how the login is shown (a course bug)."


@pytest.mark.points(1)
def test_errors_never_show_password(learner, monkeypatch):
    """An error about a missing username never shows the password that is set"""
    shim = Shim(learner, monkeypatch)
    name = _name()
    shim.set_login(monkeypatch, "UNUSED_" + name, name + "_PASSWORD")
    for blank in (None, ""):
        if blank is None:
            monkeypatch.delenv(name + "_USERNAME", raising=False)
        else:
            monkeypatch.setenv(name + "_USERNAME", blank)
        # shim.call fails, naming where, if the password is in the message, the error's args or a log line
        expect_missing(shim, "credential", name, missing=name + "_USERNAME",
                       situation=f"{name}_PASSWORD is set but {name}_USERNAME is "
                                 + ("not set" if blank is None else "empty"))


@pytest.mark.points(2)
def test_warehouse_clear_names(learner, monkeypatch):
    """warehouse_credential() reads WAREHOUSE_USER/WAREHOUSE_PASSWORD, else the Civis credential REDSHIFT"""
    shim = Shim(learner, monkeypatch, needs=("credential", "warehouse_credential"))
    call = "warehouse_credential()"

    civis = shim.set_login(monkeypatch, *CIVIS)
    expect_login(shim, "warehouse_credential", situation="only REDSHIFT_USERNAME and REDSHIFT_PASSWORD are set "
                 "(on Civis)", pair=(*civis, *CIVIS))

    clear = shim.set_login(monkeypatch, *CLEAR)
    expect_login(shim, "warehouse_credential", situation="both WAREHOUSE_* and REDSHIFT_* are set (the clear "
                 "names win)", pair=(*clear, *CLEAR))

    for var in CIVIS:
        monkeypatch.delenv(var)
    clear = shim.set_login(monkeypatch, *CLEAR)
    expect_login(shim, "warehouse_credential", situation="only WAREHOUSE_USER and WAREHOUSE_PASSWORD are set",
                 pair=(*clear, *CLEAR))

    monkeypatch.delenv("WAREHOUSE_PASSWORD")
    shim.set_login(monkeypatch, "UNUSED_WAREHOUSE", "REDSHIFT_PASSWORD")
    shim.set(monkeypatch, "REDSHIFT_USERNAME", _username())
    message = expect_missing(shim, "warehouse_credential", missing="WAREHOUSE_PASSWORD",
                             situation="WAREHOUSE_USER is set but WAREHOUSE_PASSWORD is not (REDSHIFT_* are set)")
    assert "WAREHOUSE_PASSWORD" in message, (
        f"When WAREHOUSE_USER is set but WAREHOUSE_PASSWORD is not, {call} says {shim.quote(message)!r}. "
        "Once WAREHOUSE_USER is set, use the clear names only, and name WAREHOUSE_PASSWORD as the missing one.")

    for var in CLEAR + CIVIS:
        monkeypatch.delenv(var, raising=False)
    message = expect_missing(shim, "warehouse_credential", missing="WAREHOUSE_USER",
                             situation="none of WAREHOUSE_* and REDSHIFT_* is set")
    assert "WAREHOUSE_USER" in message, (
        f"When nothing is set, {call} says {shim.quote(message)!r}. New code is set up with the clear names, so "
        "name WAREHOUSE_USER as the one to set (you may mention REDSHIFT_USERNAME too, for scripts still on "
        "Civis). Falling back to credential(\"REDSHIFT\") is right when REDSHIFT_* are set, but its message "
        "names only the old Civis name.")
