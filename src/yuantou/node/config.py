"""A node's TOML configuration, checked up front with errors that name the key."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from yuantou.domain.pool_schedule import PoolSchedule
from yuantou.protocol.auth import slack

Role = Literal["buyer", "producer"]


class ConfigError(ValueError):
    pass


TOKEN_HINT = (" (the dashboard and business API need a secret of 16 characters or more; make one with "
              "python -c 'import secrets; print(secrets.token_urlsafe(24))')")


class NodeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subscriber_id: str = Field(min_length=1)
    key_id: str = Field(default="k1", min_length=1)
    url: str = Field(description="public base URL of the Beckn endpoints, e.g. http://127.0.0.1:8001/beckn")
    roles: list[Role] = Field(min_length=1)
    key_file: Path
    directory_url: str
    gateway_url: str | None = None
    database_url: str = "sqlite:///yuantou-node.db"
    catalog_file: Path | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8001, ge=0, le=65535)
    domain: str = "yuantou:agri"
    city: str = "std:080"
    country: str = "IND"
    provider_id: str | None = None
    provider_name: str | None = None
    provider_place: str | None = Field(None, max_length=100, description="where the producer is, in words (e.g. "
                                       "山东烟台 Yantai, Shandong): households see it as the source of what they buy")
    clock_skew_seconds: int = Field(default=5, ge=0, le=300)
    signature_backdating_seconds: int = Field(default=120, ge=0, le=3600, description=(
        "how long before a key's valid_from a peer's signature may say it was created (other Beckn stacks sign "
        "with created a minute in the past); expires is never stretched"))
    max_body_bytes: int = Field(default=1 << 20, ge=4096, description="largest Beckn body taken, in bytes")
    max_api_body_bytes: int = Field(default=32 << 20, ge=4096, description="largest business-API body, in bytes")
    request_ttl: str = "PT30S"
    api_token: str = Field(min_length=16, description="the secret the dashboard's login and the business API "
                                                        "(Authorization: Bearer) ask for; Beckn endpoints need none")
    outbox_max_attempts: int = Field(default=30, ge=1)
    pool_cutoff: str = Field("20:00", description="daily time at which automatically opened pools close")
    pool_pickup: str = Field("09:00-18:00", description="the next day's pickup window of those pools")
    time_zone: str | None = Field(None, description="the node's local time: an IANA zone such as Asia/Shanghai, or a UTC "
                                                     "offset such as +08:00 (default: pool_utc_offset)")
    pool_utc_offset: str = Field("+08:00", description="the fixed UTC offset of the node's local time (time_zone "
                                                       "supersedes it)")
    pool_step: str = Field("1", description="smallest quantity a household can ask for in those pools")
    ledger: bool = Field(default=True, description="keep the counter-signed ledger; off only to measure its cost")
    checkpoint_every_seconds: int = Field(default=300, ge=0, description="how often to agree a pair checkpoint "
                                                                         "with each counterparty (0: never)")
    checkpoint_settle_seconds: int = Field(default=60, ge=0, description="pair checkpoints cover messages at least "
                                                                          "this old, so none is still in flight")
    offers_refresh_seconds: int = Field(default=600, ge=0, description="buyer: ask every producer the directory "
                                        "lists for its catalog again this often, and once at start (0: only on demand)")
    storefront_registrations_per_minute: int = Field(
        default=30, ge=1, le=100_000, description="households a client address may register per minute at /shop")
    workers: int = Field(default=1, ge=1, le=64, description="uvicorn worker processes sharing the port and store")
    subscribe_at_start: bool = Field(default=False, description="once up, subscribe the node's key in the directory "
                                     "if the directory does not list it (yuantou init sets it)")

    @field_validator("url", "directory_url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _schedule(self) -> NodeConfig:
        if self.time_zone is not None and "pool_utc_offset" in self.model_fields_set:
            raise ValueError("time_zone and pool_utc_offset: give one of them (time_zone takes an IANA zone or an offset)")
        try:
            _ = self.pool_schedule  # parsed here so that a bad schedule names its keys
        except (ValueError, ArithmeticError) as exc:
            raise ValueError(f"pool_cutoff/pool_pickup/time_zone/pool_utc_offset/pool_step: {exc}") from None
        return self

    @property
    def pool_schedule(self) -> PoolSchedule:
        return PoolSchedule.parse(self.pool_cutoff, self.pool_pickup, self.time_zone or self.pool_utc_offset,
                                  self.pool_step)

    @property
    def signature_slack(self) -> tuple[int, int]:
        """How far before and after its key's period a sender's signature may say it was made (``auth.slack``)."""
        return slack(self.clock_skew_seconds, self.signature_backdating_seconds)

    @property
    def is_buyer(self) -> bool:
        return "buyer" in self.roles

    @property
    def is_producer(self) -> bool:
        return "producer" in self.roles

    @property
    def beckn_types(self) -> list[str]:
        return (["BAP"] if self.is_buyer else []) + (["BPP"] if self.is_producer else [])


def load_config(path: Path) -> NodeConfig:
    """Read and check a node's TOML; relative paths are resolved against the file's folder."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    try:
        config = NodeConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(top)'}: {e['msg']}"
                             + (TOKEN_HINT if e["loc"] == ("api_token",) else "") for e in exc.errors())
        raise ConfigError(f"{path}: {problems}") from None
    base = path.parent
    updates: dict = {}
    if not config.key_file.is_absolute():
        updates["key_file"] = base / config.key_file
    if config.catalog_file is not None and not config.catalog_file.is_absolute():
        updates["catalog_file"] = base / config.catalog_file
    if config.database_url.startswith("sqlite:///") and not config.database_url.startswith("sqlite:////"):
        updates["database_url"] = "sqlite:///" + str(base / config.database_url[len("sqlite:///"):])
    if config.is_buyer and config.workers > 1:
        raise ConfigError(f"{path}: workers: a buyer node keeps its pools in one process; use workers = 1")
    if config.is_producer and (updates.get("catalog_file") or config.catalog_file) is None:
        raise ConfigError(f"{path}: catalog_file: required for a node with the producer role")
    return config.model_copy(update=updates)
