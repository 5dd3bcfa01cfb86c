"""Settings for the nightly event-attendance pipeline."""

import os

import dotenv


def load_settings() -> dict:
    """The .env beside this file fills in what the environment does not already set."""
    folder = os.path.dirname(os.path.abspath(__file__))
    dotenv.load_dotenv(os.path.join(folder, ".env"))
    settings = {}
    for key in ("warehouse_path", "redshift_username", "redshift_password"):
        settings[key] = os.environ.get(key.upper())
    return settings


if __name__ == "__main__":
    settings = load_settings()
    print("Warehouse:", settings["warehouse_path"])
    print("Password is", "set" if settings["redshift_password"] else "missing")
