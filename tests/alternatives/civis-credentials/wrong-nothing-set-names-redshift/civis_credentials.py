"""Read a credential by its Civis name, so old Civis scripts keep working.

On Civis, a credential parameter called REDSHIFT reached a script as two
environment variables, REDSHIFT_USERNAME and REDSHIFT_PASSWORD. Other kinds
of parameter used other endings (see SUFFIXES). This module reads those
variables for you:

    from civis_credentials import credential, warehouse_credential

    login = credential("REDSHIFT")      # the old Civis names
    login = warehouse_credential()       # new code: WAREHOUSE_USER, WAREHOUSE_PASSWORD

Both give an object with .username and .password. Printing it, or
logging it, never shows the password.

Try it from this folder:

    uv run python civis_credentials.py REDSHIFT
"""

import logging
import os
import sys
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


class MissingCredentialError(RuntimeError):
    """A variable that a credential needs is not set, or is set to an empty value."""


# The two endings Civis adds to the name of each kind of credential parameter:
# (the ending of the username, the ending of the password).
SUFFIXES = {
    "custom": ("_USERNAME", "_PASSWORD"),  # a "credential_custom" parameter
    "redshift": ("_USERNAME", "_PASSWORD"),  # a "credential_redshift" parameter
    "database": ("_CREDENTIAL_USERNAME", "_CREDENTIAL_PASSWORD"),  # a "database" parameter
    "aws": ("_ACCESS_KEY_ID", "_SECRET_ACCESS_KEY"),  # a "credential_aws" parameter
}


@dataclass(frozen=True)
class Credential:
    """A username and a password. The password is left out of repr() and str()."""

    username: str
    password: str = field(repr=False)


def _how_to_set(variable: str, looked_for: list[str]) -> str:
    """The message for a missing variable: which one, what we looked for, how to set it."""
    return (
        f"{variable} is not set, or is empty. "
        f"This credential is read from {' and '.join(looked_for)}. "
        f"Set {variable} before you run the script. "
        f'In PowerShell (Windows): $env:{variable} = "..."   '
        f"In a terminal on macOS or Linux: export {variable}=...   "
        f"Or add a line {variable}=... to your .env file."
    )


def _read(variable: str, looked_for: list[str]) -> str:
    value = os.environ.get(variable, "")
    if value == "":
        raise MissingCredentialError(_how_to_set(variable, looked_for))
    return value


def credential(name: str, kind: str = "custom") -> Credential:
    """Read the Civis credential `name` from its two environment variables.

    credential("REDSHIFT") reads REDSHIFT_USERNAME and REDSHIFT_PASSWORD;
    kind="database" and kind="aws" use the other endings in SUFFIXES.
    """
    if kind not in SUFFIXES:
        raise ValueError(f"Unknown kind {kind!r}: use one of {', '.join(SUFFIXES)}.")
    user_end, password_end = SUFFIXES[kind]
    names = [name + user_end, name + password_end]
    username = _read(names[0], names)
    password = _read(names[1], names)
    log.debug("Read credential %s from %s", name, names)
    return Credential(username, password)


def warehouse_credential() -> Credential:
    """The warehouse login for new code.

    Reads WAREHOUSE_USER and WAREHOUSE_PASSWORD. When WAREHOUSE_USER is not
    set, falls back to the Civis credential REDSHIFT (REDSHIFT_USERNAME and
    REDSHIFT_PASSWORD), so the same code still runs on Civis.
    """
    clear = ["WAREHOUSE_USER", "WAREHOUSE_PASSWORD"]
    if os.environ.get("WAREHOUSE_USER", "") != "":
        return Credential(_read(clear[0], clear), _read(clear[1], clear))
    return credential("REDSHIFT")  # with nothing set, the error names only REDSHIFT_USERNAME


if __name__ == "__main__":
    name = sys.argv[1] if len(sys.argv) > 1 else "REDSHIFT"
    login = credential(name)
    print(login)  # safe: the password is not shown
    print(f"password of {len(login.password)} characters")
