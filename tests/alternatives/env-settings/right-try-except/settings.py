"""Settings for our scripts, read from environment variables.

On Civis, a credential called VAN reached your script as two environment
variables, VAN_USERNAME and VAN_PASSWORD. Here we read the same kind of
variables ourselves, and stop with a clear message when one is missing.

Try it from this folder:

    uv run python settings.py VAN
"""

import os
import sys


class MissingSettingError(RuntimeError):
    """A setting the script needs is not set, or is set to an empty value."""


def get_setting(name: str) -> str:
    """Return the value of the environment variable `name`."""
    try:
        value = os.environ[name]
    except KeyError:
        raise MissingSettingError(
            f"No environment variable called {name}. Please export {name}=... (bash) "
            f"or put it in your .env file."
        ) from None
    if not value.strip():
        raise MissingSettingError(f"{name} exists but is blank; set {name} to a real value.")
    return value


def database_credentials(prefix: str) -> tuple[str, str]:
    """Return (username, password) from PREFIX_USERNAME and PREFIX_PASSWORD."""
    return tuple(get_setting(prefix + "_" + part) for part in ("USERNAME", "PASSWORD"))
