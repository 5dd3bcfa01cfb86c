"""A different correct answer: a plain class with its own __repr__, a loop over the two names, os.getenv."""

import os


class MissingCredentialError(RuntimeError):
    """A variable that a credential needs is not set, or is set to an empty value."""


SUFFIXES = {
    "custom": ("_USERNAME", "_PASSWORD"),
    "redshift": ("_USERNAME", "_PASSWORD"),
    "database": ("_CREDENTIAL_USERNAME", "_CREDENTIAL_PASSWORD"),
    "aws": ("_ACCESS_KEY_ID", "_SECRET_ACCESS_KEY"),
}


class Credential:
    __slots__ = ("username", "password")

    def __init__(self, username, password):
        self.username = username
        self.password = password

    def __repr__(self):
        return f"<Credential for {self.username} (password hidden)>"


def _get_all(names):
    values = []
    for var in names:
        value = os.getenv(var)
        if not value:
            raise MissingCredentialError(
                f"Missing environment variable: {var}\n"
                f"(looked for {', '.join(names)})\n"
                f"  Windows PowerShell:  $env:{var} = 'value'\n"
                f"  macOS / Linux:       export {var}='value'"
            )
        values.append(value)
    return values


def credential(name, kind="custom"):
    endings = SUFFIXES[kind]
    return Credential(*_get_all([name + e for e in endings]))


def warehouse_credential():
    if os.getenv("WAREHOUSE_USER"):
        return Credential(*_get_all(["WAREHOUSE_USER", "WAREHOUSE_PASSWORD"]))
    if os.getenv("REDSHIFT_USERNAME") or os.getenv("REDSHIFT_PASSWORD"):
        return credential("REDSHIFT", "redshift")
    raise MissingCredentialError(
        "No warehouse login. Set WAREHOUSE_USER and WAREHOUSE_PASSWORD "
        "($env:WAREHOUSE_USER = '...' in PowerShell, export WAREHOUSE_USER=... on macOS or Linux), "
        "or on Civis attach a credential parameter called REDSHIFT."
    )
