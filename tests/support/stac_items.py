"""STAC items for the sync tests and the sync benchmark, made from real products.

Two shapes, as the providers list them: one SAFE zip per item (CDSE's, asset "Product")
or per-band JP2 assets (Element84's), each with `file:size` and `file:checksum`, hrefs on
an `AssetHost` (tests.support.stac_server).
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from hub.data.safe import read_safe
from hub.data.sync_download import multihash_sha256
from tests.support.real_products import EsaMetadata, band_resolution
from tests.support.stac_server import AssetHost


def name_of(product: Path) -> str:
    return product.name.removesuffix(".zip").removesuffix(".SAFE")


def zip_safe(safe: Path, out: Path) -> Path:
    """The SAFE folder as `<out>/<name>.zip`, as CDSE serves it."""
    target = out / f"{safe.name.removesuffix('.SAFE')}.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as archive:  # JP2: compressed
        for path in sorted(safe.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(safe.parent).as_posix())
    return target


def base_item(product: Path, collection: str) -> dict[str, Any]:
    """The item without assets: id, footprint, bbox and properties from the metadata."""
    doc = read_safe(product).doc
    props = doc["properties"]
    meta = EsaMetadata.of(product)
    ring = meta.footprint_lonlat()
    lons, lats = [p[0] for p in ring], [p[1] for p in ring]
    return {
        "type": "Feature",
        "stac_version": "1.1.0",
        "id": name_of(product),
        "collection": collection,
        "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in ring]]},
        "bbox": [min(lons), min(lats), max(lons), max(lats)],
        "properties": {
            "datetime": props["datetime"],
            "platform": props["eo:platform"],
            "eo:cloud_cover": props["eo:cloud_cover"],
            "s2:product_type": f"S2MSI{meta.level[1:]}",
            "s2:processing_baseline": props["s2:processing_baseline"],
        },
        "links": [],
        "assets": {},
    }


def zip_item(product: Path, served: Path, host: AssetHost, collection: str) -> dict[str, Any]:
    """An item with one asset, "Product": the served zip of `product`."""
    item = base_item(product, collection)
    item["assets"]["Product"] = {
        "href": host.href(served),
        "type": "application/zip",
        "roles": ["data", "archive"],
        "file:size": served.stat().st_size,
        "file:checksum": multihash_sha256(served),
    }
    return item


def band_item(product: Path, safe: Path, host: AssetHost, collection: str) -> dict[str, Any]:
    """Per-band assets, as Element84 lists them, for the rebuilt SAFE's JP2 files."""
    meta = EsaMetadata.of(product)
    item = base_item(product, collection)
    epsg = meta.value("tile", ".//{*}HORIZONTAL_CS_CODE")
    item["properties"] |= {"proj:code": epsg, "s2:product_uri": safe.name}
    for image_file in meta.image_files:
        if "TCI" in image_file:
            continue
        file = safe / f"{image_file}.jp2"
        res = band_resolution(image_file, meta.level)
        rows, cols, ulx, uly = meta.grid(res)
        item["assets"][image_file.rsplit("_", 1)[-1]] = {
            "href": host.href(file),
            "type": "image/jp2",
            "roles": ["data"],
            "proj:shape": [rows, cols],
            "proj:transform": [res, 0, ulx, 0, -res, uly],
            "file:size": file.stat().st_size,
            "file:checksum": multihash_sha256(file),
        }
    item["assets"]["thumbnail"] = {"href": host.href(safe / "absent.png"), "roles": ["thumbnail"]}
    return item
