"""A different correct answer: os.getenv, a helper for the message, and a loop over the two parts."""

import os


class MissingSettingError(RuntimeError):
    """A setting the script needs is not set, or is set to an empty value."""


def _how_to_set(name: str) -> str:
    return f"Add {name}=... to your .env file, or run: export {name}=your-value"


def get_setting(name: str) -> str:
    value = os.getenv(name)
    if not value:
        raise MissingSettingError(f"{name} is not set. {_how_to_set(name)}")
    return value


def database_credentials(prefix: str) -> tuple[str, str]:
    parts = []
    for suffix in ("USERNAME", "PASSWORD"):
        parts.append(get_setting(f"{prefix}_{suffix}"))
    return parts[0], parts[1]
