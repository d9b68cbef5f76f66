"""Waiting for PostgreSQL while it starts (services beside the hub pod start together)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
log = logging.getLogger("sdl.db")


def when_database_ready(open_: Callable[[], T], what: str, timeout: float = 60) -> T:
    """`open_()`, retried every second for up to `timeout` s; its last error if it never works."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return open_()
        except Exception as exc:
            if time.monotonic() > deadline:
                raise
            log.warning("%s not ready (%s); retrying", what, exc)
            time.sleep(1)
