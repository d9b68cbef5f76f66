"""A thread pool of the hub's own for the blocking parts of spawns (database, `du`).

asyncio's default pool has `cpu_count + 4` threads: 6 on a 2-core machine. When 20
people start at once, their quota checks and database logins queued there behind each
other (and behind anything else the hub sends to threads), adding seconds to every
spawn. These calls mostly wait on PostgreSQL, so more threads than cores is right.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

#: Spawns the hub serves at once without queueing their blocking steps.
SPAWN_THREADS = 32


@functools.cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=SPAWN_THREADS, thread_name_prefix="sdl-spawn")


async def in_spawn_thread(call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a blocking call of a spawn in the spawn pool (like `asyncio.to_thread`)."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_pool(), functools.partial(call, *args, **kwargs))


@functools.cache
def _accounts_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="sdl-useradd")


async def in_account_thread(call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run an OS account's creation on a thread of its own: `useradd` takes the lock of
    /etc/passwd, so only one runs at a time (hub.accounts), and waiting for it must not
    hold the spawn pool's threads that other users' quota checks and logins need."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_accounts_pool(), functools.partial(call, *args, **kwargs))
