from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime configuration, read from environment variables (no prefix for the
    conventional names, so `DATABASE_URL` and `PORT` work as they do on any PaaS)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    database_url: str = Field(
        default="sqlite:///var/dipevents.sqlite3",
        description="SQLAlchemy URL. SQLite paths are relative to the working directory.",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    data_path: str | None = Field(
        default=None,
        description="Bundle loaded by `serve` into an empty database (default: the dataset shipped with the package).",
    )
    query_timeout_ms: int = Field(
        default=5000, description="Longest a single API query may run before the request gets 503 (0: no cap)."
    )
    rate_limit_per_minute: int = Field(
        default=120, description="Exports and aggregations allowed per client per minute (0: no limit)."
    )
    rate_limit_burst: int = Field(default=30, description="Requests a client may make at once before the rate applies.")
    cursor_secret: SecretStr | None = Field(
        default=None,
        description="Key signing pagination cursors (at least 32 characters; the same for every process serving one "
        "database). Unset: a random key the migrations store in the database.",
    )
    export_concurrency: int = Field(
        default=8,
        ge=1,
        description="Exports this process streams at once; beyond: 503 with Retry-After. Each open export holds one "
        "database connection until its last byte is sent, so this bounds what slow readers can take from the pool.",
    )
    export_per_client: int = Field(
        default=2, ge=1, description="Exports one client may have open at once in this process; beyond: 429."
    )
    export_send_timeout_s: float = Field(
        default=30,
        gt=0,
        description="Seconds an export waits for a client to accept the next chunk; then the export is abandoned "
        "(the connection is closed without the closing chunk, so the client sees a truncated transfer) and its "
        "database connection returned.",
    )
    worker_threads: int = Field(
        default=8,
        ge=1,
        description="Threads this process runs database work in (endpoints, export blocks); requests beyond wait their "
        "turn. More threads than cores only adds lock and GIL contention: the CPU each request costs grows with them.",
    )
    pool_timeout_s: float = Field(
        default=2,
        gt=0,
        description="Seconds a request waits for a database connection from the pool; then 503 with Retry-After.",
    )
    idle_in_transaction_timeout_s: float = Field(
        default=60,
        ge=0,
        description="PostgreSQL `idle_in_transaction_session_timeout` of the API's sessions: the server ends a "
        "read transaction left idle this long (a stalled export that outlived its send timeout; 0: never).",
    )
    public_base_url: str | None = Field(
        default=None,
        description="Scheme, host, port and path prefix clients reach the API at (e.g. https://api.example.org/api), "
        "used for every absolute URL the API writes: `query_url`, `Link`, citations. Unset: the address of the socket "
        "that accepted the connection, plus the ASGI root path. Never taken from the request's Host header, which a "
        "client chooses.",
        pattern=r"^https?://[^/?#\s]+(/[^?#\s]*)?$",
    )
    redis_url: str | None = Field(
        default=None,
        description="redis://host:port/db shared by every API process for rate limits; unset: limits are per process.",
    )
    redis_key_prefix: str = Field(
        default="dipevents", description="Prefix of the rate-limit keys in Redis (one per deployment sharing it)."
    )
    forwarded_allow_ips: str = Field(
        default="",
        description="Comma-separated addresses or networks of proxies whose X-Forwarded-For/-Proto `dipevents serve` "
        "trusts (uvicorn's forwarded_allow_ips); empty: none, every client is its connection's address.",
    )
    max_header_bytes: int = Field(
        default=16384, description="`dipevents serve`: largest request line + headers, in bytes (beyond: 431)."
    )
    max_headers: int = Field(
        default=100, description="`dipevents serve`: most header fields in a request (beyond: 431)."
    )
    header_timeout_s: float = Field(
        default=10,
        description="`dipevents serve`: seconds a client has to send a request's head (line and headers); then 408 "
        "and the connection is closed (0: no limit).",
    )
    setup_lock_timeout_s: float = Field(
        default=600,
        description="How long `migrate`, `load` and `serve` wait for another process setting the same database up.",
    )
    max_body_bytes: int = Field(
        default=4 * 1024 * 1024,
        description="Largest request body a write accepts, in bytes (records and whole bundles; beyond: 413).",
    )
    feed_page_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=1,
        description="About how much JSON a page of the change feed or of a record's history holds, in bytes: a page "
        "stops once past it (never holding fewer than one change, which is at most two documents of max_body_bytes).",
    )
    cors_origins: list[str] = Field(
        default=["*"],
        description='Origins allowed to call the API from browsers (JSON list), e.g. ["https://app.example"].',
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        default="INFO", description="Least severe log records written (one INFO line per request)."
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="text (for terminals) or json (one object per line)."
    )

    @field_validator("cursor_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters (a random string; the same for every process)")
        return value

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _any_case(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, str):
            return value
        return value.upper() if info.field_name == "log_level" else value.lower()


@lru_cache
def get_settings() -> Settings:
    return Settings()
