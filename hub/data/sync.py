"""`sdl data sync`: new products from a STAC API into the archive and the index.

Search (`sync_search`), then per item: its product name (the label the readers give it,
so the same deterministic dataset id), skipped before any download when that id or a
newer reprocessed twin is indexed (`data.twins`), else its files downloaded into
`<archive>/<folder>/.partial/<name>/` (`sync_download`: resumable, checked, capped), moved into
place only when complete and verified, and indexed through `hub.data.index.add`. A
product that fails anywhere leaves nothing indexed and nothing in the archive; only a
cut download keeps its partial files (hidden) so the next run resumes them.

Two asset shapes: one product archive per item (CDSE's SAFE zip, asset "Product") ->
`<folder>/<collection>/<name>.zip`; or per-band assets (COG/JP2, as Element84 serves them)
-> `<folder>/<collection>/<name>/` with the band files and a STAC item whose hrefs point
at them, read by the STAC reader.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Table

from hub.data.outcomes import Tally
from hub.data.sync_download import ChecksumError, DownloadError, Fetcher, RateLimit
from hub.data.sync_plan import Planned, Status, SyncOutcome, plan
from hub.data.sync_search import search_items
from hub.errors import SdlError, SettingsError, format_validation_error
from hub.settings import Settings, SyncSettings


@dataclass
class SyncResult(Tally):
    found: int = 0
    outcomes: list[SyncOutcome] = field(default_factory=list)
    downloaded: int = 0  # bytes transferred in this run
    seconds: float = 0.0


def options(settings: Settings, **given: Any) -> SyncSettings:
    """The `sync:` settings with the CLI's options (those given) over them, validated."""
    chosen = {key: value for key, value in given.items() if value not in (None, ())}
    if "bbox" in chosen:
        chosen["aoi"] = None
    elif "aoi" in chosen:
        chosen["bbox"] = None
    try:
        return SyncSettings.model_validate(settings.sync.model_dump() | chosen)
    except ValidationError as exc:
        raise SettingsError(format_validation_error("sdl data sync", exc)) from exc


def sync(
    settings: Settings,
    opts: SyncSettings,
    dry_run: bool = False,
    console: Console | None = None,
    backoff_s: float = 1.0,
) -> SyncResult:
    """Search, skip what is indexed, download and add the rest; see the module docstring."""
    started = time.monotonic()
    items = search_items(opts, backoff_s)
    result = SyncResult(found=len(items))
    todo = plan(settings, opts, items, result.outcomes)
    if dry_run:
        result.outcomes += [
            SyncOutcome(p.name, p.collection, "planned", f"{len(p.files)} file(s)", p.size)
            for p in todo
        ]
    elif todo:
        _download_and_add(settings, opts, todo, result, console or Console(stderr=True), backoff_s)
    result.seconds = time.monotonic() - started
    return result


# -- downloading and adding -------------------------------------------------------------
def _download_and_add(
    settings: Settings,
    opts: SyncSettings,
    todo: list[Planned],
    result: SyncResult,
    console: Console,
    backoff_s: float,
) -> None:
    root = settings.archive / opts.folder
    sizes = [p.size for p in todo if p.size is not None]
    with _progress(console) as progress:
        task = progress.add_task(
            "downloading", total=sum(sizes) if len(sizes) == len(todo) else None
        )
        fetcher = Fetcher(
            retries=opts.retries,
            timeout_s=opts.timeout_s,
            limit=RateLimit(opts.max_mb_per_s * 1e6) if opts.max_mb_per_s else None,
            s3_endpoint=opts.s3_endpoint,
            backoff_s=backoff_s,
            on_bytes=lambda n: progress.advance(task, n),
        )
        with ThreadPoolExecutor(opts.workers) as pool:
            futures = {pool.submit(_fetch, fetcher, p, root / ".partial" / p.name): p for p in todo}
            for future in as_completed(futures):  # indexed here, one product at a time
                planned = futures[future]
                try:
                    result.downloaded += future.result()
                except SdlError as exc:
                    result.outcomes.append(
                        SyncOutcome(planned.name, planned.collection, "rejected", str(exc))
                    )
                    continue
                result.outcomes.append(_place_and_add(settings, planned, root))


def _fetch(fetcher: Fetcher, planned: Planned, partial: Path) -> int:
    partial.mkdir(parents=True, exist_ok=True)
    moved = 0
    for name, remote in planned.files.items():
        try:
            moved += fetcher.fetch(remote, partial / name)
        except ChecksumError:
            shutil.rmtree(partial, ignore_errors=True)  # never resume from a wrong file
            raise
        except DownloadError:
            raise  # partial files stay (hidden): the next run resumes them
    return moved


def _place_and_add(settings: Settings, planned: Planned, root: Path) -> SyncOutcome:
    """Move the verified files into place and index them; undo both on a rejection."""
    from hub.data.index import add

    partial = root / ".partial" / planned.name
    final = root / planned.collection / planned.name
    if planned.shape == "archive":
        final = final.with_name(f"{planned.name}.zip")
    else:
        _write_local_item(planned, partial / f"{planned.name}.json")
    _remove(final)  # a leftover of a run stopped between moving and indexing
    final.parent.mkdir(parents=True, exist_ok=True)
    if planned.shape == "archive":
        os.replace(partial / final.name, final)
        shutil.rmtree(partial, ignore_errors=True)
    else:
        os.replace(partial, final)
    target = final if planned.shape == "archive" else final / f"{planned.name}.json"
    outcome = add([target], settings, console=Console(quiet=True)).outcomes[0]
    statuses: dict[str, Status] = {"added": "added", "unchanged": "skipped"}
    status = statuses.get(outcome.status, "rejected")
    reason = outcome.reason
    if status == "rejected" or "newer twin" in reason:
        _remove(final)
    elif outcome.label != planned.name:
        reason += f"; indexed as {outcome.label}, not the item's {planned.name}"
    return SyncOutcome(planned.name, planned.collection, status, reason, planned.size)


def _write_local_item(planned: Planned, path: Path) -> None:
    """The item with only the downloaded assets, their hrefs the local files."""
    item = dict(planned.item)
    item["assets"] = {
        key: {**planned.item["assets"][key], "href": f"./{file}"}
        for key, file in planned.keys.items()
    }
    item["links"] = []
    path.write_text(json.dumps(item, indent=1))


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=console,
        disable=not console.is_terminal,
    )


def summary_table(result: SyncResult) -> Table:
    """Totals (and throughput) in the title; a row per product (only problems when many)."""
    mb = result.downloaded / 1e6
    rate = mb / result.seconds if result.seconds else 0.0
    table = Table(
        title=f"sdl data sync: {result.found} found, {result.count('added')} added, "
        f"{result.count('skipped')} skipped, {result.count('rejected')} rejected"
        + (f", {result.count('planned')} to download" if result.count("planned") else "")
        + f"; {mb:.1f} MB in {result.seconds:.1f}s ({rate:.1f} MB/s)"
    )
    for column in ("status", "collection", "product", "MB", "reason"):
        table.add_column(column, overflow="fold")
    colours = {"added": "green", "skipped": "dim", "rejected": "red", "planned": "cyan"}
    rows = sorted(result.outcomes, key=lambda o: (o.status != "rejected", o.status, o.name))
    if len(rows) > 25:
        rows = [o for o in rows if o.status != "skipped"]
    for o in rows:
        size = "?" if o.size is None else f"{o.size / 1e6:.1f}"
        table.add_row(f"[{colours[o.status]}]{o.status}[/]", o.collection, o.name, size, o.reason)
    return table
