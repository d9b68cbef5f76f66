"""Adding datasets to the Open Data Cube index (`add`); the schema and our products:
`index_schema`, reading the inputs: `index_inputs`.

`add` is idempotent (a product already indexed from the same place is "unchanged") and
atomic per product: metadata is parsed and every band decoded (and converted copies
written) before one transaction inserts the dataset; any failure rejects that product
with its reason, removes what it wrote, and the others continue.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hub.data.db import open_index
from hub.data.eo3 import Prepared, ProductError, check_prepared
from hub.data.index_inputs import expand, prepare
from hub.data.index_schema import init_index
from hub.data.outcomes import AddResult, Outcome, summary_table
from hub.data.product_defs import definitions
from hub.data.twins import TwinPolicy, freshness, indexed_twins
from hub.errors import SdlError
from hub.settings import Settings

if TYPE_CHECKING:  # datacube is slow to import: at run time only where it is used
    from datacube.index import Index
    from datacube.index.hl import Doc2Dataset


# as before the split (the benchmarks import init_index from here)
__all__ = ["AddResult", "Outcome", "add", "init_index", "summary_table"]

KEEP_NEWEST = "data.twins: newest keeps only the newest copy of an acquisition active"


def _check_and_convert(item: Prepared, convert: str | None, crs: str | None) -> Prepared:
    from hub.data.convert import convert as convert_product

    if item.build is not None:  # Sentinel-1 GRD, Sentinel-3: made analysis-ready first
        return _checked(item.build(item))
    check_prepared(item)
    return _checked(convert_product(item, convert, crs)) if convert else item


def _checked(made: Prepared) -> Prepared:
    """A product this run made, checked; what it wrote is removed if it fails."""
    try:
        check_prepared(made)
    except ProductError:
        _remove_converted(made)
        raise
    return made


def _remove_converted(item: Prepared) -> None:
    if "->" in item.kind:  # only ever delete what this run converted
        shutil.rmtree(Path(next(iter(item.files.values()))).parent, ignore_errors=True)


def add(
    paths: Iterable[str | Path],
    settings: Settings,
    workers: int = 1,
    convert: str | None = None,
    crs: str | None = None,
    console: Console | None = None,
    dask: str | None = None,
    share: tuple[int, int] | None = None,
) -> AddResult:
    """Index SAFE products, STAC items and eo3 documents; see the module docstring.

    `dask`: a Dask scheduler address; the products are then checked (and converted) on
    its workers, which must see the same paths, while this process keeps indexing each
    in its own transaction, so atomicity and the summary stay the same.
    `share=(i, n)`: only every n-th input from the i-th (0-based), for n indexing pods.
    """
    if convert not in (None, "cog", "netcdf"):
        raise SdlError(f"--convert {convert!r}: use cog or netcdf")
    if crs and not convert:
        raise SdlError("--crs needs --convert: the archive itself is never reprojected")
    if crs:
        from pyproj import CRS
        from pyproj.exceptions import CRSError

        try:
            CRS.from_user_input(crs)
        except CRSError as exc:
            raise SdlError(f"--crs {crs!r} is not a coordinate reference system ({exc})") from exc
    console = console or Console(stderr=True)
    started = time.monotonic()
    inputs, outcomes = expand(paths)
    if share is not None:
        index_of, shares = share
        if not 0 <= index_of < shares:
            raise SdlError(f"--share {index_of}/{shares}: the index must be 0..{shares - 1}")
        inputs = sorted(inputs)[index_of::shares]  # sorted: every pod cuts the same way
    result = AddResult(outcomes)
    s1_grid = settings.data.sentinel1  # --convert cog --crs: Sentinel-1 geocoded there too
    if crs and convert == "cog":
        s1_grid = s1_grid.model_copy(update={"crs": crs})
    with open_index(settings) as index:
        from datacube.index.hl import Doc2Dataset

        resolver = Doc2Dataset(
            index, products=list(definitions()), verify_lineage=False, skip_lineage=True
        )
        # 1. metadata only (cheap), so known products are not decoded or converted again
        todo: list[Prepared] = []
        seen: dict[str, str] = {}
        for path in inputs:
            try:
                item = prepare(path, sentinel3=settings.data.sentinel3, sentinel1=s1_grid)
            except SdlError as exc:
                result.outcomes.append(Outcome(str(path), "rejected", reason=str(exc)))
                continue
            except Exception as exc:  # malformed values deep in the metadata
                reason = f"{path}: unreadable metadata ({type(exc).__name__}: {exc})"
                result.outcomes.append(Outcome(str(path), "rejected", reason=reason))
                continue
            known = seen.get(item.id) or _indexed_location(index, item.id)
            if known is None:
                seen[item.id] = item.location
                todo.append(item)
            elif known in (item.location, _converted_location(item, convert, crs)):
                result.outcomes.append(
                    Outcome(str(path), "unchanged", item.label, item.product, _already(index, item))
                )
            else:
                result.outcomes.append(
                    Outcome(
                        str(path),
                        "rejected",
                        item.label,
                        item.product,
                        f"duplicate: {item.label} is already indexed from {known}",
                    )
                )
        # 2. decode (and convert) in parallel; 3. index each in its own transaction
        with _progress(console) as progress, _executor(workers, dask) as pool:
            task = progress.add_task("indexing", total=len(todo))
            futures = {pool.submit(_check_and_convert, item, convert, crs): item for item in todo}
            for future in as_completed(futures):
                original = futures[future]
                outcome = _index_one(index, resolver, original, future, settings.data.twins)
                result.outcomes.append(outcome)
                progress.advance(task)
    result.seconds = time.monotonic() - started
    return result


@contextlib.contextmanager
def _executor(workers: int, dask: str | None) -> Iterator[Executor]:
    """Threads here, or the workers of a Dask cluster (an existing engine, not ours)."""
    if dask is None:
        with ThreadPoolExecutor(max(1, workers)) as pool:
            yield pool
        return
    from distributed import Client

    try:
        client = Client(dask, set_as_default=False, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise SdlError(f"--dask {dask}: no Dask scheduler answers there ({exc})") from exc
    try:
        with client.get_executor(pure=False) as pool:  # concurrent.futures-compatible
            yield pool
    finally:
        client.close()


def _converted_location(item: Prepared, convert: str | None, crs: str | None) -> str | None:
    from hub.data.convert import output_dir

    return (output_dir(item, convert, crs) / "odc-metadata.yaml").as_uri() if convert else None


def _already(index: Index, item: Prepared) -> str:
    dataset = index.datasets.get(item.id)
    if dataset is not None and dataset.is_archived:
        return f"already indexed, archived: a newer twin replaced it; {KEEP_NEWEST}"
    return "already indexed"


def _indexed_location(index: Index, dataset_id: str) -> str | None:
    dataset = index.datasets.get(dataset_id)
    if dataset is None:
        return None
    return dataset.uri or "(no location)"


def _index_one(
    index: Index,
    resolver: Doc2Dataset,
    original: Prepared,
    future: Future[Prepared],
    twins: TwinPolicy,
) -> Outcome:
    source = str(original.source)
    try:
        item: Prepared = future.result()
    except SdlError as exc:
        return Outcome(source, "rejected", original.label, original.product, str(exc))
    except Exception as exc:  # a library failed on this product: reject it, go on
        return Outcome(
            source,
            "rejected",
            original.label,
            original.product,
            f"{source}: {type(exc).__name__}: {exc}",
        )
    notes = list(original.warnings)
    try:
        older = indexed_twins(index, item.doc) if twins == "newest" else []
        newer = [t for t in older if freshness(t) >= freshness(item.doc)]
        if newer:
            _remove_converted(item)
            reason = f"a newer twin is indexed ({newer[0].metadata_doc.get('label')}); "
            return Outcome(source, "unchanged", item.label, item.product, reason + KEEP_NEWEST)
        dataset, error = resolver(item.doc, item.location)
        if error or dataset is None:
            why = error or "no dataset made of it"
            raise ProductError(f"{source}: the index refuses the document: {why}")
        with index.transaction():  # the new twin and the retirement of the old: together
            index.datasets.add(dataset, with_lineage=False)
            if older:
                index.datasets.archive([t.id for t in older])
        labels = ", ".join(str(t.metadata_doc.get("label")) for t in older)
        notes += [f"replaces older twin {labels}; {KEEP_NEWEST}"] if older else []
    except Exception as exc:
        _remove_converted(item)
        reason = str(exc) if isinstance(exc, SdlError) else f"{source}: {type(exc).__name__}: {exc}"
        return Outcome(source, "rejected", item.label, item.product, reason)
    return Outcome(source, "added", item.label, item.product, "; ".join(notes))


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
        disable=not console.is_terminal,
    )
