"""A stand-in for the production warehouse's database driver. You do not need to change this file.

In production, the pipeline would connect to Redshift (or Postgres) with a driver such as
redshift_connector or psycopg:

    redshift_connector.connect(host=..., port=..., database=..., user=..., password=...)

This course has no Redshift and needs no internet, so `connect` here takes the same arguments,
checks them the way a real driver would, and then opens a local DuckDB file that plays
"production": by default the same warehouse.duckdb your laptop uses, read-only.
Your code calls it exactly as it would call the real driver.
"""

from pathlib import Path

import duckdb

# The file that plays the production warehouse: warehouse.duckdb, two folders above this file.
PRODUCTION = Path(__file__).resolve().parents[2] / "warehouse.duckdb"


def connect(*, host: str, port: int, database: str, user: str, password: str):
    """Open a connection to "production". Every argument must be given by name, as with the real drivers."""
    if not isinstance(password, str):
        raise TypeError(
            f"password must be text, but it is a {type(password).__name__}. If it is a SecretStr, "
            "call .get_secret_value() on it here, where the connection is made."
        )
    if not isinstance(port, int) or isinstance(port, bool):
        raise TypeError(f"port must be a whole number (int), but it is a {type(port).__name__}.")
    for name, value in (("host", host), ("database", database), ("user", user)):
        if not isinstance(value, str) or value == "":
            raise ValueError(f"{name} must be a non-empty text value.")
    if password == "":
        raise PermissionError(f'password authentication failed for user "{user}" (the password is empty)')
    return duckdb.connect(str(PRODUCTION), read_only=True)
