"""Settings for the nightly event-attendance pipeline, from .env and the environment."""

import os
from pathlib import Path

from dotenv import dotenv_values

NAMES = {
    "warehouse_path": "WAREHOUSE_PATH",
    "redshift_username": "REDSHIFT_USERNAME",
    "redshift_password": "REDSHIFT_PASSWORD",
}


def load_settings() -> dict:
    env_file = Path(__file__).resolve().with_name(".env")
    from_file = dotenv_values(env_file) if env_file.exists() else {}
    merged = {**from_file, **os.environ}  # the environment comes last, so it wins
    return {key: merged.get(name) for key, name in NAMES.items()}


if __name__ == "__main__":
    s = load_settings()
    for key, value in s.items():
        shown = ("set" if value else "not set") if key == "redshift_password" else value
        print(key, "=", shown)
