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
ENV_FILE = Path(__file__).parent / ".env"


def _read(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value is not None else default


def load_settings() -> dict:
    """Load .env beside this file, then read the settings (the environment wins)."""
    load_dotenv(dotenv_path=ENV_FILE)
    return {
        "warehouse_path": _read("WAREHOUSE_PATH"),
        "redshift_username": _read("REDSHIFT_USERNAME"),
        "redshift_password": _read("REDSHIFT_PASSWORD"),
        "log_level": _read("PIPELINE_LOG_LEVEL", "INFO"),
    }


if __name__ == "__main__":
    settings = load_settings()
    password = settings["redshift_password"] or ""
    print("warehouse:", settings["warehouse_path"])
    print("user:", settings["redshift_username"])
    print("password:", "*" * len(password))
