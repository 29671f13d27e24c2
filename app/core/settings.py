"""Settings from the environment (`CRMC_*`)."""

import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated

import platformdirs
from pydantic import Field, IPvAnyNetwork, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# A browser origin: scheme, host and optional port, nothing after it (no path, no slash).
_ORIGIN = re.compile(r"^https?://[^\s/?#]+$")


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
        default=True,
        description="serve runs a background-job worker in a child process it supervises",
    )
    worker_nice: int = Field(
        default=10,
        ge=0,
        le=19,
        description=(
            "Scheduling priority a worker process lowers itself by (Unix nice): on a machine "
            "it shares with serve, the API's requests get the CPU before jobs do"
        ),
    )
    worker_stop_seconds: float = Field(
        default=10,
        ge=0,
        le=600,
        description="How long a stopping worker lets its job run on before handing it back",
    )
    import_max_rows: int = Field(
        default=1_048_576, ge=1, description="Rows an import reads at most (Excel's own limit)"
    )
    import_max_columns: int = Field(
        default=256, ge=1, le=16_384, description="Cells a row of an import may have at most"
    )
    import_max_cell_chars: int = Field(
        default=32_767, ge=1, description="Characters of one cell at most (Excel's own limit)"
    )
    import_max_row_chars: int = Field(
        default=1_000_000, ge=1, description="Characters of one row at most"
    )
    import_xlsx_max_uncompressed_bytes: int = Field(
        default=1 << 30, ge=1 << 20, description="What an XLSX upload may expand to at most"
    )
    import_xlsx_max_ratio: int = Field(
        default=100, ge=2, description="Compression ratio of an XLSX part (over 1 MiB) at most"
    )
    import_xlsx_max_entries: int = Field(
        default=1000, ge=10, description="Parts (zip entries) of an XLSX upload at most"
    )
    import_xlsx_max_shared_strings_bytes: int = Field(
        default=64 << 20, ge=1 << 20, description="Size of an XLSX's shared-string table at most"
    )
    job_lease_seconds: int = Field(
        default=60,
        ge=2,
        le=3600,
        description="How long a worker holds a job without renewing it; a crashed worker's "
        "job is taken over after this",
    )
    run_chunk_size: int = Field(
        default=25_000,
        ge=1,
        le=1_000_000,
        description="Customers per chunk of a classification run (one job, one transaction)",
    )
    run_retention: int = Field(
        default=20,
        ge=1,
        le=10_000,
        description="Runs kept per tree (besides every run a current assignment points to)",
    )
    job_retention_days: int = Field(
        default=14,
        ge=1,
        le=3650,
        description="Days a finished job is kept (an import's or an export's job: as long "
        "as the import or export)",
    )
    webhook_allowed_networks: list[IPvAnyNetwork] = Field(
        default_factory=list,
        description="Networks outbound webhooks may reach although they are loopback, "
        'private or link-local (JSON, e.g. ["10.20.0.0/16"]); cloud metadata addresses '
        "stay refused",
    )
    webhook_timeout_seconds: float = Field(
        default=10, gt=0, le=60, description="Time an outbound webhook request may take"
    )
    schedule_check_seconds: float = Field(
        default=15,
        gt=0,
        le=3600,
        description="How often each worker looks for schedules that have come due",
    )
    report_inline_max_rows: int = Field(
        default=50_000,
        ge=0,
        description="A CSV or XLSX report whose customer lists are longer (customers × "
        "trees) is rendered by a job: 202, then a download URL",
    )
    report_export_hours: int = Field(
        default=24, ge=1, le=24 * 90, description="How long a rendered export can be downloaded"
    )
    api_key_touch_seconds: int = Field(
        default=60, ge=0, description="How often a key's last_used_at is written at most"
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Browser origins allowed to call the API (comma-separated, e.g. "
        "`https://crm.example.com,http://localhost:5173`; `*` for any); unset: no CORS "
        "headers, so browsers allow same-origin calls only",
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        # Browsers send the origin lower-case and without a trailing slash.
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list):
            return [str(o).strip().rstrip("/").lower() for o in value if str(o).strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins_are_origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if origin != "*" and not _ORIGIN.match(origin):
                raise ValueError(f"{origin!r} is not an origin (scheme://host[:port], no path)")
        return origins


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
