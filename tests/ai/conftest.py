"""The data suite's embedded PostgreSQL and indexed sample cube, for hub.ai's tests."""

from __future__ import annotations

from tests.data.conftest import (  # noqa: F401  (pytest finds fixtures by name)
    data_dir,
    dc,
    indexed,
    sample_dir,
    settings,
    url,
)
