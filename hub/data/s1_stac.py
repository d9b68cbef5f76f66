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

from hub.data.eo3 import Prepared, ProductError
from hub.data.stac_items import Measured, item_document, item_epsg, read_asset

PRODUCT = "s1_rtc"
BANDS = ("VV", "VH")
ASSET_KEY = re.compile(r"^(?:gamma0_|gamma0-|rtc_)?(vv|vh)$", re.IGNORECASE)


def read_s1_rtc(path: Path, item: dict[str, Any]) -> Prepared:
    """The eo3 document of a Sentinel-1 RTC item (already parsed from `path`)."""
    props = item.get("properties") or {}
    if not props.get("datetime"):
        raise ProductError(f"{path}: item has no properties.datetime")
    measured = Measured()
    epsg = item_epsg(item)
    for key, asset in (item.get("assets") or {}).items():
        matched = ASSET_KEY.match(key)
        if matched is None or "data" not in asset.get("roles", ["data"]):
            continue
        band = matched.group(1).upper()
        measured.add(band, read_asset(path, key, asset, props))
        epsg = epsg or item_epsg(item, asset)
    missing = [band for band in BANDS if band not in measured.measurements]
    if missing:
        raise ProductError(f"{path}: RTC item lacks asset(s) for {', '.join(missing)}")
    if epsg is None:
        raise ProductError(f"{path}: no proj:epsg / proj:code on the item or its assets")
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
    return item_document(
        path, item, name=name, product=PRODUCT, epsg=epsg, properties=properties, measured=measured
    )
