"""Runs in the LEARNER's process, never in the check's: the checks load it with ``learner.load`` (by its full
path; it stays in the course, it is never copied to a workspace).

It does what a pipeline does with the learner's settings.py: load the settings, ask for the target, connect,
and reports what happened as plain data, including everything that could show a password: repr and str of
the settings, the target, log records, error messages and tracebacks. It decides nothing: the checks compare.

The learner's ``import warehouse_standin`` gets the course's copy of the stand-in driver, wrapped so that
each call's arguments are recorded.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import traceback
from pathlib import Path

from flowcamp.learnerhost import describe_exception

STANDIN_FILE = Path(__file__).resolve().parents[1] / "warehouse_standin.py"
FIELDS = ("env", "duckdb_path", "batch_size", "warehouse_host", "warehouse_port", "warehouse_database",
          "warehouse_user", "warehouse_password")
PLAIN = (str, int, float, bool, type(None))


def _install_standin():
    spec = importlib.util.spec_from_file_location("warehouse_standin", STANDIN_FILE)
    module = importlib.util.module_from_spec(spec)
    sys.modules["warehouse_standin"] = module
    spec.loader.exec_module(module)
    real, calls = module.connect, []

    def connect(*args, **kwargs):
        calls.append((args, kwargs))
        return real(*args, **kwargs)

    module.connect = connect
    return module, calls


STANDIN, CALLS = _install_standin()

import settings as learner  # noqa: E402 - imported now, with the environment the check gave the load

LEARNER_DIR = Path(learner.__file__).resolve().parent


def _names(cls) -> list[str]:
    return [f"{getattr(t, '__module__', '')}.{t.__qualname__}" for t in cls.__mro__]


def _error(exc: BaseException) -> dict:
    try:
        printed = "".join(traceback.format_exception(exc))
    except Exception:  # noqa: BLE001 - a learner's __str__ may raise
        printed = type(exc).__name__
    try:
        message = str(exc)
    except Exception:  # noqa: BLE001
        message = "(its message could not be shown)"
    return {"type": type(exc).__name__, "mro": _names(type(exc)), "message": message, "printed": printed,
            "where": describe_exception(exc, LEARNER_DIR)}


def _text(fn) -> str:
    try:
        return str(fn())
    except Exception as e:  # noqa: BLE001
        return f"(raised {type(e).__name__})"


def _fields(settings) -> dict:
    out = {}
    for name in FIELDS:
        if not hasattr(settings, name):
            out[name] = {"missing": True}
            continue
        value = getattr(settings, name)
        info = {"type": type(value).__name__, "mro": _names(type(value))}
        if name != "warehouse_password":  # its value goes nowhere, even to the check
            info["value"] = value if isinstance(value, PLAIN) else str(value)
        out[name] = info
    return out


def _calls() -> list[dict]:
    out = []
    for args, kwargs in CALLS:
        kw = {k: (v if isinstance(v, PLAIN) else {"type": type(v).__name__, "str": _text(lambda v=v: v)})
              for k, v in kwargs.items()}
        out.append({"positional": len(args), "kwargs": kw})
    return out


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        text = _text(record.getMessage)
        if record.exc_info and record.exc_info[1] is not None:
            text += "\n" + "".join(traceback.format_exception(record.exc_info[1]))
        self.lines.append(f"{record.levelname} {record.name}: {text}")


def probe(connect: bool = False, production: str | None = None, query: str | None = None) -> dict:
    """Load the settings, ask for the target, and connect if asked (``production``: the file that plays the
    production warehouse for the stand-in; ``query``: run on the connection, its rows returned)."""
    root, capture = logging.getLogger(), _Capture()
    old_level = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    out: dict = {}
    try:
        _steps(out, connect, production, query)
    finally:
        root.removeHandler(capture)
        root.setLevel(old_level)
        out["logs"] = capture.lines
    return out


def _steps(out: dict, connect: bool, production: str | None, query: str | None) -> None:
    try:
        settings = learner.load_settings()
    except (Exception, SystemExit) as e:  # noqa: BLE001 - every outcome is data for the check
        out["load_error"] = _error(e)
        return
    out["settings_type"] = _names(type(settings))
    out["repr"], out["str"] = _text(lambda: repr(settings)), _text(lambda: str(settings))
    out["json"] = _text(settings.model_dump_json) if hasattr(settings, "model_dump_json") else ""
    out["fields"] = _fields(settings)
    try:
        target = learner.warehouse_target(settings)
        out["target"] = {"type": type(target).__name__, "str": _text(lambda: target),
                         "repr": _text(lambda: repr(target))}
    except (Exception, SystemExit) as e:  # noqa: BLE001
        out["target_error"] = _error(e)
    if not connect:
        return
    if production:
        STANDIN.PRODUCTION = Path(production)
    CALLS.clear()
    try:
        con = learner.connect(settings)
    except (Exception, SystemExit) as e:  # noqa: BLE001
        out["connect_error"] = _error(e)
        out["calls"] = _calls()
        return
    out["calls"] = _calls()
    out["connection"] = type(con).__name__
    if query:
        try:
            out["rows"] = [list(r) for r in con.execute(query).fetchall()]
        except Exception as e:  # noqa: BLE001
            out["query_error"] = f"{type(e).__name__}: {e}"
    try:
        con.close()
    except Exception:  # noqa: BLE001
        pass
