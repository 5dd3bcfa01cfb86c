"""Plain data across the line between a learner process and the check that asked it something.

Values are JSON with a few tags for Python types JSON lacks. Decoding never runs code and never builds
anything but plain values (no pickle: the learner's side is untrusted). An object that is not plain data
travels as its type and repr only (:class:`Opaque`).
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import math
from dataclasses import dataclass

MAX_DEPTH = 20
MAX_ITEMS = 200_000


@dataclass(frozen=True)
class Opaque:
    """Something the learner's code returned that is not plain data: its type and a short repr."""

    type: str
    repr: str

    def __repr__(self) -> str:
        return self.repr


def qualname(obj_type: type) -> str:
    mod = getattr(obj_type, "__module__", "") or ""
    name = getattr(obj_type, "__qualname__", getattr(obj_type, "__name__", "?"))
    return name if mod in ("builtins", "") else f"{mod}.{name}"


def _short_repr(value, limit: int = 300) -> str:
    try:
        text = repr(value)
    except Exception as e:  # noqa: BLE001 - a learner's __repr__ may raise
        text = f"<{qualname(type(value))} whose repr raised {type(e).__name__}>"
    return text if len(text) <= limit else text[:limit] + "..."


def encode(value, depth: int = 0):  # noqa: C901 - one branch per type is the clearest form
    """A JSON-ready form of ``value`` (runs in the learner's process)."""
    if depth > MAX_DEPTH:
        return {"$t": "opaque", "type": qualname(type(value)), "repr": "(nested too deep)"}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**63 else {"$t": "int", "v": str(value)}
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$t": "float", "v": repr(value)}
    if isinstance(value, (list, tuple, set, frozenset)):
        kind = {list: "list", tuple: "tuple", set: "set", frozenset: "set"}.get(type(value))
        items = [encode(v, depth + 1) for v in list(value)[:MAX_ITEMS]]
        if kind == "list":
            return items
        if kind is not None:
            return {"$t": kind, "v": items}
    if isinstance(value, dict) and type(value) is dict:
        if all(isinstance(k, str) for k in value):
            return {"$t": "dict", "v": {k: encode(v, depth + 1) for k, v in value.items()}}
        return {"$t": "pairs", "v": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()]}
    if isinstance(value, (bytes, bytearray)):
        return {"$t": "bytes", "v": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, decimal.Decimal):
        return {"$t": "decimal", "v": str(value)}
    for t, tag in ((dt.datetime, "datetime"), (dt.date, "date"), (dt.time, "time")):
        if type(value) is t:
            return {"$t": tag, "v": value.isoformat()}
    if type(value) is dt.timedelta:
        return {"$t": "timedelta", "v": value.total_seconds()}
    return {"$t": "opaque", "type": qualname(type(value)), "repr": _short_repr(value)}


def decode(data, depth: int = 0):  # noqa: C901
    """Plain Python values from :func:`encode`'s output (runs in the trusted process)."""
    if depth > MAX_DEPTH + 2:
        raise ValueError("nested too deep")
    if data is None or isinstance(data, (bool, str, int, float)):
        return data
    if isinstance(data, list):
        return [decode(v, depth + 1) for v in data]
    if not isinstance(data, dict) or "$t" not in data:
        raise ValueError("not an encoded value")
    tag, v = data["$t"], data.get("v")
    if tag == "tuple":
        return tuple(decode(x, depth + 1) for x in v)
    if tag == "set":
        out = [decode(x, depth + 1) for x in v]
        try:
            return set(out)
        except TypeError:
            return out
    if tag == "dict":
        return {str(k): decode(x, depth + 1) for k, x in v.items()}
    if tag == "pairs":
        out = {}
        for k, x in v:
            key = decode(k, depth + 1)
            out[key if isinstance(key, (str, int, float, bool, tuple, type(None))) else repr(key)] = decode(x, depth + 1)
        return out
    simple = {"int": int, "float": float, "decimal": decimal.Decimal, "datetime": dt.datetime.fromisoformat,
              "date": dt.date.fromisoformat, "time": dt.time.fromisoformat}
    if tag in simple:
        return simple[tag](str(v))
    if tag == "bytes":
        return base64.b64decode(str(v))
    if tag == "timedelta":
        return dt.timedelta(seconds=float(v))
    if tag == "opaque":
        return Opaque(str(data.get("type", "?")), str(data.get("repr", "")))
    raise ValueError(f"unknown tag {tag!r}")


def dumps(message: dict) -> bytes:
    return (json.dumps(message, ensure_ascii=True, allow_nan=False) + "\n").encode("ascii")


def loads(line: bytes) -> dict:
    msg = json.loads(line)
    if not isinstance(msg, dict):
        raise ValueError("a message must be a JSON object")
    return msg
