"""The `quotas:` section of the settings document."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class QuotaSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
