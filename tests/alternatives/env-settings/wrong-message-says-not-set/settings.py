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
    """Return the value of the environment variable `name`.

    If it is not set, or set to an empty string, raise MissingSettingError
    with a message that names the variable and says how to set it.
    """
    value = os.environ.get(name, "")
    if value == "":
        raise MissingSettingError(f"{name} is not set")
    return value


def database_credentials(prefix: str) -> tuple[str, str]:
    """Return (username, password) from PREFIX_USERNAME and PREFIX_PASSWORD.

    For example database_credentials("VAN") reads VAN_USERNAME and
    VAN_PASSWORD, just like a Civis credential called VAN.
    """
    username = get_setting(f"{prefix}_USERNAME")
    password = get_setting(f"{prefix}_PASSWORD")
    return username, password


if __name__ == "__main__":
    prefix = sys.argv[1] if len(sys.argv) > 1 else "VAN"
    username, password = database_credentials(prefix)
    # Never print a password. Printing how long it is is enough to check.
    print(f"{prefix}: username {username!r}, password of {len(password)} characters")
