"""A learner's answer with one slip: the username variable is spelled VAN_USER instead of VAN_USERNAME."""

import os
import sys


class MissingSettingError(RuntimeError):
    """A setting the script needs is not set, or is set to an empty value."""


def get_setting(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise MissingSettingError(
            f"{name} is not set. In bash or zsh run export {name}=... ; in PowerShell $env:{name} = '...'."
        )
    return value


def database_credentials(prefix: str) -> tuple[str, str]:
    username = get_setting(prefix + "_USER")
    password = get_setting(prefix + "_PASSWORD")
    return username, password


if __name__ == "__main__":
    prefix = sys.argv[1] if len(sys.argv) > 1 else "VAN"
    username, password = database_credentials(prefix)
    print(f"{prefix}: username {username!r}, password of {len(password)} characters")
