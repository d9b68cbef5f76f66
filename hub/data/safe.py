"""ESA SAFE products (a `.SAFE` folder or the `.zip` the Copernicus Data Space serves)
-> an eo3 dataset document, from MTD_MSIL1C/2A.xml and the granule's MTD_TL.xml.

Every path comes from the product's own listing (`Granule_List/.../IMAGE_FILE`), never
from identifiers: in ESA products the granule folder (`GRANULE/L1C_T53JQJ_A027984_...`)
is not the `granuleIdentifier` attribute (`S2A_OPER_MSI_L1C_TL_EPAE_..._N02.09`).

Only metadata is read here; `eo3.check_prepared` then checks every band before the
product may be indexed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from xml.etree import ElementTree

from pyproj import Transformer
from shapely import set_precision
from shapely.geometry import MultiPolygon, Polygon, box, mapping

from hub.data.bands import PRODUCTS, bands_for
from hub.data.eo3 import EO3_SCHEMA, Prepared, ProductError, check_label, dataset_id
from hub.data.safe_files import SafeSource

#: The namespaces of the user-product metadata this reader knows (PSD 14 and later).
PRODUCT_NAMESPACE = re.compile(
    r"https://psd-(\d+)\.sentinel2\.eo\.esa\.int/PSD/User_Product_Level-(1C|2A)\.xsd"
)
PRODUCT_METADATA = {"mtd_msil1c.xml": "L1C", "mtd_msil2a.xml": "L2A"}
#: Pre-2016-12-06 products: one big SAFE of many tiles, named ..._PRD_MSIL1C_PDMC_...
OLD_FORMAT = re.compile(r"_(PRD_MSIL1C|MTD_SAFL1C)_PDMC_")
TILE_CODE = re.compile(r"_T(\d{2}[A-Z]{3})(?:_|$)")


# -- XML helpers: ESA namespaces change between baselines; match local names only -----
def parse_xml(source: SafeSource, relative: str) -> ElementTree.Element:
    try:
        return ElementTree.fromstring(source.read(relative))
    except ElementTree.ParseError as exc:
        raise ProductError(f"{source.path}/{relative}: not well-formed XML ({exc})") from exc


def local_name(element: ElementTree.Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def find_all(root: ElementTree.Element, tag: str) -> list[ElementTree.Element]:
    return [el for el in root.iter() if local_name(el) == tag]


def text(root: ElementTree.Element, tag: str, where: str, required: bool = True) -> str:
    found = find_all(root, tag)
    if not found or not (found[0].text or "").strip():
        if required:
            raise ProductError(f"{where}: missing <{tag}>")
        return ""
    return (found[0].text or "").strip()


# -- the product's own listing ----------------------------------------------------------
@dataclass(frozen=True)
class Granule:
    """One `Granule` element of the product metadata and the folder its files are in."""

    identifier: str  # granuleIdentifier, e.g. S2A_OPER_MSI_L1C_TL_EPAE_..._N02.09
    folder: str  # GRANULE/L1C_T53JQJ_A027984_20201031T004711
    image_files: tuple[str, ...]  # as listed, without the .jp2 extension


def is_safe(path: Path) -> bool:
    """A .SAFE folder (or one with MTD_MSIL*.xml), or a zip (which must hold one)."""
    if path.is_dir():
        return path.suffix == ".SAFE" or any(
            p.name.lower() in PRODUCT_METADATA for p in path.glob("MTD_MSIL*")
        )
    return path.suffix.lower() == ".zip"


def product_metadata(source: SafeSource, files: list[str]) -> tuple[str, str]:
    """(file name, level) of the top-level product metadata, or why there is none."""
    found = [(f, PRODUCT_METADATA[f.lower()]) for f in files if f.lower() in PRODUCT_METADATA]
    if found:
        return found[0]
    if OLD_FORMAT.search(source.name) or any(OLD_FORMAT.search(f) for f in files if "/" not in f):
        raise ProductError(
            f"{source.path}: an old multi-tile product (PDMC naming, before 2016-12-06) is "
            "not supported; ESA's Collection-1 reprocessing republishes these acquisitions "
            "as single-tile products (S2?_MSIL1C_..., compact naming): index those instead"
        )
    raise ProductError(
        f"{source.path}: not a Sentinel-2 L1C/L2A product (no MTD_MSIL1C.xml or "
        "MTD_MSIL2A.xml at its top)"
    )


def check_namespace(root: ElementTree.Element, level: str, where: str) -> None:
    """Refuse metadata of a layout this reader was not written for, naming it."""
    namespace = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else ""
    match = PRODUCT_NAMESPACE.fullmatch(namespace)
    if match is None or match.group(2) != level[1:]:
        raise ProductError(
            f"{where}: metadata namespace {namespace or '(none)'!r} is not one this reader "
            f"knows for {level} (https://psd-NN.sentinel2.eo.esa.int/PSD/"
            f"User_Product_Level-{level[1:]}.xsd)"
        )


def listed_granules(root: ElementTree.Element, where: str) -> list[Granule]:
    """Every granule of Granule_List with its IMAGE_FILEs, paths checked to stay inside."""
    granules = []
    for element in find_all(root, "Granule"):
        listed = [
            (el.text or "").strip()
            for el in element
            if local_name(el) in ("IMAGE_FILE", "IMAGE_FILE_2A") and (el.text or "").strip()
        ]
        for relative in listed:
            parts = PurePosixPath(relative).parts
            if relative.startswith("/") or ".." in parts or len(parts) < 3:
                raise ProductError(f"{where}: IMAGE_FILE {relative!r} is not a path inside it")
        folders = {"/".join(PurePosixPath(f).parts[:2]) for f in listed}
        if len(folders) > 1:
            raise ProductError(f"{where}: a granule's IMAGE_FILEs span {sorted(folders)}")
        identifier = element.get("granuleIdentifier", "")
        granules.append(Granule(identifier, folders.pop() if folders else "", tuple(listed)))
    if not granules or not any(g.image_files for g in granules):
        raise ProductError(f"{where}: lists no granule (Granule_List/IMAGE_FILE)")
    return granules


def granule_with_data(
    source: SafeSource, files: list[str], granules: list[Granule]
) -> tuple[Granule, list[str]]:
    """The product's one granule that holds data, and warnings for the empty ones."""
    present = {f.lower() for f in files}
    full, warnings = [], []
    for granule in granules:
        has_tile_mtd = f"{granule.folder}/MTD_TL.xml".lower() in present
        has_bands = any(f"{f}.jp2".lower() in present for f in granule.image_files)
        if has_tile_mtd or has_bands:
            full.append(granule)
        else:
            warnings.append(f"granule {granule.folder or granule.identifier} is empty: skipped")
    for folder in sorted(source.granule_folders() - {g.folder for g in granules}):
        warnings.append(f"{folder} is not in the product's granule list: ignored")
    if not full:
        first = granules[0]
        raise ProductError(
            f"{source.path}: incomplete product, granule {first.folder or first.identifier} "
            f"is missing ({first.folder}/MTD_TL.xml not found)"
        )
    if len(full) > 1:
        raise ProductError(
            f"{source.path}: lists {len(full)} granules with data; only single-tile "
            "products (compact naming, since 2016-12-06) are supported"
        )
    return full[0], warnings


# -- the reader -------------------------------------------------------------------------
def read_safe(path: Path, *, need_bands: bool = True) -> Prepared:
    """Build the eo3 document of a Sentinel-2 L1C/L2A SAFE product.

    `need_bands=False` reads metadata that comes without its band files (ESA's and
    other projects' metadata-only test products); indexing always needs them.
    """
    source = SafeSource(path)
    files = source.list()
    mtd, level = product_metadata(source, files)
    where = f"{source.path}/{mtd}"
    root = parse_xml(source, mtd)
    check_namespace(root, level, where)
    product_uri = text(root, "PRODUCT_URI", where).removesuffix(".SAFE")
    check_label(product_uri, f"{where}: PRODUCT_URI")
    granule, warnings = granule_with_data(source, files, listed_granules(root, where))
    tile_mtd = f"{granule.folder}/MTD_TL.xml"
    if tile_mtd not in files:
        raise ProductError(f"{source.path}: incomplete product, {tile_mtd} not found")
    tile_where = f"{source.path}/{tile_mtd}"
    tile = parse_xml(source, tile_mtd)
    crs_code = text(tile, "HORIZONTAL_CS_CODE", tile_where)
    if not crs_code.upper().startswith("EPSG:"):
        raise ProductError(f"{tile_where}: HORIZONTAL_CS_CODE {crs_code!r} is not EPSG:<code>")
    epsg = int(crs_code.split(":")[1])
    grids = tile_grids(tile, tile_where)
    measurements, rasters = band_files(source, files, granule, level, where, need_bands)
    tile_id = text(tile, "TILE_ID", tile_where, required=False) or granule.identifier
    doc = {
        "$schema": EO3_SCHEMA,
        "id": dataset_id(product_uri),
        "label": product_uri,
        "product": {"name": PRODUCTS[level]},
        "crs": f"epsg:{epsg}",
        "geometry": mapping(read_footprint(root, epsg, grids["default"])),
        "grids": grids,
        "properties": properties(root, tile, where, tile_where, level, product_uri, granule)
        | {"odc:region_code": region_code(tile_id, granule.folder, where)},
        "measurements": measurements,
        "lineage": {},
    }
    return Prepared(path, "SAFE", doc, source.location(mtd), rasters, warnings)


def band_files(
    source: SafeSource,
    files: list[str],
    granule: Granule,
    level: str,
    where: str,
    need_bands: bool = True,
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """eo3 measurements and the file of each band, from the granule's IMAGE_FILEs."""
    present = set(files)
    measurements: dict[str, dict[str, Any]] = {}
    rasters: dict[str, str] = {}
    for band in bands_for(level):
        listed = pick_band_file(list(granule.image_files), band.name, band.resolution, level)
        if listed is None:
            raise ProductError(f"{where}: no IMAGE_FILE for band {band.name}")
        relative = listed if listed.lower().endswith(".jp2") else f"{listed}.jp2"
        if need_bands and relative not in present:
            raise ProductError(
                f"{source.path}: incomplete product, band file {relative} is missing"
            )
        res = resolution_of(relative, band.resolution, level)
        entry: dict[str, Any] = {"path": source.measurement_path(relative)}
        if res != 10:
            entry["grid"] = f"{res}m"
        measurements[band.name] = entry
        rasters[band.name] = source.raster_path(relative)
    return measurements, rasters


def properties(
    root: ElementTree.Element,
    tile: ElementTree.Element,
    where: str,
    tile_where: str,
    level: str,
    product_uri: str,
    granule: Granule,
) -> dict[str, Any]:
    """Searchable properties, each from the element ESA defines for it."""
    sensing = text(tile, "SENSING_TIME", tile_where, required=False) or text(
        root, "PRODUCT_START_TIME", where
    )
    cloud = text(root, "Cloud_Coverage_Assessment", where, required=False) or text(
        tile, "CLOUDY_PIXEL_PERCENTAGE", tile_where
    )
    offsets = find_all(root, "RADIO_ADD_OFFSET" if level == "L1C" else "BOA_ADD_OFFSET")
    orbit_direction = text(root, "SENSING_ORBIT_DIRECTION", where, required=False)
    absolute = re.search(r"_A(\d{6})_", granule.folder + "_")
    try:
        props: dict[str, Any] = {
            "datetime": sensing,
            "eo:constellation": "sentinel-2",
            "eo:platform": text(root, "SPACECRAFT_NAME", where).lower(),  # sentinel-2b
            "eo:instrument": "MSI",
            "eo:cloud_cover": float(cloud),
            "odc:file_format": "JPEG2000",
            "odc:processing_datetime": text(root, "GENERATION_TIME", where),
            "processing:level": level,
            "s2:processing_baseline": text(root, "PROCESSING_BASELINE", where),
            "s2:product_uri": product_uri + ".SAFE",
            "s2:granule_id": granule.identifier,
            "s2:add_offset": int(float(offsets[0].text or 0)) if offsets else 0,
            "sat:relative_orbit": int(
                text(root, "SENSING_ORBIT_NUMBER", where, required=False) or 0
            ),
        }
    except ValueError as exc:
        raise ProductError(f"{where}: malformed value ({exc})") from exc
    if orbit_direction:
        props["sat:orbit_state"] = orbit_direction.lower()
    if absolute:
        props["sat:absolute_orbit"] = int(absolute.group(1))
    return props


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


def pick_band_file(files: list[str], band: str, native: int, level: str) -> str | None:
    """The IMAGE_FILE of a band, at its native resolution when L2A offers several."""
    stems = [(f, PurePosixPath(f).name.removesuffix(".jp2")) for f in files]
    if level == "L1C":
        return next((f for f, stem in stems if stem.endswith(f"_{band}")), None)
    candidates = [(f, stem) for f, stem in stems if stem.split("_")[-2:-1] == [band]]
    for res in (native, 10, 20, 60):
        for f, stem in candidates:
            if stem.endswith(f"_{res}m"):
                return f
    return None


def resolution_of(relative: str, native: int, level: str) -> int:
    if level == "L2A":
        return int(relative.removesuffix(".jp2").rsplit("_", 1)[-1].removesuffix("m"))
    return native


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
