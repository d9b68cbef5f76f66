"""Per MGRS tile: what the archive holds and when Sentinel-2 is expected over it next.

One function, `tile_status`, for the archive service's JSON API and `eo.coverage_map`:
a GeoJSON FeatureCollection with one feature per tile, its footprint the union of its
products' own data footprints (in lon/lat).

Next passes: each Sentinel-2 satellite repeats its ground track every 10 days, so a
satellite seen over a tile on a relative orbit at time t is expected there again at
t + 10 d, t + 20 d, ...; with two satellites in the constellation (180° apart) a tile is
passed every 5 days. We predict only from what the archive shows (the satellites and
relative orbits of the tile's own products), so a satellite never seen over a tile is
not predicted there, and manoeuvres, gaps and acquisition-plan changes are ignored.
"""

from __future__ import annotations

import functools
import json
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import mapping
from shapely.ops import transform, unary_union

from hub.errors import SdlError
from hub.settings import Settings

REVISIT = timedelta(days=10)  # one satellite, one relative orbit
#: What the page and the JSON say about the prediction.
ASSUMPTION = (
    "Expected passes assume Sentinel-2's fixed repeat cycle: each satellite passes over a "
    "tile on the same relative orbit every 10 days (two satellites: every 5 days), counted "
    "from its latest product of that tile and orbit in the archive. Only satellites and "
    "relative orbits the archive holds for the tile are predicted; manoeuvres, outages and "
    "changes of the acquisition plan are not known here."
)
FIELDS = ("region_code", "time", "cloud_cover", "platform", "processing_level")
# custom offsets come back as JSON text, and strings unquoted: so no plain string offsets;
# the index's own grid_spatial (datacube adds it to every eo3 document) holds the crs
OFFSETS = {
    "relative_orbit": ["properties", "sat:relative_orbit"],
    "projection": ["grid_spatial", "projection"],
}
#: The map is of Sentinel-2's MGRS tiles: products whose definition says this.
CONSTELLATION, SENTINEL_2 = "eo:constellation", "sentinel-2"
SIMPLIFY_M = 30.0  # footprint detail kept for the map: well below a 10 m band's 3 pixels


class ArchiveQueryError(SdlError, ValueError):
    """A malformed time range; the message says what is expected."""


@dataclass(frozen=True)
class Row:
    tile: str
    time: datetime
    cloud: float | None
    platform: str
    level: str
    orbit: int | None
    crs: str
    geometry: str  # the eo3 document's footprint, as JSON, in `crs`


def parse_day(value: str | None, name: str) -> date | None:
    """`YYYY-MM-DD` (or empty) from a query parameter."""
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise ArchiveQueryError(f"{name}: {value!r} is not a date; use YYYY-MM-DD") from None


def tile_status(
    index: Any,
    start: date | None = None,
    end: date | None = None,
    now: datetime | None = None,
    passes: int = 4,
) -> dict[str, Any]:
    """The tiles with products sensed from `start` to `end` (whole days, UTC, both
    included; None: open), and each tile's next `passes` expected acquisitions after `now`."""
    return status_from_rows(list(_rows(index)), start, end, now, passes)


def status_from_rows(
    rows: list[Row],
    start: date | None = None,
    end: date | None = None,
    now: datetime | None = None,
    passes: int = 4,
) -> dict[str, Any]:
    """`tile_status` over rows read already (datacube's `_rows` or `index_rows.read_rows`)."""
    now, lower, upper = query_bounds(start, end, now)
    by_tile: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        by_tile[row.tile].append(row)
    found = (tile_feature(t, by_tile[t], lower, upper, now, passes) for t in sorted(by_tile))
    return envelope([f for f in found if f is not None], start, end, now)


def query_bounds(
    start: date | None, end: date | None, now: datetime | None
) -> tuple[datetime, datetime | None, datetime | None]:
    """A status query's `now` (None: the present), in UTC, and its `day_bounds`."""
    return (now or datetime.now(UTC)).astimezone(UTC), *day_bounds(start, end)


def day_bounds(start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    """Whole UTC days from `start` to `end`, both included, as [lower, upper)."""
    if start and end and start > end:
        raise ArchiveQueryError(f"from {start} is after to {end}")
    lower = datetime.combine(start, time(), UTC) if start else None
    upper = datetime.combine(end + timedelta(days=1), time(), UTC) if end else None
    return lower, upper


def tile_feature(
    tile: str,
    held: list[Row],
    lower: datetime | None,
    upper: datetime | None,
    now: datetime,
    passes: int,
) -> dict[str, Any] | None:
    """The tile's feature for the products sensed in [lower, upper); None if there are none.
    Its expected passes come from every product it holds (`held`)."""
    shown = [
        r for r in held if (lower is None or r.time >= lower) and (upper is None or r.time < upper)
    ]
    return _feature(tile, shown, next_passes(held, now, passes)) if shown else None


def envelope(
    features: list[dict[str, Any]], start: date | None, end: date | None, now: datetime
) -> dict[str, Any]:
    """The status document around its features."""
    return {
        "type": "FeatureCollection",
        "features": features,
        "from": start.isoformat() if start else None,
        "to": end.isoformat() if end else None,
        "now": _iso(now),
        "products": sum(f["properties"]["products"] for f in features),
        "revisit_days": REVISIT.days,
        "assumption": ASSUMPTION,
    }


def archive_status(settings: Settings, url: str | None = None, **kwargs: Any) -> dict[str, Any]:
    """`tile_status` over `url` (a user's read-only login), else the admin connection."""
    from hub.data.catalog import reading  # datacube's API: not in the hub pod's image

    with reading(settings, url) as index:
        return tile_status(index, **kwargs)


def next_passes(rows: Iterable[Row], now: datetime, count: int) -> list[dict[str, Any]]:
    """The first `count` expected passes after `now`: per (relative orbit, satellite), its
    latest sensing time plus whole repeat cycles."""
    latest: dict[tuple[int, str], datetime] = {}
    for row in rows:
        if row.orbit:  # 0/None: the product did not say; nothing to predict from
            key = (row.orbit, row.platform)
            latest[key] = max(latest.get(key, row.time), row.time)
    found = []
    for (orbit, platform), last in latest.items():
        cycles = max(1, math.floor((now - last) / REVISIT) + 1)
        first = last + cycles * REVISIT
        for k in range(count):
            found.append((first + k * REVISIT, platform, orbit))
    found.sort()
    return [
        {"time": _iso(when), "platform": platform, "relative_orbit": orbit}
        for when, platform, orbit in found[:count]
    ]


def _feature(tile: str, rows: list[Row], passes: list[dict[str, Any]]) -> dict[str, Any]:
    rows = sorted(rows, key=lambda r: r.time)
    clouds = [r.cloud for r in rows if r.cloud is not None]
    last_time = rows[-1].time.replace(microsecond=0)
    last_clouds = [
        r.cloud for r in rows if r.cloud is not None and r.time.replace(microsecond=0) == last_time
    ]
    levels: dict[str, int] = defaultdict(int)
    for row in rows:
        levels[row.level] += 1
    return {
        "type": "Feature",
        "id": tile,
        "geometry": footprint(rows),
        "properties": {
            "tile": tile,
            "products": len(rows),
            # one acquisition is often two products (L1C and L2A)
            "acquisitions": len({(r.platform, r.time.replace(microsecond=0)) for r in rows}),
            "first": _iso(rows[0].time),
            "latest": _iso(rows[-1].time),
            "cloud_mean": _mean(clouds),
            "cloud_last": _mean(last_clouds),
            "levels": dict(sorted(levels.items())),
            "platforms": sorted({r.platform for r in rows}),
            "relative_orbits": sorted({r.orbit for r in rows if r.orbit}),
            "next_passes": passes,
        },
    }


def footprint(rows: Iterable[Row]) -> dict[str, Any] | None:
    """Union of the products' footprints, in lon/lat (each CRS unioned in its own metres)."""
    by_crs: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        if row.geometry:
            by_crs[row.crs].add(row.geometry)  # L1C and L2A twins share one footprint
    parts = []
    for crs, geometries in by_crs.items():
        parsed = np.array([_parse(g) for g in sorted(geometries)], dtype=object)
        native = _union(parsed).simplify(SIMPLIFY_M)
        to_lonlat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform
        parts.append(transform(to_lonlat, native))
    if not parts:
        return None
    merged = shapely.set_precision(unary_union(parts), 1e-5)  # ~1 m: a small JSON
    return dict(mapping(merged))


@functools.lru_cache(maxsize=2**18)  # a service's index: parse each footprint once
def _parse(geometry: str) -> Any:
    return shapely.from_geojson(geometry)


def _union(geometries: Any) -> Any:
    """The union, skipping footprints inside the largest one (most of a tile's products:
    GEOS' union of hundreds of overlapping polygons is the slow part of the map)."""
    if len(geometries) == 1:
        return geometries[0]
    largest = geometries[int(shapely.area(geometries).argmax())]
    shapely.prepare(largest)
    rest = geometries[~shapely.covers(largest, geometries)]
    return shapely.union_all([largest, *rest]) if len(rest) else largest


def _rows(index: Any) -> Iterable[Row]:
    for product in index.products.get_all():
        if product.metadata_doc.get("properties", {}).get(CONSTELLATION) == SENTINEL_2:
            yield from _product_rows(index, product.name)


def _product_rows(index: Any, product: str) -> Iterable[Row]:
    rows = index.datasets.search_returning(
        FIELDS, custom_offsets=OFFSETS, archived=False, product=product
    )
    for found in rows:
        start = _start(found.time)
        orbit = found.relative_orbit
        projection = found.projection or {}
        valid = projection.get("valid_data")
        yield Row(
            tile=str(found.region_code or "?"),
            time=start if start.tzinfo else start.replace(tzinfo=UTC),
            cloud=None if found.cloud_cover is None else float(found.cloud_cover),
            platform=str(found.platform or "unknown"),
            level=str(found.processing_level or "?"),
            orbit=int(orbit) if orbit not in (None, "") else None,
            crs=str(projection.get("spatial_reference") or "EPSG:4326"),
            geometry=json.dumps(valid) if valid else "",
        )


def _start(value: Any) -> datetime:
    """The lower end of a time range (SQLAlchemy's Range or datacube's)."""
    return value.lower if hasattr(value, "lower") else value.begin


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
