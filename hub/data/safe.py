"""ESA SAFE products (a `.SAFE` folder or the `.zip` the Copernicus Data Space serves)
-> an eo3 dataset document, from MTD_MSIL1C/2A.xml and the granule's MTD_TL.xml.

Every path comes from the product's own listing (`Granule_List/.../IMAGE_FILE`), never
from identifiers: in ESA products the granule folder (`GRANULE/L1C_T53JQJ_A027984_...`)
is not the `granuleIdentifier` attribute (`S2A_OPER_MSI_L1C_TL_EPAE_..._N02.09`).

Only metadata is read here (its XML: hub.data.safe_xml; the granule listing:
hub.data.safe_granules; the tile's grids and footprint: hub.data.safe_tile);
`eo3.check_prepared` then checks every band before the product may be indexed.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any
from xml.etree import ElementTree

from shapely.geometry import mapping

from hub.data.bands import PRODUCTS, bands_for
from hub.data.eo3 import EO3_SCHEMA, Prepared, ProductError, check_label, dataset_id
from hub.data.safe_files import SafeSource
from hub.data.safe_granules import Granule, granule_with_data, listed_granules
from hub.data.safe_tile import read_footprint, region_code, tile_grids
from hub.data.safe_xml import find_all, parse_xml, text

#: The namespaces of the user-product metadata this reader knows (PSD 14 and later).
PRODUCT_NAMESPACE = re.compile(
    r"https://psd-(\d+)\.sentinel2\.eo\.esa\.int/PSD/User_Product_Level-(1C|2A)\.xsd"
)
PRODUCT_METADATA = {"mtd_msil1c.xml": "L1C", "mtd_msil2a.xml": "L2A"}
#: Pre-2016-12-06 products: one big SAFE of many tiles, named ..._PRD_MSIL1C_PDMC_...
OLD_FORMAT = re.compile(r"_(PRD_MSIL1C|MTD_SAFL1C)_PDMC_")


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
