"""STAC Items of Sentinel-2 with COG assets (Element84 earth-search / CDSE style) -> eo3;
Sentinel-1 RTC items go to `s1_stac`.

Assets are matched to bands by key: ESA names (B04, B04_10m), common names (red, nir08)
or our aliases; JP2 duplicates (`red-jp2`) and non-raster assets are ignored. Grids
come from the projection extension (`proj:shape`, `proj:transform`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from hub.data.bands import PRODUCTS, band_by_name, bands_for
from hub.data.eo3 import Prepared, ProductError, load_document
from hub.data.s1_stac import read_s1_rtc
from hub.data.stac_items import Measured, item_document, item_epsg, read_asset


def is_stac_item(doc: dict[str, Any]) -> bool:
    return doc.get("type") == "Feature" and "stac_version" in doc


def item_level(item: dict[str, Any], where: Path) -> str:
    props = item.get("properties", {})
    hints = " ".join(
        str(v)
        for v in (
            props.get("s2:product_type"),
            props.get("processing:level"),
            item.get("collection"),
            item.get("id"),
        )
    ).upper()
    for level, token in (("L2A", "L2A"), ("L2A", "MSI2A"), ("L1C", "L1C"), ("L1C", "MSI1C")):
        if token in hints:
            return level
    raise ProductError(f"{where}: cannot tell L1C from L2A (no s2:product_type/collection)")


def read_stac(path: Path) -> Prepared:
    """Build the eo3 document of a Sentinel-2 STAC Item (JSON file)."""
    item = load_document(path)
    if not is_stac_item(item):
        raise ProductError(f"{path}: not a STAC Item (type Feature with stac_version)")
    props = item.get("properties") or {}
    platform = str(props.get("platform", "")).lower()
    if platform.startswith("sentinel-1"):  # analysis-ready RTC backscatter
        return read_s1_rtc(path, item)
    if not platform.startswith("sentinel-2"):
        raise ProductError(f"{path}: not a Sentinel-2 item (platform {platform or 'missing'})")
    level = item_level(item, path)
    if not props.get("datetime"):
        raise ProductError(f"{path}: item has no properties.datetime")

    measured = Measured()
    epsg = item_epsg(item)
    for key, asset in (item.get("assets") or {}).items():
        if key.endswith("-jp2") or "data" not in asset.get("roles", ["data"]):
            continue
        try:
            band = band_by_name(re.sub(r"_\d+m$", "", key), level)
        except KeyError:
            continue
        if band.name in measured.measurements and not key.endswith(f"_{band.resolution}m"):
            continue  # CDSE lists B02_10m, B02_20m, ...: keep the native one
        found = read_asset(path, key, asset, props)
        epsg = epsg or item_epsg(item, asset)
        res = abs(float(found.grid["transform"][0]))
        measured.add(band.name, found, "default" if res == 10 else f"{res:g}m")
    missing = sorted({b.name for b in bands_for(level)} - set(measured.measurements))
    if missing:
        raise ProductError(f"{path}: STAC item lacks asset(s) for band(s) {', '.join(missing)}")
    if epsg is None:
        raise ProductError(f"{path}: no proj:epsg / proj:code on the item or its assets")
    if "default" not in measured.grids:
        raise ProductError(f"{path}: no 10 m asset: eo3 needs a default grid")
    name = str(props.get("s2:product_uri") or item.get("id")).removesuffix(".SAFE")
    properties = {
        "datetime": props["datetime"],
        "eo:constellation": "sentinel-2",
        "eo:platform": platform,
        "eo:instrument": "MSI",
        "eo:cloud_cover": float(props.get("eo:cloud_cover", 0.0)),
        "odc:region_code": _tile(props, item),
        "odc:file_format": "GeoTIFF",
        "odc:processing_datetime": props.get("created") or props["datetime"],
        "processing:level": level,
        "s2:processing_baseline": str(props.get("s2:processing_baseline", "")),
        "s2:product_uri": name + ".SAFE",
    }
    return item_document(
        path,
        item,
        name=name,
        product=PRODUCTS[level],
        epsg=epsg,
        properties=properties,
        measured=measured,
    )


def _tile(props: dict[str, Any], item: dict[str, Any]) -> str:
    if props.get("mgrs:utm_zone"):
        parts = ("mgrs:utm_zone", "mgrs:latitude_band", "mgrs:grid_square")
        return "".join(str(props.get(key, "")) for key in parts)
    found = re.search(r"_T(\d{2}[A-Z]{3})_", str(props.get("s2:product_uri") or item.get("id")))
    return found.group(1) if found else ""
