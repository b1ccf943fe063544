"""Settings from the environment, in one place. The CLI's options override them."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, IPvAnyNetwork
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """`LINEAGE_STORE`, `LINEAGE_HOST`, `LINEAGE_PORT`, `LINEAGE_DAILY_EXPIRY`,
    `LINEAGE_NOTICE_POLL_SECONDS`, `LINEAGE_CACHED_ITEMS`, `LINEAGE_PRODUCTION`,
    `LINEAGE_MAX_QUERY_DEPTH`, `LINEAGE_MAX_QUERY_ALIASES`, `LINEAGE_MAX_QUERY_TOKENS`,
    `LINEAGE_MAX_QUERY_LENGTH`, `LINEAGE_MAX_QUERY_COST`, `LINEAGE_REQUESTS_PER_SECOND`,
    `LINEAGE_REQUEST_BURST`, `LINEAGE_MAX_BODY_BYTES`, `LINEAGE_CORS_ORIGINS`,
    `LINEAGE_PERSISTED_QUERIES`, `LINEAGE_PERSISTED_ONLY`, `LINEAGE_PERSISTED_CACHE_SIZE`,
    `LINEAGE_QUERY_TIMEOUT_SECONDS`, `LINEAGE_MUTATION_TIMEOUT_SECONDS`, `LINEAGE_REDACTION`,
    `LINEAGE_SECRET_KEY`,
    `LINEAGE_JWT_KEY`, `LINEAGE_JWT_ISSUER`, `LINEAGE_JWT_AUDIENCE`, `LINEAGE_JWT_ALGORITHMS`,
    `LINEAGE_JWT_USER_CLAIM`, `LINEAGE_REMINDER_DAYS`, `LINEAGE_REMINDER_WEBHOOK`,
    `LINEAGE_TRUSTED_PROXIES`, `LINEAGE_PROGRESS_SECONDS`, `LINEAGE_METRICS_TOKEN`,
    `LINEAGE_OTEL_ENDPOINT`, `LINEAGE_INTAKE_TOLERANCE_SECONDS`, `LINEAGE_WEBHOOKS`,
    `LINEAGE_WEBHOOK_POLL_SECONDS`, `LINEAGE_WEBHOOK_ATTEMPTS`, `LINEAGE_WEBHOOK_BACKOFF_SECONDS`,
    `LINEAGE_WEBHOOK_TIMEOUT_SECONDS`, `LINEAGE_WEBHOOK_RETENTION_DAYS`,
    `LINEAGE_OIDC_ISSUER`, `LINEAGE_OIDC_DISCOVERY_URL`,
    `LINEAGE_OIDC_REFRESH_SECONDS`, `LINEAGE_OIDC_KEYS_MAX_AGE_SECONDS`,
    `LINEAGE_OIDC_TIMEOUT_SECONDS`, `LINEAGE_OIDC_GROUPS_CLAIM`, `LINEAGE_OIDC_GROUP_MAP`."""

    model_config = SettingsConfigDict(env_prefix="LINEAGE_", extra="ignore")

    store: str = Field(
        default="sqlite:///./lineage.db",
        description="Where the graph lives: sqlite:///relative/path or sqlite:////absolute/path.",
    )
    host: str = Field(default="127.0.0.1", description="The address to listen on.")
    port: int = Field(default=8000, ge=1, le=65535, description="The port to listen on.")
    idempotency_hours: float = Field(
        default=24,
        gt=0,
        description="How long an Idempotency-Key and the answer it keeps are kept: a retry "
        "within it gets the first answer; after it the key may be used again.",
    )
    daily_expiry: bool = Field(
        default=True,
        description="Run the expiry (X-11) at start and then every day just after midnight, "
        "China time. Safe with several replicas: a run is idempotent.",
    )
    notice_poll_seconds: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="How often a live notice subscription looks for new notices, and its "
        "connection checks its credential again (closed with 4401 once it no longer holds).",
    )
    cached_items: int = Field(
        default=2_000_000,
        ge=0,
        description="The store keeps the lineage and up to this many items in memory "
        "between requests, until a write changes them; 0 keeps no items.",
    )
    production: bool = Field(
        default=False,
        description="Production: no GraphiQL page and no introspection of the schema.",
    )
    max_query_depth: int = Field(
        default=15,
        ge=2,
        le=100,
        description="The deepest nesting of selections a request may have.",
    )
    max_query_aliases: int = Field(
        default=30, ge=0, le=1000, description="The most aliases a request may use."
    )
    max_query_tokens: int = Field(
        default=2_000, ge=100, le=1_000_000, description="The most tokens a request may have."
    )
    max_query_length: int = Field(
        default=32_768,
        ge=1_024,
        le=1 << 24,
        description="The longest query text, in characters, read before parsing; longer "
        "values go in variables.",
    )
    max_query_cost: int = Field(
        default=100_000,
        ge=100,
        description="The most a request may cost (service.api.cost: about an object of the "
        "answer a unit), computed before anything runs.",
    )
    requests_per_second: float = Field(
        default=50.0,
        ge=0,
        description="Requests each user may send a second, on average, to one process; 0: "
        "no limit.",
    )
    request_burst: int = Field(
        default=500, ge=1, description="Requests a user may send at once, above the rate."
    )
    max_body_bytes: int = Field(
        default=1 << 20,
        ge=1024,
        description="The largest request body; a larger one is refused with 413 unread.",
    )
    persisted_queries: Path | None = Field(
        default=None,
        description="A manifest of registered persisted queries (hash -> document): Apollo's "
        "persisted query manifest or GraphQL Code Generator's persisted documents; "
        "`lineage persisted-queries build` makes one from .graphql files.",
    )
    persisted_only: bool = Field(
        default=False,
        description="Run registered persisted queries only: a document sent in full, or a "
        "hash not in LINEAGE_PERSISTED_QUERIES, is refused, and GraphiQL is not served.",
    )
    persisted_cache_size: int = Field(
        default=1_000,
        ge=0,
        le=100_000,
        description="How many documents of automatic persisted queries are kept in memory, "
        "the least recently used dropped first; 0 turns automatic persisted queries off.",
    )
    query_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="How long one call to the store may take; past it the request gets an "
        "error and what it began is rolled back.",
    )
    mutation_timeout_seconds: float = Field(
        default=600.0,
        gt=0,
        le=86_400,
        description="The same for a mutation, which may write a notice for each of 100,000 "
        "descendants.",
    )
    cors_origins: list[str] = Field(
        default=[],
        description='Origins whose pages may call the API, as JSON: ["https://a.example"].',
    )
    redaction: Literal["placeholder", "hide"] = Field(
        default="placeholder",
        description="What a reader sees of an item outside its knowledge scope in a lineage or "
        "an impact analysis: an opaque placeholder that keeps the graph's shape, or nothing.",
    )
    secret_key: str | None = Field(
        default=None,
        min_length=16,
        description="Key for the opaque ids of what a reader may not see; random per process "
        "when unset. Set the same value on every replica.",
    )
    jwt_key: str | None = Field(
        default=None,
        description="Verify JWTs from single sign-on with this key: a PEM public key (RSA, EC, "
        "Ed25519, Ed448), or a shared secret of 32 bytes or more.",
    )
    jwt_issuer: str | None = Field(
        default=None, description="The issuer a JWT must name; required with a key."
    )
    jwt_audience: str | None = Field(
        default=None, description="The audience a JWT must name; required with a key."
    )
    jwt_algorithms: list[str] | None = Field(
        default=None,
        description="Algorithms a JWT may be signed with, within those the key's type admits "
        "(all of them when unset).",
    )
    reminder_days: int = Field(
        default=90,
        ge=0,
        le=3660,
        description="The daily digest of reminders (X-4) names what ends within these days.",
    )
    reminder_webhook: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="Post the daily digest of reminders as JSON to this URL (ids, markings, "
        "end dates; no titles).",
    )
    jwt_user_claim: str = Field(
        default="sub", description="The JWT claim that holds the user id of `lineage users`."
    )
    oidc_issuer: str | None = Field(
        default=None,
        description="Verify JWTs with the keys of this OpenID Connect provider, found through "
        "its discovery document (in place of LINEAGE_JWT_KEY and LINEAGE_JWT_ISSUER).",
    )
    oidc_discovery_url: str | None = Field(
        default=None,
        description="Where the provider's discovery document is, when not at the issuer's "
        "/.well-known/openid-configuration.",
    )
    oidc_refresh_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="The provider's keys are fetched again at most once in this time, however "
        "many tokens name a key the service does not know.",
    )
    oidc_keys_max_age_seconds: float = Field(
        default=300.0,
        gt=0,
        le=86_400,
        description="Keys older than this are fetched again before use, so that a key the "
        "provider removed stops being accepted.",
    )
    oidc_timeout_seconds: float = Field(
        default=5.0, gt=0, le=60, description="How long a fetch from the provider may take."
    )
    oidc_groups_claim: str = Field(
        default="groups", description="The JWT claim that lists the user's groups."
    )
    oidc_group_map: str | None = Field(
        default=None,
        description="Which roles each group of the identity provider leaves a user, in which "
        "organisation: JSON, or the path of a JSON file.",
    )
    trusted_proxies: list[IPvAnyNetwork] = Field(
        default=[],
        description="Proxies whose X-Forwarded-For names the client in the audit trail, as "
        'JSON addresses or networks: ["10.0.0.5", "10.1.0.0/16"]. Anyone else is recorded by '
        "its own address, whatever it sends.",
    )
    progress_seconds: float = Field(
        default=10.0,
        gt=0,
        description="How often a long command (import, export, backup, restore, audit) "
        "writes a line of its progress to stderr when that is not a terminal.",
    )
    metrics_token: str | None = Field(
        default=None,
        min_length=16,
        description="Bearer token that reads /metrics from anywhere; unset, /metrics answers "
        "only the loopback (and no trusted proxy).",
    )
    otel_endpoint: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="Send OpenTelemetry traces over OTLP/HTTP to this collector (its base URL; "
        "OTEL_EXPORTER_OTLP_ENDPOINT too); needs the otel extra.",
    )
    intake_tolerance_seconds: float = Field(
        default=300,
        gt=0,
        le=3600,
        description="How far a signed intake request's timestamp may be from the service's "
        "clock (service.intake); older or later ones are refused.",
    )
    webhooks: bool = Field(
        default=True,
        description="Send the outbound events queued for the organisations' webhooks "
        "(lineage webhooks); safe on several replicas: each delivery is leased to one sender.",
    )
    webhook_poll_seconds: float = Field(
        default=1.0, gt=0, le=300, description="How often the sender looks for due deliveries."
    )
    webhook_attempts: int = Field(
        default=10,
        ge=1,
        le=100,
        description="Attempts of a delivery before it is left in the dead-letter list.",
    )
    webhook_backoff_seconds: float = Field(
        default=30.0,
        gt=0,
        le=86_400,
        description="The wait after a first failed attempt, doubled after each (at most six "
        "hours), half of it drawn at random.",
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, le=300, description="How long a receiver has to answer an attempt."
    )
    webhook_retention_days: float = Field(
        default=30,
        gt=0,
        description="How long a delivered event is kept (and not queued again) before the "
        "daily run removes it; dead letters are kept until replayed or their endpoint removed.",
    )
