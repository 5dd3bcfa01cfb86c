"""Set up a pretend production on your own computer. Run it once, from this folder:

    uv run flowcamp run setup_production.py

On a team's real Prefect server, an administrator does this once, with the
real password. Here it does three things:

1. makes a new, random password (nobody sees it, not even you);
2. makes the stand-in production warehouse, production.duckdb, which accepts
   only that password;
3. stores what the flow needs on your Prefect server: the password in the
   Secret block `warehouse-password`, and where the warehouse is in the
   Variable `production_warehouse`.

Run it again whenever you like: that is a password rotation. It makes a new
password and a new, empty production.duckdb, and replaces the block's value.
Your flow picks up the new password on its next run, with no change to the code.
"""

import secrets
from pathlib import Path

from prefect.blocks.system import Secret
from prefect.variables import Variable

from production import create_production

BLOCK = "warehouse-password"
VARIABLE = "production_warehouse"

if __name__ == "__main__":
    location = str(Path(__file__).resolve().parent / "production.duckdb")
    password = secrets.token_urlsafe(24)

    create_production(location, password)
    Secret(value=password).save(BLOCK, overwrite=True)
    Variable.set(VARIABLE, location, overwrite=True)

    print(f"Made a stand-in production warehouse at {location}")
    print(f"Saved its new password in the Secret block '{BLOCK}' (the password is not shown)")
    print(f"Saved its location in the Variable '{VARIABLE}'")
