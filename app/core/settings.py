"""Settings from the environment (`CRMC_*`)."""

from functools import lru_cache
from pathlib import Path

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    """A per-user directory for the embedded database and other local state."""
    return Path(platformdirs.user_data_dir("crm-classifier", appauthor=False))


class Settings(BaseSettings):
    """Every knob an operator can turn. Each field is `CRMC_<NAME>` in the environment."""

    model_config = SettingsConfigDict(env_prefix="CRMC_", env_file=None, extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="postgresql+asyncpg://… ; unset: start an embedded PostgreSQL in data_dir",
    )
    data_dir: Path = Field(default_factory=default_data_dir)
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=10, ge=0, le=200)
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    max_import_bytes: int = Field(
        default=200 * 1024 * 1024, ge=1024, description="Body limit of POST /api/v1/imports"
    )
    log_level: str = "INFO"
    log_json: bool = True
    default_locale: str = "zh-CN"
    default_time_zone: str = "Asia/Shanghai"
    migrate_on_start: bool | None = Field(
        default=None,
        description="Upgrade the database at start-up; unset: yes on the embedded "
        "database, no on CRMC_DATABASE_URL (serve refuses an outdated database)",
    )
    worker_in_process: bool = Field(
        default=True, description="serve runs a background-job worker in its own process"
    )
    api_key_touch_seconds: int = Field(
        default=60, ge=0, description="How often a key's last_used_at is written at most"
    )


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
