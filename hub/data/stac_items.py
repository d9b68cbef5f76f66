"""What STAC Items of every mission share on their way to eo3 (`stac` for Sentinel-2,
`s1_stac` for Sentinel-1 RTC): the EPSG code, each asset's grid and file from the
projection extension, and the document around the measurements."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from shapely.geometry import mapping, shape

from hub.data.eo3 import EO3_SCHEMA, Prepared, ProductError, dataset_id


class Asset(NamedTuple):
    """A raster asset as eo3 takes it."""

    href: str  # as the item gives it: the measurement's path
    grid: dict[str, Any]  # eo3 grid: shape and the affine transform
    local: str  # the file this machine reads (relative hrefs resolved next to the item)


def item_epsg(item: dict[str, Any], asset: dict[str, Any] | None = None) -> int | None:
    for source in (asset or {}, item.get("properties", {})):
        if source.get("proj:epsg"):
            return int(source["proj:epsg"])
        code = str(source.get("proj:code") or "")
        if code.upper().startswith("EPSG:"):
            return int(code.split(":")[1])
    return None


def read_asset(path: Path, key: str, asset: dict[str, Any], props: dict[str, Any]) -> Asset:
    """An asset's href and grid (its own proj:shape/proj:transform, else the item's)."""
    href = str(asset.get("href", ""))
    if not href:
        raise ProductError(f"{path}: asset {key} has no href")
    shape_ = asset.get("proj:shape") or props.get("proj:shape")
    transform = asset.get("proj:transform") or props.get("proj:transform")
    if not shape_ or not transform:
        raise ProductError(f"{path}: asset {key} lacks proj:shape/proj:transform")
    grid = {"shape": list(shape_), "transform": [*list(transform)[:6], 0, 0, 1]}
    local = href if "://" in href else str((path.parent / href).resolve())
    return Asset(href, grid, local.removeprefix("file://"))


@dataclass
class Measured:
    """An item's measurements so far: eo3 entries, their grids, the files to read."""

    measurements: dict[str, dict[str, Any]] = field(default_factory=dict)
    grids: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)

    def add(self, band: str, asset: Asset, grid: str = "default") -> None:
        self.grids[grid] = asset.grid
        self.files[band] = asset.local
        named = {} if grid == "default" else {"grid": grid}
        self.measurements[band] = {"path": asset.href} | named


def item_document(
    path: Path,
    item: dict[str, Any],
    *,
    name: str,
    product: str,
    epsg: int,
    properties: dict[str, Any],
    measured: Measured,
) -> Prepared:
    """The eo3 document of an item, its footprint in the item's own CRS."""
    if not item.get("geometry"):
        raise ProductError(f"{path}: item has no geometry")
    from odc.geo.geom import Geometry

    footprint = Geometry(shape(item["geometry"]), crs="EPSG:4326").to_crs(f"EPSG:{epsg}")
    doc = {
        "$schema": EO3_SCHEMA,
        "id": dataset_id(name),
        "label": name,
        "product": {"name": product},
        "crs": f"epsg:{epsg}",
        "geometry": mapping(footprint.geom),
        "grids": measured.grids,
        "properties": properties,
        "measurements": measured.measurements,
        "lineage": {},
    }
    return Prepared(path, "STAC", doc, path.resolve().as_uri(), measured.files)
