"""ESA SAFE products (a `.SAFE` folder or the `.zip` the Copernicus Data Space serves)
-> an eo3 dataset document, from MTD_MSIL1C/2A.xml and the granule's MTD_TL.xml.

Only metadata is read here; `eo3.check_prepared` then decodes every band before the
product may be indexed.
"""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath
from typing import Any
from xml.etree import ElementTree

from pyproj import Transformer
from shapely import set_precision
from shapely.geometry import Polygon, box, mapping

from hub.data.bands import PRODUCTS, bands_for
from hub.data.eo3 import EO3_SCHEMA, Prepared, ProductError, dataset_id


class SafeSource:
    """Read files of a SAFE product, whether unpacked or zipped."""

    def __init__(self, path: Path) -> None:
        self.path = path.resolve()
        self.zip: zipfile.ZipFile | None = None
        self.prefix = ""
        if path.is_dir():
            self.name = path.name
            return
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise ProductError(f"{path}: not a readable zip archive ({exc})") from exc
        tops = {
            n.split("/", 1)[0] for n in self.zip.namelist() if n.split("/", 1)[0].endswith(".SAFE")
        }
        if len(tops) != 1:
            raise ProductError(f"{path}: expected one .SAFE folder in the zip, found {len(tops)}")
        self.name = tops.pop()
        self.prefix = self.name + "/"

    def list(self) -> list[str]:
        """Relative paths of all files in the product."""
        if self.zip is not None:
            return [n[len(self.prefix) :] for n in self.zip.namelist() if n.startswith(self.prefix)]
        return [p.relative_to(self.path).as_posix() for p in self.path.rglob("*") if p.is_file()]

    def read(self, relative: str) -> bytes:
        try:
            if self.zip is not None:
                return self.zip.read(self.prefix + relative)
            return (self.path / relative).read_bytes()
        except (KeyError, OSError) as exc:
            raise ProductError(f"{self.path}: {relative} is missing") from exc

    def raster_path(self, relative: str) -> str:
        """What rasterio opens for a file of the product."""
        if self.zip is not None:
            return f"zip://{self.path}!/{self.prefix}{relative}"
        return str(self.path / relative)

    def location(self, mtd: str) -> str:
        if self.zip is not None:
            return f"zip://{self.path}!/{self.prefix}{mtd}"
        return (self.path / mtd).as_uri()

    def measurement_path(self, relative: str) -> str:
        """Path stored in the document: relative in folders, a full URL inside zips."""
        return self.raster_path(relative) if self.zip is not None else relative


# -- XML helpers: ESA namespaces change between baselines; match local names only -----
def parse_xml(source: SafeSource, relative: str) -> ElementTree.Element:
    try:
        return ElementTree.fromstring(source.read(relative))
    except ElementTree.ParseError as exc:
        raise ProductError(f"{source.path}/{relative}: not well-formed XML ({exc})") from exc


def find_all(root: ElementTree.Element, tag: str) -> list[ElementTree.Element]:
    return [el for el in root.iter() if el.tag.rsplit("}", 1)[-1] == tag]


def text(root: ElementTree.Element, tag: str, where: str, required: bool = True) -> str:
    found = find_all(root, tag)
    if not found or not (found[0].text or "").strip():
        if required:
            raise ProductError(f"{where}: missing <{tag}>")
        return ""
    return (found[0].text or "").strip()


# -- the reader -------------------------------------------------------------------------
def is_safe(path: Path) -> bool:
    """A .SAFE folder (or one with MTD_MSIL*.xml), or a zip (which must hold one)."""
    if path.is_dir():
        return path.suffix == ".SAFE" or any(path.glob("MTD_MSIL*.xml"))
    return path.suffix.lower() == ".zip"


def read_safe(path: Path) -> Prepared:
    """Build the eo3 document of a Sentinel-2 L1C/L2A SAFE product."""
    source = SafeSource(path)
    files = source.list()
    mtds = [f for f in files if f in ("MTD_MSIL1C.xml", "MTD_MSIL2A.xml")]
    if not mtds:
        raise ProductError(
            f"{path}: not a Sentinel-2 L1C/L2A product (no MTD_MSIL1C.xml or "
            "MTD_MSIL2A.xml at its top)"
        )
    mtd = mtds[0]
    level = "L1C" if mtd == "MTD_MSIL1C.xml" else "L2A"
    where = f"{source.path}/{mtd}"
    root = parse_xml(source, mtd)

    product_uri = text(root, "PRODUCT_URI", where).removesuffix(".SAFE")
    granules = find_all(root, "Granule")
    image_files = [(el.text or "").strip() for el in find_all(root, "IMAGE_FILE")]
    if not granules or not image_files:
        raise ProductError(f"{where}: lists no granule (Granule_List/IMAGE_FILE)")
    granule_id = granules[0].get("granuleIdentifier") or image_files[0].split("/")[1]
    tile_mtd = f"GRANULE/{granule_id}/MTD_TL.xml"
    if tile_mtd not in files:
        raise ProductError(
            f"{source.path}: incomplete product, granule {granule_id} "
            f"is missing ({tile_mtd} not found)"
        )
    tile_where = f"{source.path}/{tile_mtd}"
    tile = parse_xml(source, tile_mtd)
    crs_code = text(tile, "HORIZONTAL_CS_CODE", tile_where)
    if not crs_code.upper().startswith("EPSG:"):
        raise ProductError(f"{tile_where}: HORIZONTAL_CS_CODE {crs_code!r} is not EPSG:<code>")
    grids = tile_grids(tile, tile_where)

    measurements, rasters = {}, {}
    for band in bands_for(level):
        relative = pick_band_file(image_files, band.name, band.resolution, level)
        if relative is None:
            raise ProductError(f"{where}: no IMAGE_FILE for band {band.name}")
        relative += ".jp2"
        if relative not in files:
            raise ProductError(
                f"{source.path}: incomplete product, band file {relative} is missing"
            )
        res = resolution_of(relative, band.resolution, level)
        entry: dict[str, Any] = {"path": source.measurement_path(relative)}
        if res != 10:
            entry["grid"] = f"{res}m"
        measurements[band.name] = entry
        rasters[band.name] = source.raster_path(relative)

    epsg = int(crs_code.split(":")[1])
    platform = text(root, "SPACECRAFT_NAME", where).lower()  # Sentinel-2B -> sentinel-2b
    sensing = text(tile, "SENSING_TIME", tile_where, required=False) or text(
        root, "PRODUCT_START_TIME", where
    )
    cloud = text(root, "Cloud_Coverage_Assessment", where, required=False) or text(
        tile, "CLOUDY_PIXEL_PERCENTAGE", tile_where
    )
    offset_tag = "RADIO_ADD_OFFSET" if level == "L1C" else "BOA_ADD_OFFSET"
    offsets = find_all(root, offset_tag)
    properties = {
        "datetime": sensing,
        "eo:constellation": "sentinel-2",
        "eo:platform": platform,
        "eo:instrument": "MSI",
        "eo:cloud_cover": float(cloud),
        "odc:region_code": granule_id.split("_")[1].removeprefix("T"),
        "odc:file_format": "JPEG2000",
        "odc:processing_datetime": text(root, "GENERATION_TIME", where),
        "processing:level": level,
        "s2:processing_baseline": text(root, "PROCESSING_BASELINE", where),
        "s2:product_uri": product_uri + ".SAFE",
        "s2:granule_id": granule_id,
        "s2:add_offset": int(float(offsets[0].text or 0)) if offsets else 0,
        "sat:relative_orbit": int(text(root, "SENSING_ORBIT_NUMBER", where, required=False) or 0),
    }
    footprint = read_footprint(root, epsg, grids["default"])
    doc = {
        "$schema": EO3_SCHEMA,
        "id": dataset_id(product_uri),
        "label": product_uri,
        "product": {"name": PRODUCTS[level]},
        "crs": f"epsg:{epsg}",
        "geometry": mapping(footprint),
        "grids": grids,
        "properties": properties,
        "measurements": measurements,
        "lineage": {},
    }
    return Prepared(path, "SAFE", doc, source.location(mtd), rasters)


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


def pick_band_file(files: list[str], band: str, native: int, level: str) -> str | None:
    """The IMAGE_FILE of a band, at its native resolution when L2A offers several."""
    if level == "L1C":
        return next((f for f in files if f.endswith(f"_{band}")), None)
    candidates = [f for f in files if PurePosixPath(f).name.split("_")[-2:-1] == [band]]
    for res in (native, 10, 20, 60):
        for f in candidates:
            if f.endswith(f"_{res}m"):
                return f
    return None


def resolution_of(relative: str, native: int, level: str) -> int:
    if level == "L2A":
        return int(relative.removesuffix(".jp2").rsplit("_", 1)[-1].removesuffix("m"))
    return native


def read_footprint(root: ElementTree.Element, epsg: int, grid: dict[str, Any]) -> Polygon:
    """The data footprint in the tile CRS: EXT_POS_LIST (lat lon ...) cut to the tile."""
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
    return shape if isinstance(shape, Polygon) and not shape.is_empty else tile_box
