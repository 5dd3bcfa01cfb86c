"""Runs in the learner's process, never in the check's: it imports the learner's civis_credentials.py, calls
one of its functions, and reports as plain data everything a person could see of the result: repr, str,
f-strings, the object inside a list, every log record (at DEBUG, from every logger), and the error raised.

The check compares these texts with the values it planted, in its own process. Nothing here decides a verdict.
"""

import importlib.util
import logging
import sys

_STATE = {}


class _Keep(logging.Handler):
    def __init__(self):
        super().__init__(logging.NOTSET)
        self.lines, self.records = [], []

    def emit(self, record):
        if any(r is record for r in self.records):  # a record seen again on its way up to the root logger
            return
        self.records.append(record)
        try:
            text = logging.Formatter("%(levelname)s %(name)s: %(message)s").format(record)
        except Exception as e:  # noqa: BLE001 - a learner's log call may not format
            text = f"(a log line that could not be formatted: {type(e).__name__}) {record.msg!r} {record.args!r}"
        self.lines.append(text)


def load(path):
    """Import the learner's file once, before the check sets any variable (as a real script is imported)."""
    spec = importlib.util.spec_from_file_location("civis_credentials", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["civis_credentials"] = module
    spec.loader.exec_module(module)
    _STATE["module"] = module
    return sorted(n for n in vars(module) if not n.startswith("__"))


def _show(text_of, obj):
    try:
        return text_of(obj)
    except Exception as e:  # noqa: BLE001
        return f"(raised {type(e).__name__})"


def _loggers():
    yield logging.getLogger()
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):
            yield logger


def call(function, *args, **kwargs):
    """Call the learner's function; return what it gave and every way it could be seen."""
    module = _STATE["module"]
    keep = _Keep()
    logging.disable(logging.NOTSET)
    old = []
    for logger in _loggers():
        old.append((logger, logger.level, logger.disabled))
        logger.setLevel(logging.DEBUG)
        logger.disabled = False
        logger.addHandler(keep)
    out = {"raised": None, "returned": False, "logs": keep.lines}
    try:
        obj = getattr(module, function)(*args, **kwargs)
    except Exception as e:  # noqa: BLE001 - the learner's error, as text
        out["raised"] = {
            "type": type(e).__name__,
            "mro": [t.__name__ for t in type(e).__mro__],
            "message": _show(str, e),
            "shown": [_show(str, e), _show(repr, e), _show(lambda x: repr(x.args), e)]
            + [_show(str, c) for c in (e.__cause__, e.__context__) if c is not None],
        }
    else:
        out["returned"] = True
        out["type"] = type(obj).__name__
        out["has"] = {a: hasattr(obj, a) for a in ("username", "password")}
        out["username"] = getattr(obj, "username", None)
        out["password"] = getattr(obj, "password", None)
        for key in ("username", "password"):
            if not isinstance(out[key], (str, type(None))):
                out[key] = {"not_text": type(out[key]).__name__}
        out["shown"] = {
            "repr(login)": _show(repr, obj),
            "str(login)": _show(str, obj),
            'f"{login}"': _show(lambda x: f"{x}", obj),
            'f"{login!r}"': _show(lambda x: f"{x!r}", obj),
            "print([login])": _show(lambda x: str([x]), obj),
            'print({"login": login})': _show(lambda x: str({"login": x}), obj),
        }
        logging.getLogger("flowcamp.check").info("Got a login: %s", obj)
        logging.getLogger("flowcamp.check").info("Got a login: %r", obj)
    finally:
        for logger, level, disabled in old:
            logger.removeHandler(keep)
            logger.setLevel(level)
            logger.disabled = disabled
    return out
