"""A different correct answer: a pydantic model whose password field is left out of its repr, and a
try/except around os.environ[...]."""

import logging
import os

from pydantic import BaseModel, Field

logger = logging.getLogger("civis_credentials")


class MissingCredentialError(RuntimeError):
    """A variable that a credential needs is not set, or is set to an empty value."""


SUFFIXES = {
    "custom": ("_USERNAME", "_PASSWORD"),
    "redshift": ("_USERNAME", "_PASSWORD"),
    "database": ("_CREDENTIAL_USERNAME", "_CREDENTIAL_PASSWORD"),
    "aws": ("_ACCESS_KEY_ID", "_SECRET_ACCESS_KEY"),
}


class Credential(BaseModel):
    username: str
    password: str = Field(repr=False)


def _env(var: str, pair: tuple[str, str]) -> str:
    try:
        value = os.environ[var]
    except KeyError:
        value = ""
    if not value.strip():
        logger.warning("credential variable %s is missing", var)
        raise MissingCredentialError(
            f"{var} is missing (the credential needs {pair[0]} and {pair[1]}). "
            f"PowerShell: $env:{var}=\"...\" | macOS/Linux: export {var}=\"...\""
        ) from None
    return value


def credential(name: str, kind: str = "custom") -> Credential:
    pair = (name + SUFFIXES[kind][0], name + SUFFIXES[kind][1])
    login = Credential(username=_env(pair[0], pair), password=_env(pair[1], pair))
    logger.info("read credential %s: %r", name, login)
    return login


def warehouse_credential() -> Credential:
    clear = ("WAREHOUSE_USER", "WAREHOUSE_PASSWORD")
    if os.environ.get("WAREHOUSE_USER"):
        return Credential(username=_env(clear[0], clear), password=_env(clear[1], clear))
    try:
        return credential("REDSHIFT")
    except MissingCredentialError:
        if os.environ.get("REDSHIFT_USERNAME") or os.environ.get("REDSHIFT_PASSWORD"):
            raise
        _env("WAREHOUSE_USER", clear)
        raise
