"""The settings document: every section under one root model.

Built-in defaults, then the operator's YAML file merged over them, then a few secrets
from the environment (`hub.settings.loader`). The result is validated once, here, so
every later step can trust it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from hub.paths import default_data_dir, shipped_dir
from hub.settings.auth import AuthSettings
from hub.settings.base import Strict
from hub.settings.dask import DaskSettings
from hub.settings.data import DataSettings, SyncSettings
from hub.settings.database import DatabaseSettings
from hub.settings.hub import HubSettings
from hub.settings.kubernetes import KubernetesSettings
from hub.settings.quotas import QuotaSettings
from hub.settings.templates import TemplateSettings


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
