"""Waiting for PostgreSQL while it starts (services beside the hub pod start together)
or restarts (`sdl up` starts a dead one again within seconds)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import sqlalchemy as sa

from hub.db.embedded import DatabaseError

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


#: How long a request waits for a PostgreSQL that does not answer: `sdl up` restarts a
#: dead one after 1 s, then 2, 4 ... if it dies again; a request failing at once would
#: refuse a spawn (or a login) that a few seconds more would have let through.
RESTART_WAIT = 20.0

#: What a database that is down or restarting raises: no connection (OperationalError),
#: one the restart closed (InterfaceError), no embedded server running (DatabaseError).
UNREACHABLE = (sa.exc.OperationalError, sa.exc.InterfaceError, DatabaseError)


async def while_unreachable(
    attempt: Callable[[], Awaitable[T]],
    what: str,
    log: logging.Logger | logging.LoggerAdapter[logging.Logger] = log,
    timeout: float = RESTART_WAIT,
) -> T:
    """`await attempt()`, tried again every 0.5 s for up to `timeout` s while the database
    cannot be reached; its last error after that (other errors at once)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await attempt()
        except UNREACHABLE as exc:
            if time.monotonic() >= deadline:
                raise
            log.warning("%s: database not reachable (%s); trying again", what, first_line(exc))
            await asyncio.sleep(0.5)


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
