"""Read-only views of the index for `sdl data ls` / `sdl data show`."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

from hub.data.db import connect, open_index
from hub.data.eo3 import dataset_id
from hub.errors import SdlError
from hub.settings import Settings


@contextlib.contextmanager
def reading(settings: Settings, url: str | None) -> Iterator[Any]:
    """The index over `url` (e.g. a user's read-only login), else the admin connection."""
    if url is None:
        with open_index(settings) as index:
            yield index
        return
    index = connect(url)
    try:
        yield index
    finally:
        index.close()


def summarise(settings: Settings, url: str | None = None) -> list[dict[str, Any]]:
    """Per product (mission, then product name): mission and level, dataset count,
    acquisition time range, lon/lat coverage, tiles (or relative orbits)."""
    rows = []
    with reading(settings, url) as index:
        for product in sorted(index.products.get_all(), key=lambda p: p.name):
            times, lons, lats, tiles = [], [], [], set()
            for found in index.datasets.search_returning(
                ("time", "lon", "lat", "region_code"), product=product.name
            ):
                times.append(_ends(found.time)[0])
                lons += _ends(found.lon)
                lats += _ends(found.lat)
                tiles.add(found.region_code)
            props = product.definition.get("metadata", {}).get("properties", {})
            rows.append(
                {
                    "mission": str(props.get("eo:constellation", "")),
                    "level": str(props.get("processing:level", "")),
                    "product": product.name,
                    "datasets": len(times),
                    "twins": count_twins(index, product.name),
                    "from": min(times).strftime("%Y-%m-%d") if times else "-",
                    "to": max(times).strftime("%Y-%m-%d") if times else "-",
                    "lon": f"{min(lons):.2f}..{max(lons):.2f}" if lons else "-",
                    "lat": f"{min(lats):.2f}..{max(lats):.2f}" if lats else "-",
                    "tiles": sorted(t for t in tiles if t),
                }
            )
    return sorted(rows, key=lambda row: (row["mission"], row["product"]))


def count_twins(index: Any, product: str) -> int:
    """Acquisitions (platform, tile, sensing second) indexed more than once, archived
    copies included: what `data.twins` decided about."""
    seen: dict[tuple[str, str, str], int] = {}
    for found in index.datasets.search_returning(
        ("time", "region_code", "platform"), product=product, archived=None
    ):
        key = (str(found.platform), str(found.region_code), str(_ends(found.time)[0])[:19])
        seen[key] = seen.get(key, 0) + 1
    return sum(1 for copies in seen.values() if copies > 1)


def _ends(value: Any) -> list[Any]:
    """Both ends of a range: SQLAlchemy's Range, or numrange text such as '[1.5,2.5]'."""
    if isinstance(value, str):
        return [float(v) for v in value.strip("[]()").split(",")]
    if hasattr(value, "lower"):
        return [value.lower, value.upper]
    return [value.begin, value.end]


def list_datasets(
    settings: Settings,
    url: str | None = None,
    product: str | None = None,
    tile: str | None = None,
    time: tuple[str, str] | None = None,
    archived: bool = False,
) -> list[dict[str, Any]]:
    """One row per dataset (id, label, product, tile, time, cloud cover, baseline),
    oldest first; what `sdl data show` takes as its argument."""
    query: dict[str, Any] = {}
    if product:
        query["product"] = product
    if tile:
        query["region_code"] = tile.upper().removeprefix("T")
    if time:
        from datacube.api.query import Query

        query["time"] = Query(time=time).search_terms["time"]  # dates, as dc.load takes them
    fields = ("id", "label", "product", "region_code", "time", "cloud_cover", "platform")
    rows = []
    with reading(settings, url) as index:
        for found in index.datasets.search_returning(
            fields, archived=None if archived else False, **query
        ):
            rows.append(
                {
                    "id": str(found.id),
                    "label": found.label,
                    "product": found.product,
                    "tile": found.region_code,
                    "time": _ends(found.time)[0].strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "cloud_cover": found.cloud_cover,
                    "platform": found.platform,
                }
            )
    return sorted(rows, key=lambda row: (row["time"], row["label"] or ""))


def find_dataset(settings: Settings, key: str, url: str | None = None) -> dict[str, Any]:
    """A dataset's document with its location, by UUID or by ESA product name (label)."""
    try:
        wanted = str(uuid.UUID(key))
    except ValueError:
        wanted = dataset_id(key)  # ids are derived from the product name
    with reading(settings, url) as index:
        dataset = index.datasets.get(wanted)
        if dataset is None:
            raise SdlError(f"no dataset {key!r} in the index (see `sdl data ls`)")
        return {
            "location": dataset.uri,
            "product": dataset.product.name,
            **dict(dataset.metadata_doc),
        }
