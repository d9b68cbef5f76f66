"""Seconds each spawn hook took, for the hub log (and the spawn benchmark that reads it)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def timed(timings: dict[str, float], name: str) -> Iterator[None]:
    """Record the wall time of the block as `timings[name]`, even when it raises."""
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = time.perf_counter() - start


def format_timings(timings: dict[str, float]) -> str:
    """`quota 0.120 s, home 0.004 s` in the order the hooks ran."""
    return ", ".join(f"{name} {seconds:.3f} s" for name, seconds in timings.items())
