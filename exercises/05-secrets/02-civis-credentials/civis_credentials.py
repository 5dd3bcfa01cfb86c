"""Read a credential by its Civis name, so old Civis scripts keep working.

On Civis, a credential parameter called REDSHIFT reached a script as two
environment variables, REDSHIFT_USERNAME and REDSHIFT_PASSWORD. Other kinds
of parameter used other endings (see SUFFIXES). This module reads those
variables for you:

    from civis_credentials import credential, warehouse_credential

    login = credential("REDSHIFT")      # the old Civis names
    login = warehouse_credential()       # new code: WAREHOUSE_USER, WAREHOUSE_PASSWORD

Both give an object with .username and .password. Printing it, or
logging it, must never show the password.

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
    # TODO: a "database" parameter (see README.md, step 2)
    # TODO: a "credential_aws" parameter (see README.md, step 2)
}


@dataclass(frozen=True)
class Credential:
    """A username and a password."""

    username: str
    password: str  # TODO: a dataclass shows every field in its repr. Hide this one (step 1).


def credential(name: str, kind: str = "custom") -> Credential:
    """Read the Civis credential `name` from its two environment variables.

    credential("REDSHIFT") reads REDSHIFT_USERNAME and REDSHIFT_PASSWORD;
    kind="database" and kind="aws" use the other endings in SUFFIXES.
    If a variable is missing or empty, raise MissingCredentialError with a
    message that names it, names both variables this credential is read
    from, and says how to set it in PowerShell, and on macOS or Linux.
    Never put a value in the message.
    """
    # TODO: build the two variable names from name and SUFFIXES[kind].
    # TODO: read each one from os.environ when the function is called.
    # TODO: raise MissingCredentialError(...) when one is missing or empty.
    raise NotImplementedError("credential is not written yet: see step 3 in README.md")


def warehouse_credential() -> Credential:
    """The warehouse login for new code.

    Reads WAREHOUSE_USER and WAREHOUSE_PASSWORD. When WAREHOUSE_USER is not
    set, falls back to the Civis credential REDSHIFT (REDSHIFT_USERNAME and
    REDSHIFT_PASSWORD), so the same code still runs on Civis.
    """
    # TODO: see step 4 in README.md.
    raise NotImplementedError("warehouse_credential is not written yet: see step 4 in README.md")


if __name__ == "__main__":
    name = sys.argv[1] if len(sys.argv) > 1 else "REDSHIFT"
    login = credential(name)
    print(login)  # safe only once step 1 is done
    print(f"password of {len(login.password)} characters")
