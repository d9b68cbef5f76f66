"""The `kubernetes:` section of the settings document (used when mode is kubernetes)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class KubernetesSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
