"""Typed settings; the production target is built with SQLAlchemy's URL, which hides passwords itself."""

from pathlib import Path
from typing import Literal

import duckdb
import warehouse_standin
from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL

LOCAL_WAREHOUSE = Path(__file__).resolve().parents[2] / "warehouse.duckdb"


class ConfigError(RuntimeError):
    """A setting is missing or has the wrong kind of value."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PIPELINE_")

    env: Literal["dev", "prod"] = "dev"
    duckdb_path: Path = LOCAL_WAREHOUSE
    batch_size: int = Field(default=1000, gt=0)
    warehouse_host: str = ""
    warehouse_port: int = 5439
    warehouse_database: str = "analytics"
    warehouse_user: str = ""
    warehouse_password: SecretStr = SecretStr("")

    def url(self) -> URL:
        return URL.create("postgresql", username=self.warehouse_user,
                          password=self.warehouse_password.get_secret_value(), host=self.warehouse_host,
                          port=self.warehouse_port, database=self.warehouse_database)


def load_settings() -> Settings:
    try:
        settings = Settings()
    except ValidationError as err:
        text = "\n".join(f"- set {('pipeline_' + '_'.join(map(str, e['loc']))).upper()} again: {e['msg'].lower()}"
                         for e in err.errors())
        raise ConfigError("The pipeline cannot start:\n" + text) from None
    if settings.env == "prod":
        for variable, value in [("PIPELINE_WAREHOUSE_HOST", settings.warehouse_host),
                                ("PIPELINE_WAREHOUSE_USER", settings.warehouse_user),
                                ("PIPELINE_WAREHOUSE_PASSWORD", settings.warehouse_password.get_secret_value())]:
            if not value.strip():
                raise ConfigError(f"{variable} must be set when PIPELINE_ENV is prod")
    return settings


def warehouse_target(settings: Settings) -> str:
    if settings.env == "prod":
        return settings.url().render_as_string(hide_password=True)  # postgresql://user:***@host:port/db
    return str(settings.duckdb_path)


def connect(settings: Settings):
    if settings.env != "prod":
        return duckdb.connect(str(settings.duckdb_path))
    url = settings.url()
    return warehouse_standin.connect(host=url.host, port=url.port, database=url.database,
                                     user=url.username, password=url.password)
