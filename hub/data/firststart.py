"""What `sdl up` runs on first start: index schema, then the sample archive, with progress.

Kept apart from the CLI so `sdl up` (hub/cli.py) can call it: a marker file in the data
dir records that the sample was indexed, so later starts cost nothing.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from hub.data.index import AddResult, add
from hub.data.index_schema import init_index
from hub.data.sample import generate
from hub.settings import Settings

MARKER = "sample-indexed"


def marker_path(settings: Settings) -> Path:
    return settings.data_dir / "state" / MARKER


def prepare_index(
    settings: Settings, with_sample: bool = True, console: Console | None = None
) -> AddResult | None:
    """Create the index if needed; on the first start also write and index the sample.

    Returns the add result when the sample was indexed now, None otherwise. Needs the
    database to be reachable (the embedded server is started for the call if not running).
    """
    console = console or Console(stderr=True)
    created = init_index(settings)
    if created:
        console.print(f"index: created {', '.join(created)}")
    if not with_sample or marker_path(settings).exists():
        return None
    target = settings.archive / "sample"
    console.print(f"writing the Sentinel-1, -2 and -3 sample to {target} ...")
    generate(target)
    result = add([target], settings, workers=2, console=console)
    if result.ok:
        marker_path(settings).parent.mkdir(parents=True, exist_ok=True)
        marker_path(settings).write_text(f"{result.count('added')} datasets\n")
    return result
