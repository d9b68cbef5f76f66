"""Optional parts (Chromium, Node.js): skipped with the reason on a developer's machine,
a failure in CI, where `.ci/run` installs them and sets SDL_TEST_REQUIRE_<PART>=1."""

from __future__ import annotations

import os

import pytest


def missing(part: str, reason: str) -> None:
    """Skip (or fail, when SDL_TEST_REQUIRE_<PART>=1) the calling test."""
    variable = f"SDL_TEST_REQUIRE_{part.upper()}"
    if os.environ.get(variable) == "1":
        pytest.fail(f"{reason} ({variable}=1)", pytrace=False)
    pytest.skip(reason)
