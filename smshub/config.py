"""Settings: one object, read from `SMSHUB_*` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DB = "sqlite:///./var/smshub.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SMSHUB_", extra="ignore")

    database_url: str = DEFAULT_DB
    # System level of the three-level SMS switch (N2).
    sms_enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 8025
    secret_key: str = "dev-insecure-change-me"
    cookie_secure: bool = False
    session_ttl_s: int = 7 * 24 * 3600
    worker_concurrency: int = Field(default=8, ge=1, le=256)
    worker_poll_s: float = Field(default=0.5, gt=0)
    # After a wake, wait this long before claiming so concurrent sends share one batch.
    worker_linger_s: float = Field(default=0.02, ge=0, le=1)
    job_lease_s: float = Field(default=30.0, gt=0)
    # Done jobs are deleted this many hours after they finish (0 keeps them forever).
    # Dead jobs are always kept, for an operator to look at.
    jobs_keep_done_h: float = Field(default=168.0, ge=0)
    shutdown_grace_s: float = Field(default=10.0, ge=0)
    # When set, GET /metrics wants `Authorization: Bearer <token>`; empty leaves it open.
    metrics_token: str = ""
    # Per-request access lines cost ~10% of a send's CPU; errors are logged regardless.
    access_log: bool = False
    # Enables the `test.*` job kinds that the job-runner tests drive. Never on in production.
    enable_test_jobs: bool = False
    var_dir: Path = Path("./var")
    # Mail (F1, F5): the outbound relay and the inbound listener, both "host:port".
    # An empty listen address (or port 0) turns the listener off.
    smtp_relay: str = "127.0.0.1:25"
    smtp_listen: str = "127.0.0.1:2525"
    mail_domain: str = "sms.localhost"
    mail_from: str = "smshub@sms.localhost"
    mail_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    # Forwarding: the timeout of URL callbacks and webhook POSTs.
    forward_http_timeout_s: float = Field(default=10.0, gt=0)
    # Refuse callbacks and webhooks to loopback and private addresses (hosting providers).
    forward_block_private: bool = False


@lru_cache
def get_settings() -> Settings:
    return Settings()
