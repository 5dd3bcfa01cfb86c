"""A stand-in for the production warehouse. Use it; you do not need to change it.

In production, the attendance table goes to the organisation's Redshift
warehouse, and connecting to it needs a host name and a password. There is
no Redshift here, and nothing in this course needs the internet, so a DuckDB
file plays the production warehouse:

- `location` stands for the host name: it is the path of the DuckDB file.
- `password` is checked the way a real warehouse checks it. A wrong one is
  refused with the same kind of error Redshift gives.

`connect_production` never prints, logs or stores the password. The file
keeps only a salted hash of it (a scrambled form that cannot be turned back
into the password), and, for each login, a proof that the right password was
given. The checks read those proofs: they can tell your flow used the
password without ever seeing it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

import duckdb

USER = "attendance_loader"


def _digest(key: str, message: str) -> str:
    return hmac.new(key.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()


def create_production(location: str, password: str) -> None:
    """Make an empty stand-in production warehouse at `location` that accepts only `password`."""
    if os.path.exists(location):
        os.remove(location)
    salt = secrets.token_hex(16)
    with duckdb.connect(str(location)) as con:
        con.execute("CREATE SCHEMA _server")
        con.execute("CREATE TABLE _server.login (username VARCHAR, salt VARCHAR, verifier VARCHAR)")
        con.execute("INSERT INTO _server.login VALUES (?, ?, ?)", [USER, salt, _digest(password, salt)])
        con.execute("CREATE TABLE _server.sessions (nonce VARCHAR, proof VARCHAR, started_at TIMESTAMP)")
        con.execute("CREATE SCHEMA analytics")


def connect_production(location: str, password: str) -> duckdb.DuckDBPyConnection:
    """Connect to the production warehouse at `location` with `password`, as `attendance_loader`.

    Returns an open DuckDB connection: use it in a `with` block, like `duckdb.connect`.
    """
    if not isinstance(location, str) or not location:
        raise TypeError(
            f"connect_production needs the warehouse's location as text, but got {type(location).__name__}. "
            "Is the Prefect Variable `production_warehouse` set? `uv run flowcamp run setup_production.py` "
            "sets it on your own server.")
    if not isinstance(password, str):
        raise TypeError(
            f"connect_production needs the password as text, but got a {type(password).__name__}. "
            "From a Secret block, `.get()` gives the text: `Secret.load(\"warehouse-password\").get()`.")
    if not os.path.exists(location):
        raise FileNotFoundError(
            f"There is no production warehouse at {location}. Run `uv run flowcamp run setup_production.py` "
            "in this folder once: it makes one on your computer.")
    con = duckdb.connect(location)
    try:
        found = con.execute("SELECT salt, verifier FROM _server.login WHERE username = ?", [USER]).fetchone()
        if found is None or not hmac.compare_digest(_digest(password, found[0]), found[1]):
            raise PermissionError(f'password authentication failed for user "{USER}"')
        nonce = secrets.token_hex(16)
        con.execute("INSERT INTO _server.sessions VALUES (?, ?, now())", [nonce, _digest(password, nonce)])
    except BaseException:
        con.close()
        raise
    return con
