"""Settings from the environment, in one place. The CLI's options override them."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """`LINEAGE_STORE`, `LINEAGE_HOST`, `LINEAGE_PORT`, `LINEAGE_DAILY_EXPIRY`,
    `LINEAGE_NOTICE_POLL_SECONDS`, `LINEAGE_CACHED_ITEMS`."""

    model_config = SettingsConfigDict(env_prefix="LINEAGE_", extra="ignore")

    store: str = Field(
        default="sqlite:///./lineage.db",
        description="Where the graph lives: sqlite:///relative/path or sqlite:////absolute/path.",
    )
    host: str = Field(default="127.0.0.1", description="The address to listen on.")
    port: int = Field(default=8000, ge=1, le=65535, description="The port to listen on.")
    daily_expiry: bool = Field(
        default=True,
        description="Run the expiry (X-11) at start and then every day just after midnight, "
        "China time. Safe with several replicas: a run is idempotent.",
    )
    notice_poll_seconds: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="How often a live notice subscription looks for new notices.",
    )
    cached_items: int = Field(
        default=2_000_000,
        ge=0,
        description="The embedded store keeps the lineage and up to this many items in memory "
        "between requests, until a write changes them; 0 keeps no items.",
    )
