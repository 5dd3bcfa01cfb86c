"""Secrets never reach output: the values of secret-looking environment variables, and the secrets a check
plants, are cut out of every message and output before anyone sees them."""

from __future__ import annotations

import os
import re

SECRET_NAME = re.compile(r"(_PASSWORD|_PASSWD|_SECRET|_TOKEN|_KEY|_API_KEY|_SECRET_ACCESS_KEY)$", re.IGNORECASE)
MIN_LENGTH = 6  # shorter values are too likely to be ordinary words
MASK = "[hidden secret]"
EXTRA_NAMES_VAR = "FLOWCAMP_SECRET_NAMES"  # more names the course declares secret, comma-separated


def secret_values(env: dict[str, str] | None = None, extra: set[str] | None = None) -> set[str]:
    env = os.environ if env is None else env
    names = {n.strip() for n in env.get(EXTRA_NAMES_VAR, "").split(",") if n.strip()}
    values = {v for k, v in env.items() if (SECRET_NAME.search(k) or k in names) and len(v) >= MIN_LENGTH}
    return values | {v for v in (extra or set()) if len(v) >= MIN_LENGTH}


def redact(text: str, secrets: set[str]) -> str:
    """``text`` with every secret value replaced by a mask (longest first, so one secret inside another goes too)."""
    if not text:
        return text
    for value in sorted(secrets, key=len, reverse=True):
        if value in text:
            text = text.replace(value, MASK)
    return text
