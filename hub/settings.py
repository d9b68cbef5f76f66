"""The one settings document that describes a Space Data Lab platform.

Built-in defaults, then the operator's YAML file merged over them, then a few secrets
from the environment. The result is validated once, here, so every later step can
trust it. Errors name the file, the field and what is allowed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from hub.errors import SettingsError, format_validation_error
from hub.gateway.settings import DaskSettings
from hub.kube.settings import KubernetesSettings
from hub.paths import shipped_dir
from hub.quotas.settings import QuotaSettings
from hub.yamlio import read_yaml_mapping

#: Environment variables that override secrets and admins from the file.
ENV_OVERRIDES = {
    "SDL_ADMIN_PASSWORD": ("auth", "admin_password"),
    "SDL_SHARED_PASSWORD": ("auth", "shared_password"),
    "SDL_ADMIN_USERS": ("auth", "admin_users"),
    "SDL_OIDC_CLIENT_SECRET": ("auth", "oidc", "client_secret"),
    "SDL_DATABASE_URL": ("database", "url"),
}


class Strict(BaseModel):
    """Unknown keys are errors: a typo in a settings file must not pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class HubSettings(Strict):
    ip: str = Field("127.0.0.1", description="Address the proxy listens on for browsers.")
    port: int = Field(8000, ge=0, le=65535, description="Port for browsers; 0 picks a free one.")
    base_url: str = Field("/", description="URL prefix of the whole platform.")
    spawn_timeout: int = Field(120, ge=10, le=3600, description="Seconds a server may take.")
    cull_idle_after: int = Field(
        3600, ge=0, description="Stop servers idle this many seconds (0: never)."
    )


class OidcSettings(Strict):
    issuer: str = Field("", description="OpenID Connect issuer URL (discovery is read from it).")
    client_id: str = Field("", description="The hub's client id at the provider.")
    client_secret: str = Field("", description="Prefer SDL_OIDC_CLIENT_SECRET in the environment.")
    callback_url: str = Field("", description="Defaults to <public URL>/hub/oauth_callback.")
    scopes: list[str] = Field(
        default_factory=lambda: ["openid", "profile", "email", "groups"],
        description="Scopes asked for at login.",
    )
    username_claim: str = Field(
        "preferred_username", description="Claim that becomes the hub user name."
    )
    groups_claim: str = Field("groups", description="Claim whose values become hub groups.")
    admin_groups: list[str] = Field(
        default_factory=list, description="Members of these groups become hub admins."
    )
    allowed_groups: list[str] = Field(
        default_factory=list, description="If set, only members of these groups may log in."
    )
    allow_all: bool = Field(
        False,
        description="Let every account of the provider log in; otherwise only members of "
        "allowed_groups and admin_groups (and admin_users) may.",
    )


#: SharedPasswordAuthenticator refuses shorter ones (the hub would stop at start-up)
MIN_ADMIN_PASSWORD = 32
MIN_USER_PASSWORD = 8


class AuthSettings(Strict):
    type: Literal["first-use", "shared-password", "oidc"] = Field(
        "first-use",
        description="first-use: each user's own password, set at their first login (the "
        "default with `sdl up`); shared-password: one workshop password for every user name, "
        "an explicit workshop mode (the default on Kubernetes, where the chart sets the "
        "password); oidc: the lab's OpenID Connect provider, for production.",
    )
    admin_users: list[str] = Field(
        default_factory=list, description="Hub admins (SDL_ADMIN_USERS, comma-separated)."
    )
    shared_password: str = Field(
        "",
        description="shared-password mode: the password for everyone who is not an admin "
        f"(>= {MIN_USER_PASSWORD} characters).",
    )
    admin_password: str = Field(
        "",
        description="Password for admin_users in first-use and shared-password modes "
        f"(>= {MIN_ADMIN_PASSWORD} characters); default: made once in <data_dir>/secrets/.",
    )
    oidc: OidcSettings = Field(default_factory=OidcSettings)

    @field_validator("admin_users", mode="before")
    @classmethod
    def _split_admins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value

    @field_validator("shared_password")
    @classmethod
    def _shared_password_long_enough(cls, value: str) -> str:
        return _long_enough(value, MIN_USER_PASSWORD, "SDL_SHARED_PASSWORD")

    @field_validator("admin_password")
    @classmethod
    def _admin_password_long_enough(cls, value: str) -> str:
        return _long_enough(value, MIN_ADMIN_PASSWORD, "SDL_ADMIN_PASSWORD")

    @model_validator(mode="after")
    def _passwords_differ(self) -> AuthSettings:
        # the hub cannot tell an admin's login from a user's if both are the same
        if self.shared_password and self.shared_password == self.admin_password:
            raise ValueError("shared_password and admin_password must differ")
        return self


def _long_enough(value: str, minimum: int, variable: str) -> str:
    """Checked here so that a short password stops `sdl config check`, not the hub."""
    if value and len(value) < minimum:
        raise ValueError(
            f"must be at least {minimum} characters, not {len(value)} "
            f"(set a longer one in the settings file or {variable}, or leave it empty "
            "to have one made in <data_dir>/secrets/)"
        )
    return value


class DatabaseSettings(Strict):
    url: str = Field(
        "",
        description="Admin URL of an external PostgreSQL for the ODC index; "
        "empty runs the embedded one (pgserver) in the data dir.",
    )
    name: str = Field("datacube", description="Database holding the Open Data Cube index.")
    user_connection_limit: int = Field(
        8, ge=1, le=1000, description="Connections each user's read-only login may hold."
    )


class DataSettings(Strict):
    twins: Literal["newest", "all"] = Field(
        "newest",
        description="Reprocessed twins (one acquisition at several baselines or processing "
        "times): newest keeps only the newest active in the index; all keeps every copy "
        "(eo.load still uses one per acquisition).",
    )


#: The Copernicus Data Space Ecosystem's STAC API and its Sentinel-2 collections.
CDSE_STAC_URL = "https://stac.dataspace.copernicus.eu/v1"
CDSE_S2_COLLECTIONS = ["sentinel-2-l1c", "sentinel-2-l2a"]


class SyncSettings(Strict):
    """`sdl data sync`: what a (scheduled) sync searches for and how it downloads."""

    stac_url: str = Field(CDSE_STAC_URL, description="STAC API searched for new products.")
    collections: list[str] = Field(
        default_factory=lambda: list(CDSE_S2_COLLECTIONS),
        description="Collections searched (CDSE: sentinel-2-l1c, sentinel-2-l2a).",
    )
    aoi: Path | None = Field(
        None,
        description="GeoJSON whose geometry the products must intersect; default: the "
        "shipped outline of Sweden (hub/data/aoi/sweden.geojson, Natural Earth).",
    )
    bbox: tuple[float, float, float, float] | None = Field(
        None, description="W, S, E, N in degrees; replaces the AOI when set."
    )
    since: str | None = Field(None, description="Sensed on or after this date (YYYY-MM-DD).")
    until: str | None = Field(None, description="Sensed on or before this date (YYYY-MM-DD).")
    lookback_days: int = Field(
        10, ge=1, le=3660, description="Without since: search this many days back from today."
    )
    max_cloud: float | None = Field(
        None, ge=0, le=100, description="Skip products with more cloud cover (percent)."
    )
    workers: int = Field(2, ge=1, le=32, description="Products downloaded at the same time.")
    max_mb_per_s: float = Field(
        0, ge=0, description="Bandwidth cap over all downloads in MB/s (0: none)."
    )
    retries: int = Field(
        5, ge=0, le=20, description="Retries (with backoff) of a failed request or download."
    )
    timeout_s: float = Field(60, gt=0, description="Seconds a connection may stay silent.")
    folder: str = Field(
        "sync", description="Folder under the archive that synced products land in."
    )
    s3_endpoint: str = Field(
        "https://eodata.dataspace.copernicus.eu",
        description="Endpoint for s3:// assets (CDSE's S3); credentials from the "
        "environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).",
    )

    @field_validator("since", "until")
    @classmethod
    def _a_date(cls, value: str | None) -> str | None:
        import datetime as dt

        if value is not None:
            dt.date.fromisoformat(str(value))  # a ValueError names the bad date
        return None if value is None else str(value)

    @field_validator("folder")
    @classmethod
    def _plain_folder(cls, value: str) -> str:
        if not value or "/" in value or value.startswith("."):
            raise ValueError("must be a plain folder name (no '/', not hidden)")
        return value


class TemplateSettings(Strict):
    source: Path = Field(
        default_factory=lambda: shipped_dir("templates"), description="Notebook templates."
    )
    target: str = Field("examples", description="Folder in each home that receives them.")


class Settings(Strict):
    mode: Literal["local", "kubernetes"] = Field(
        "local", description="local: `sdl up` on this machine; kubernetes: KubeSpawner via z2jh."
    )
    data_dir: Path = Field(
        default_factory=lambda: default_data_dir(),
        description="Where homes, the archive, the index and hub state live (local mode).",
    )
    archive_dir: Path | None = Field(
        None, description="The satellite archive; default <data_dir>/archive."
    )
    profiles_dir: Path = Field(
        default_factory=lambda: shipped_dir("spawner_profiles"),
        description="Folder of profile files (*.yaml); the shipped spawner_profiles/.",
    )
    groups: dict[str, list[str]] = Field(
        default_factory=dict, description="Groups and their members, created at start-up."
    )
    hub: HubSettings = Field(default_factory=HubSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    templates: TemplateSettings = Field(default_factory=TemplateSettings)
    data: DataSettings = Field(default_factory=DataSettings)
    sync: SyncSettings = Field(default_factory=SyncSettings)
    dask: DaskSettings = Field(default_factory=DaskSettings)
    quotas: QuotaSettings = Field(default_factory=QuotaSettings)
    kubernetes: KubernetesSettings = Field(default_factory=KubernetesSettings)

    @model_validator(mode="before")
    @classmethod
    def _auth_type_for_the_mode(cls, data: Any) -> Any:
        # the chart passes the shared password from a Secret and sets no auth.type
        if isinstance(data, dict) and data.get("mode") == "kubernetes":
            auth = data.get("auth") or {}
            if isinstance(auth, dict) and "type" not in auth:
                return {**data, "auth": {**auth, "type": "shared-password"}}
        return data

    @property
    def archive(self) -> Path:
        return self.archive_dir or self.data_dir / "archive"


def default_data_dir() -> Path:
    """A system path as root (homes must be reachable by other users), else per-user."""
    if os.geteuid() == 0:
        return Path("/var/lib/sdl")
    return Path.home() / ".local" / "share" / "sdl"


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Return base with over merged in; nested mappings merge, everything else replaces."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    """The part of the settings document that comes from SDL_* variables."""
    document: dict[str, Any] = {}
    for variable, path in ENV_OVERRIDES.items():
        if environ.get(variable):
            node = document
            for key in path[:-1]:
                node = node.setdefault(key, {})
            node[path[-1]] = environ[variable]
    return document


def load_settings(
    config_file: Path | None = None,
    *,
    overrides: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Defaults, then `config_file`, then `overrides` (CLI flags), then the environment."""
    document: dict[str, Any] = {}
    source = "built-in defaults"
    if config_file is not None:
        document = read_yaml_mapping(config_file)
        source = str(config_file)
    document = deep_merge(document, overrides or {})
    document = deep_merge(document, env_overrides(dict(os.environ if environ is None else environ)))
    try:
        return Settings.model_validate(document)
    except ValidationError as exc:
        raise SettingsError(format_validation_error(source, exc)) from exc


def settings_from_dict(document: dict[str, Any], source: str = "settings") -> Settings:
    """Validate an in-memory settings document (tests, the hub config)."""
    try:
        return Settings.model_validate(document)
    except ValidationError as exc:
        raise SettingsError(format_validation_error(source, exc)) from exc
