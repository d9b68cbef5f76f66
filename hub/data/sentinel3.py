"""Sentinel-3 products (`.SEN3` folders or zips) -> a Prepared product to index.

Only the manifest is read here (cheap: the index's "already indexed?" step runs on it).
The swath is regridded onto the map grid of `data.sentinel3` in the check phase
(`Prepared.build` -> `s3_regrid.regrid`), which writes the COGs the index points at:
`<folder of the product>/<name>_cog_<epsg>/`, as `sdl data add --convert cog` does for
Sentinel-2.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from pyproj import CRS
from shapely.geometry import Polygon, mapping

from hub.data.convert import output_dir
from hub.data.eo3 import EO3_SCHEMA, Prepared, ProductError, check_label, dataset_id
from hub.data.s3_meta import Manifest, is_sen3, read_manifest
from hub.data.s3_products import S3Product, product_for
from hub.settings.sentinel3 import Sentinel3Grid

__all__ = ["is_sen3", "read_sen3"]


def properties(manifest: Manifest, product: S3Product) -> dict[str, Any]:
    """The searchable properties: mission, platform, level, orbit, timeliness, times."""
    frame = f"{manifest.frame:04d}" if manifest.frame is not None else "____"
    return {
        "datetime": manifest.start.isoformat(),
        "dtr:start_datetime": manifest.start.isoformat(),
        "dtr:end_datetime": manifest.stop.isoformat(),
        "odc:processing_datetime": manifest.created.isoformat(),
        "odc:file_format": "GeoTIFF",
        "odc:product_family": manifest.product_type,
        # relative orbit + frame: where a frame product lies, as a tile does for S2
        "odc:region_code": f"R{manifest.relative_orbit:03d}_F{frame}",
        "eo:constellation": "sentinel-3",
        "eo:platform": manifest.platform,
        "eo:instrument": manifest.instrument,
        "processing:level": product.level,
        "sat:absolute_orbit": manifest.absolute_orbit,
        "sat:relative_orbit": manifest.relative_orbit,
        "sat:orbit_state": manifest.orbit_state,
        "s3:product_type": manifest.product_type,
        "s3:timeliness": manifest.timeliness,
        "s3:baseline_collection": manifest.baseline,
        "s3:product_name": f"{manifest.name}.SEN3",
        "dea:dataset_maturity": {"NR": "nrt", "ST": "interim"}.get(manifest.timeliness, "final"),
    }


def footprint(manifest: Manifest) -> Polygon:
    """The manifest's footprint as a lon/lat polygon (posList is lat lon pairs)."""
    ring = [(lon, lat) for lat, lon in manifest.footprint]
    polygon = Polygon(ring)
    return polygon if polygon.is_valid else polygon.buffer(0)


def read_sen3(path: Path, grid: Sentinel3Grid | None = None) -> Prepared:
    """The product's eo3 document (bands and grid still to come from the regridding)."""
    grid = grid or Sentinel3Grid()
    source, manifest = read_manifest(path)
    where = str(path)
    product = product_for(manifest.product_type, where)
    label = check_label(manifest.name, where)
    if Path(source.name).stem != label:
        raise ProductError(f"{where}: the folder {source.name} is not the product {label}.SEN3")
    doc: dict[str, Any] = {
        "$schema": EO3_SCHEMA,
        "id": dataset_id(label),
        "label": label,
        "product": {"name": product.name},
        "crs": CRS.from_user_input(grid.crs).to_string().lower(),
        "geometry": mapping(footprint(manifest)),  # lon/lat until regridded
        "grids": {},
        "properties": properties(manifest, product),
        "measurements": {},
        "lineage": {},
    }
    item = Prepared(path, "SEN3", doc, "", build=functools.partial(_regrid, grid=grid))
    item.location = (output_dir(item, "cog", grid.crs) / "odc-metadata.yaml").as_uri()
    return item


def _regrid(item: Prepared, grid: Sentinel3Grid) -> Prepared:
    from hub.data.s3_regrid import regrid  # satpy and pyresample: only where they run

    return regrid(item, grid)
