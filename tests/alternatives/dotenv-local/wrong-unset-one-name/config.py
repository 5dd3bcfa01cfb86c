"""Settings for the nightly event-attendance pipeline.

On your laptop, the pipeline reads the DuckDB warehouse file named in
WAREHOUSE_PATH. In production, it will log in to Redshift with
REDSHIFT_USERNAME and REDSHIFT_PASSWORD. (On Civis, a credential called
REDSHIFT reached a script as exactly those two variables.)

On your laptop these values come from a file called .env, next to this
file. In production there is no .env file: the values are real environment
variables. The code is the same in both places.

Try it from this folder:

    uv run python config.py
"""

import os
from pathlib import Path

from dotenv import load_dotenv

# The .env file next to this file, wherever the terminal happens to be.
ENV_FILE = Path(__file__).resolve().parent / ".env"


def load_settings() -> dict:
    """Load the .env file next to this file, if there is one, and return the settings.

    Returns a dictionary with three keys:

        "warehouse_path"     the value of WAREHOUSE_PATH
        "redshift_username"  the value of REDSHIFT_USERNAME
        "redshift_password"  the value of REDSHIFT_PASSWORD

    A value is None when its variable is set nowhere. When a variable is set
    both in the environment and in .env, the environment wins.
    """
    # override=False (the default): a variable that is already set keeps its value.
    load_dotenv(ENV_FILE, override=False)
    return {
        "warehouse_path": os.environ["WAREHOUSE_PATH"],
        "redshift_username": os.environ.get("REDSHIFT_USERNAME"),
        "redshift_password": os.environ.get("REDSHIFT_PASSWORD"),
    }


if __name__ == "__main__":
    settings = load_settings()
    # Show what was found, but never a password: "set" or "not set" is enough.
    print(f"Warehouse file:    {settings['warehouse_path'] or '(not set)'}")
    print(f"Redshift user:     {settings['redshift_username'] or '(not set)'}")
    print(f"Redshift password: {'set' if settings['redshift_password'] else 'not set'}")
