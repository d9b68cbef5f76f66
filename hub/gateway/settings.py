"""The `dask:` section of the settings document."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class DaskSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
