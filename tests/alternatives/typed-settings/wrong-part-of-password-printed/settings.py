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
from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

import warehouse_standin

# The laptop's warehouse: warehouse.duckdb, two folders above this file.
LOCAL_WAREHOUSE = Path(__file__).resolve().parents[2] / "warehouse.duckdb"

PREFIX = "PIPELINE_"


class ConfigError(RuntimeError):
    """A setting is missing or has the wrong kind of value. The message says which one and what it expects."""


class Settings(BaseSettings):
    """Every setting of the pipeline. Each field is read from the variable PIPELINE_<FIELD NAME>."""

    model_config = SettingsConfigDict(env_prefix=PREFIX)

    env: Literal["dev", "prod"] = "dev"
    duckdb_path: Path = LOCAL_WAREHOUSE
    batch_size: int = 1000
    warehouse_host: str = ""
    warehouse_port: int = 5439
    warehouse_database: str = "analytics"
    warehouse_user: str = ""
    warehouse_password: SecretStr = SecretStr("")


def _explain(err: ValidationError) -> str:
    """One line per problem: the variable to change, and what pydantic expected. Never the value itself."""
    lines = []
    for problem in err.errors():
        field = str(problem["loc"][0]) if problem["loc"] else ""
        lines.append(f"  {(PREFIX + field).upper()}: {problem['msg']}")
    return "Some settings have the wrong kind of value:\n" + "\n".join(lines)


def load_settings() -> Settings:
    """Read the settings from the environment, or stop with a ConfigError that says what to fix."""
    try:
        settings = Settings()
    except ValidationError as err:
        # `from None`: the ValidationError is not chained on, so its text is never printed with ours.
        raise ConfigError(_explain(err)) from None
    if settings.env == "prod":
        required = {
            "PIPELINE_WAREHOUSE_HOST": settings.warehouse_host,
            "PIPELINE_WAREHOUSE_USER": settings.warehouse_user,
            "PIPELINE_WAREHOUSE_PASSWORD": settings.warehouse_password,  # a SecretStr is empty when len() == 0
        }
        missing = [name for name, value in required.items() if not value]
        if missing:
            raise ConfigError(
                "PIPELINE_ENV is prod, but these settings are missing or empty: " + ", ".join(missing)
                + ". Set them before you run the pipeline."
            )
    return settings


def warehouse_target(settings: Settings) -> str:
    """Where the pipeline connects, safe to print: the DuckDB file in dev, a URL without the password in prod."""
    if settings.env == "prod":
        return (f"postgresql://{settings.warehouse_user}@{settings.warehouse_host}:"
                f"{settings.warehouse_port}/{settings.warehouse_database}")
    return str(settings.duckdb_path)


def connect(settings: Settings):
    """Open a connection to the warehouse that PIPELINE_ENV selects."""
    if settings.env == "prod":
        print("connecting with a password starting", settings.warehouse_password.get_secret_value()[:5])
        return warehouse_standin.connect(
            host=settings.warehouse_host,
            port=settings.warehouse_port,
            database=settings.warehouse_database,
            user=settings.warehouse_user,
            password=settings.warehouse_password.get_secret_value(),  # the one place the password is revealed
        )
    return duckdb.connect(str(settings.duckdb_path), read_only=True)


if __name__ == "__main__":
    try:
        settings = load_settings()
    except ConfigError as err:
        sys.exit(f"Settings problem: {err}")
    print(settings)  # safe: the password shows as '**********'
    print(f"Connecting to {warehouse_target(settings)}")
    with connect(settings) as con:
        events = con.execute("SELECT count(*) FROM mobilize.events").fetchone()[0]
    print(f"The warehouse has {events} events.")
