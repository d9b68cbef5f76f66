"""Reprocessed twins: one acquisition indexed more than once.

ESA's Collection-1 reprocessing (and the occasional re-delivery) publishes the same
acquisition again: same platform, tile and sensing time, another baseline or
processing time. `data.twins: newest` (the default) keeps only the newest one active
in the index; `all` keeps every copy, and `eo.load` still uses one per acquisition.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Literal

TwinPolicy = Literal["newest", "all"]


def _properties(dataset: Any) -> dict[str, Any]:
    doc = dataset if isinstance(dataset, dict) else dataset.metadata_doc
    return dict(doc.get("properties", {}))


def acquisition(dataset: Any) -> tuple[str, str, str, str]:
    """(product, platform, tile, sensing second): what twins share."""
    doc = dataset if isinstance(dataset, dict) else dataset.metadata_doc
    props = _properties(dataset)
    product = doc["product"]["name"] if isinstance(doc.get("product"), dict) else ""
    sensing = str(props.get("datetime", ""))[:19]  # to the second: twins agree to the µs
    return (
        str(product or getattr(getattr(dataset, "product", None), "name", "")),
        str(props.get("eo:platform", "")),
        str(props.get("odc:region_code", "")),
        sensing,
    )


def freshness(dataset: Any) -> tuple[str, str, str]:
    """Sort key, newest last: processing baseline, processing (generation) time, then the
    product name's discriminator (its last field), which ESA advances even for twins
    generated in the same second (S2A_MSIL2A_..._T01WCP_20230626T022157 and ..T022158)."""
    props = _properties(dataset)
    name = str(props.get("s2:product_uri", "")).removesuffix(".SAFE")
    return (
        str(props.get("s2:processing_baseline", "")),
        str(props.get("odc:processing_datetime", "")),
        name.rsplit("_", 1)[-1],
    )


def newest_per_acquisition(datasets: Iterable[Any]) -> list[Any]:
    """One dataset per acquisition, the newest; order of first appearance kept."""
    best: dict[tuple[str, str, str, str], Any] = {}
    for dataset in datasets:
        key = acquisition(dataset)
        if key not in best or freshness(dataset) > freshness(best[key]):
            best[key] = dataset
    return list(best.values())


def indexed_twins(index: Any, doc: dict[str, Any]) -> list[Any]:
    """Active datasets in the index of the same acquisition as `doc` (itself excluded)."""
    key = acquisition(doc)
    product, _, tile, sensing = key
    if not sensing or not tile:
        return []
    from datacube.model import Range

    start = dt.datetime.fromisoformat(sensing).replace(tzinfo=dt.UTC)
    window = Range(start, start + dt.timedelta(seconds=1))
    found = index.datasets.search(product=product, region_code=tile, time=window)
    return [d for d in found if str(d.id) != str(doc["id"]) and acquisition(d) == key]
