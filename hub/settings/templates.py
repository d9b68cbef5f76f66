"""The `templates:` section: the example notebooks every workspace receives."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from hub.paths import shipped_dir
from hub.settings.base import Strict


class TemplateSettings(Strict):
    source: Path = Field(
        default_factory=lambda: shipped_dir("templates"), description="Notebook templates."
    )
    target: str = Field("examples", description="Folder in each home that receives them.")
