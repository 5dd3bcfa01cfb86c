"""Typed settings where each field names its variable itself (validation_alias), no prefix."""

import logging
from pathlib import Path
from typing import Literal

import duckdb
import warehouse_standin
from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings

LOCAL_WAREHOUSE = Path(__file__).resolve().parents[2] / "warehouse.duckdb"
log = logging.getLogger("attendance.settings")


class ConfigError(RuntimeError):
    """A setting is missing or has the wrong kind of value. The message says which one and what it expects."""


class Settings(BaseSettings):
    env: Literal["dev", "prod"] = Field("dev", validation_alias="PIPELINE_ENV")
    duckdb_path: Path = Field(LOCAL_WAREHOUSE, validation_alias="PIPELINE_DUCKDB_PATH")
    batch_size: int = Field(1000, validation_alias="PIPELINE_BATCH_SIZE")
    warehouse_host: str = Field("", validation_alias="PIPELINE_WAREHOUSE_HOST")
    warehouse_port: int = Field(5439, validation_alias="PIPELINE_WAREHOUSE_PORT")
    warehouse_database: str = Field("analytics", validation_alias="PIPELINE_WAREHOUSE_DATABASE")
    warehouse_user: str = Field("", validation_alias="PIPELINE_WAREHOUSE_USER")
    warehouse_password: SecretStr = Field(SecretStr(""), validation_alias="PIPELINE_WAREHOUSE_PASSWORD")


def load_settings() -> Settings:
    try:
        settings = Settings()
    except ValidationError as err:
        # With aliases, each problem's loc is already the variable's name.
        problems = [f"{e['loc'][0]} is wrong: {e['msg']}" for e in err.errors()]
        raise ConfigError(" / ".join(problems)) from None
    if settings.env == "prod":
        missing = [alias for alias, value in (
            ("PIPELINE_WAREHOUSE_HOST", settings.warehouse_host),
            ("PIPELINE_WAREHOUSE_USER", settings.warehouse_user),
            ("PIPELINE_WAREHOUSE_PASSWORD", settings.warehouse_password)) if not value]
        if missing:
            raise ConfigError(f"In prod, set {', '.join(missing)}.")
    log.info("Loaded settings: %s", settings)  # safe: the password is a SecretStr
    return settings


def warehouse_target(settings: Settings) -> str:
    return {
        "dev": lambda: str(settings.duckdb_path),
        "prod": lambda: "postgresql://{0.warehouse_user}@{0.warehouse_host}:{0.warehouse_port}/{0.warehouse_database}".format(settings),
    }[settings.env]()


def connect(settings: Settings):
    log.info("Connecting to %s", warehouse_target(settings))
    if settings.env == "prod":
        return warehouse_standin.connect(
            host=settings.warehouse_host,
            port=settings.warehouse_port,
            database=settings.warehouse_database,
            user=settings.warehouse_user,
            password=settings.warehouse_password.get_secret_value(),
        )
    return duckdb.connect(str(settings.duckdb_path), read_only=True)
