"""The one strict base model every settings section is built on."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Unknown keys are errors: a typo in a settings file must not pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)
