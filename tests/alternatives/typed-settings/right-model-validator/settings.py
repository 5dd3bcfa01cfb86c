"""Typed settings for the attendance pipeline: the production rule lives in the class itself."""

import sys
from pathlib import Path
from typing import Literal

import duckdb
from pydantic import SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from warehouse_standin import connect as open_production

LOCAL_WAREHOUSE = Path(__file__).resolve().parents[2] / "warehouse.duckdb"

EXPECTS = {
    "int_parsing": "must be a whole number, such as 500",
    "literal_error": "must be dev or prod",
}


class ConfigError(RuntimeError):
    """A setting is missing or has the wrong kind of value. The message says which one and what it expects."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PIPELINE_")

    env: Literal["dev", "prod"] = "dev"
    duckdb_path: Path = LOCAL_WAREHOUSE
    batch_size: int = 1000
    warehouse_host: str = ""
    warehouse_port: int = 5439
    warehouse_database: str = "analytics"
    warehouse_user: str = ""
    warehouse_password: SecretStr | None = None

    @model_validator(mode="after")
    def production_has_credentials(self):
        if self.env != "prod":
            return self
        empty = []
        if not self.warehouse_host:
            empty.append("PIPELINE_WAREHOUSE_HOST")
        if not self.warehouse_user:
            empty.append("PIPELINE_WAREHOUSE_USER")
        if self.warehouse_password is None or len(self.warehouse_password) == 0:
            empty.append("PIPELINE_WAREHOUSE_PASSWORD")
        if empty:
            raise ValueError("production needs " + " and ".join(empty) + ", which are empty")
        return self


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as err:
        messages = []
        for error in err.errors(include_input=False):
            if error["loc"]:
                name = "PIPELINE_" + str(error["loc"][0]).upper()
                messages.append(f"{name} {EXPECTS.get(error['type'], error['msg'])}")
            else:
                messages.append(error["msg"].removeprefix("Value error, "))
        raise ConfigError("; ".join(messages)) from None


def warehouse_target(settings: Settings) -> str:
    if settings.env == "dev":
        return str(settings.duckdb_path)
    s = settings
    return f"postgresql://{s.warehouse_user}@{s.warehouse_host}:{s.warehouse_port}/{s.warehouse_database}"


def connect(settings: Settings):
    if settings.env == "dev":
        return duckdb.connect(str(settings.duckdb_path), read_only=True)
    return open_production(
        host=settings.warehouse_host, port=settings.warehouse_port, database=settings.warehouse_database,
        user=settings.warehouse_user, password=settings.warehouse_password.get_secret_value(),
    )


if __name__ == "__main__":
    try:
        print(warehouse_target(load_settings()))
    except ConfigError as err:
        sys.exit(str(err))
