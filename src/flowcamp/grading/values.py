"""Plain values as the gradebook keeps them: times in UTC ISO, slugs, text DuckDB accepts, numbers that are
numbers. Small, shared by the gradebook, its exports and the report."""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import datetime, timezone


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def utc_iso(value) -> str | None:
    """An ISO 8601 time (any offset) as UTC ISO, so times sort as text; None when it is not a time."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        t = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return t.astimezone(timezone.utc).isoformat(timespec="seconds")


def slug(text: str, limit: int = 60) -> str:
    """Lower-case ASCII letters, digits and single dashes: 'José  Ñúñez' -> 'jose-nunez'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:limit].strip("-")


def text(value) -> str:
    """Text as the gradebook stores it: a lone surrogate (a file name or a JSON "\\udc80" that is not valid
    UTF-8) becomes U+FFFD, which DuckDB accepts."""
    text = "" if value is None else str(value)
    return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text) if _has_surrogate(text) else text


def as_json(value) -> str:
    """JSON the gradebook's JSON columns accept: DuckDB refuses an escaped lone surrogate too."""
    return text(json.dumps(value, ensure_ascii=False, default=str))


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
        return False
    except UnicodeEncodeError:
        return True


def number(value) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return 0.0
    return x if x == x and abs(x) != float("inf") else 0.0


def learner_key(learner: dict | None, submission_hash: str) -> str:
    """Who handed a submission in: the lower-cased email, else a slug of the name, else 'anon-<hash>'."""
    learner = learner if isinstance(learner, dict) else {}
    email = learner.get("email")
    if isinstance(email, str) and "@" in email.strip():
        return email.strip().lower()
    name = learner.get("name")
    if isinstance(name, str) and slug(name):
        return slug(name)
    return "anon-" + submission_hash[:8]
