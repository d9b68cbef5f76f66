"""A Sentinel-2 tile's place: its MGRS code, its grids from the tile metadata (MTD_TL.xml)
and the data footprint from the product's EXT_POS_LIST."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any
from xml.etree import ElementTree

from pyproj import Transformer
from shapely import set_precision
from shapely.geometry import MultiPolygon, Polygon, box

from hub.data.eo3 import ProductError
from hub.data.safe_xml import find_all, text

TILE_CODE = re.compile(r"_T(\d{2}[A-Z]{3})(?:_|$)")


def region_code(tile_id: str, folder: str, where: str) -> str:
    """The MGRS tile (53JQJ) from TILE_ID, else from the granule folder's name."""
    for name in (tile_id, PurePosixPath(folder).name):
        match = TILE_CODE.search(name)
        if match:
            return match.group(1)
    raise ProductError(f"{where}: no MGRS tile code (_TnnXXX) in {tile_id!r} or {folder!r}")


def tile_grids(tile: ElementTree.Element, where: str) -> dict[str, dict[str, Any]]:
    """eo3 grids (default = 10 m, then 20m and 60m) from Size and Geoposition."""
    sizes = {el.get("resolution"): el for el in find_all(tile, "Size")}
    positions = {el.get("resolution"): el for el in find_all(tile, "Geoposition")}
    grids = {}
    for res in ("10", "20", "60"):
        if res not in sizes or res not in positions:
            raise ProductError(f"{where}: missing Size/Geoposition for {res} m")
        size, pos = sizes[res], positions[res]
        try:
            shape = [int(text(size, "NROWS", where)), int(text(size, "NCOLS", where))]
            ulx, uly = float(text(pos, "ULX", where)), float(text(pos, "ULY", where))
            xdim, ydim = float(text(pos, "XDIM", where)), float(text(pos, "YDIM", where))
        except ValueError as exc:
            raise ProductError(f"{where}: bad number in the {res} m grid ({exc})") from exc
        name = "default" if res == "10" else f"{res}m"
        grids[name] = {"shape": shape, "transform": [xdim, 0.0, ulx, 0.0, ydim, uly, 0, 0, 1]}
    return grids


def read_footprint(root: ElementTree.Element, epsg: int, grid: dict[str, Any]) -> Polygon:
    """The data footprint in the tile CRS: EXT_POS_LIST (lat lon ...) cut to the tile.

    Projected to the tile's UTM zone first, so tiles across the antimeridian stay whole.
    """
    a, _, c, _, e, f = grid["transform"][:6]
    rows, cols = grid["shape"]
    tile_box = box(c, f + e * rows, c + a * cols, f)
    values = text(root, "EXT_POS_LIST", "MTD", required=False).split()
    if len(values) < 8:
        return tile_box
    to_utm = Transformer.from_crs(4326, epsg, always_xy=True)
    lat, lon = [float(v) for v in values[0::2]], [float(v) for v in values[1::2]]
    xs, ys = to_utm.transform(lon, lat)
    shape = Polygon(zip(xs, ys, strict=True)).buffer(0).intersection(tile_box)
    shape = set_precision(shape, 0.01)  # centimetres: no float noise in the documents
    if isinstance(shape, MultiPolygon):  # slivers of the cut: keep the data's main part
        shape = max(shape.geoms, key=lambda part: part.area)
    return shape if isinstance(shape, Polygon) and not shape.is_empty else tile_box
