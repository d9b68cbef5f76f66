"""Analysis-ready Sentinel-1 RTC STAC Items (gamma0 COGs, as catalogues publish them) -> eo3.

Radiometrically terrain-corrected backscatter is indexed as published, as `s1_rtc`
(VV+VH): no processing here. Assets are matched by key, whatever the catalogue calls
them (`gamma0_vv` on AWS's Sentinel-1 RTC, `vv` on Planetary Computer); grids come from
the projection extension (`proj:shape`, `proj:transform`, `proj:epsg`/`proj:code`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from shapely.geometry import mapping, shape

from hub.data.eo3 import EO3_SCHEMA, Prepared, ProductError, dataset_id

PRODUCT = "s1_rtc"
BANDS = ("VV", "VH")
ASSET_KEY = re.compile(r"^(?:gamma0_|gamma0-|rtc_)?(vv|vh)$", re.IGNORECASE)


def read_s1_rtc(path: Path, item: dict[str, Any]) -> Prepared:
    """The eo3 document of a Sentinel-1 RTC item (already parsed from `path`)."""
    from hub.data.stac import item_epsg

    props = item.get("properties") or {}
    if not props.get("datetime"):
        raise ProductError(f"{path}: item has no properties.datetime")
    measurements: dict[str, dict[str, Any]] = {}
    files: dict[str, str] = {}
    grids: dict[str, dict[str, Any]] = {}
    epsg = item_epsg(item)
    for key, asset in (item.get("assets") or {}).items():
        matched = ASSET_KEY.match(key)
        if matched is None or "data" not in asset.get("roles", ["data"]):
            continue
        band = matched.group(1).upper()
        href = str(asset.get("href", ""))
        shape_ = asset.get("proj:shape") or props.get("proj:shape")
        transform = asset.get("proj:transform") or props.get("proj:transform")
        if not href or not shape_ or not transform:
            raise ProductError(f"{path}: asset {key} lacks href or proj:shape/proj:transform")
        epsg = epsg or item_epsg(item, asset)
        grids["default"] = {"shape": list(shape_), "transform": [*list(transform)[:6], 0, 0, 1]}
        local = href if "://" in href else str((path.parent / href).resolve())
        files[band] = local.removeprefix("file://")
        measurements[band] = {"path": href}
    missing = [band for band in BANDS if band not in measurements]
    if missing:
        raise ProductError(f"{path}: RTC item lacks asset(s) for {', '.join(missing)}")
    if epsg is None:
        raise ProductError(f"{path}: no proj:epsg / proj:code on the item or its assets")
    if not item.get("geometry"):
        raise ProductError(f"{path}: item has no geometry")
    from odc.geo.geom import Geometry

    footprint = Geometry(shape(item["geometry"]), crs="EPSG:4326").to_crs(f"EPSG:{epsg}")
    name = str(item.get("id"))
    relative = props.get("sat:relative_orbit")
    properties = {
        "datetime": props["datetime"],
        "eo:constellation": "sentinel-1",
        "eo:platform": str(props.get("platform", "")).lower(),
        "eo:instrument": "C-SAR",
        "processing:level": "RTC",
        "odc:file_format": "GeoTIFF",
        "odc:processing_datetime": props.get("created") or props["datetime"],
        "odc:region_code": str(props.get("sentinel:mgrs") or f"R{relative or 0:03d}"),
        "sar:instrument_mode": props.get("sar:instrument_mode", ""),
        "sar:polarizations": list(props.get("sar:polarizations") or BANDS),
        "sdl:polarisations": "+".join(props.get("sar:polarizations") or BANDS),
        "sdl:backscatter": "gamma0",
        "sdl:terrain_corrected": True,
    }
    for key in ("sat:orbit_state", "sat:relative_orbit", "sat:absolute_orbit"):
        if key in props:
            properties[key] = props[key]
    doc = {
        "$schema": EO3_SCHEMA,
        "id": dataset_id(name),
        "label": name,
        "product": {"name": PRODUCT},
        "crs": f"epsg:{epsg}",
        "geometry": mapping(footprint.geom),
        "grids": grids,
        "properties": properties,
        "measurements": measurements,
        "lineage": {},
    }
    return Prepared(path, "STAC", doc, path.resolve().as_uri(), files)
