"""Settings for the nightly event-attendance pipeline, in one typed object.

One variable, PIPELINE_ENV, says where the pipeline runs:

- dev (the default): on your laptop, against the local DuckDB warehouse;
- prod: against the production warehouse, whose password comes from the
  environment and is never written in code or shown in output.

Try it from this folder:

    uv run python settings.py
"""

import sys
from pathlib import Path
from typing import Literal

import duckdb
from pydantic import SecretStr, ValidationError  # noqa: F401 - you will use both
from pydantic_settings import BaseSettings, SettingsConfigDict

import warehouse_standin  # noqa: F401 - a stand-in for the production database driver (step 5)

# The laptop's warehouse: warehouse.duckdb, two folders above this file.
LOCAL_WAREHOUSE = Path(__file__).resolve().parents[2] / "warehouse.duckdb"


class ConfigError(RuntimeError):
    """A setting is missing or has the wrong kind of value. The message says which one and what it expects."""


class Settings(BaseSettings):
    """Every setting of the pipeline. Each field is read from the variable PIPELINE_<FIELD NAME>."""

    model_config = SettingsConfigDict(env_prefix="PIPELINE_")

    env: Literal["dev", "prod"] = "dev"   # read from PIPELINE_ENV
    duckdb_path: Path = LOCAL_WAREHOUSE   # read from PIPELINE_DUCKDB_PATH
    # TODO step 1: add batch_size, warehouse_host, warehouse_port, warehouse_database,
    # warehouse_user and warehouse_password (see the table in README.md).


def load_settings() -> Settings:
    """Read the settings from the environment, or stop with a ConfigError that says what to fix."""
    # TODO step 2: build Settings() here; turn pydantic's ValidationError into a ConfigError
    # that names each variable and what it expects.
    # TODO step 3: in prod, raise ConfigError naming every missing or empty production setting.
    raise NotImplementedError("load_settings is not written yet: see steps 2 and 3 in README.md")


def warehouse_target(settings: Settings) -> str:
    """Where the pipeline connects, safe to print: the DuckDB file in dev, a URL without the password in prod."""
    # TODO step 4
    raise NotImplementedError("warehouse_target is not written yet: see step 4 in README.md")


def connect(settings: Settings):
    """Open a connection to the warehouse that PIPELINE_ENV selects."""
    # TODO step 5: in dev, duckdb.connect(...) the local file; in prod, warehouse_standin.connect(...).
    raise NotImplementedError("connect is not written yet: see step 5 in README.md")


if __name__ == "__main__":
    try:
        settings = load_settings()
    except ConfigError as err:
        sys.exit(f"Settings problem: {err}")
    print(settings)  # safe once the password is a SecretStr: it shows as '**********'
    print(f"Connecting to {warehouse_target(settings)}")
    with connect(settings) as con:
        events = con.execute("SELECT count(*) FROM mobilize.events").fetchone()[0]
    print(f"The warehouse has {events} events.")
