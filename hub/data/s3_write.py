"""Writing Sentinel-3 products as ESA writes them: a `.SEN3` folder of netCDF-4 files
(one variable group per file, `rows`/`columns` dimensions, packed integers with
scale_factor/add_offset, flag fields with flag_masks/flag_meanings) and the
`xfdumanifest.xml` that lists them with their sizes and MD5 checksums.

The sample cube (`sample_s3`) writes whole products with it; the tests rebuild the
measurement files of real products (whose test copies are empty) under their own manifest.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import numpy as np
import xarray as xr

from hub.data.s3_products import S3Band, S3Product

#: How ESA packs each kind of variable: (dtype, scale_factor, add_offset, _FillValue).
PACKING: dict[str, tuple[str, float, float, int]] = {
    "radiance": ("uint16", 0.01, 0.0, 65535),
    "reflectance": ("uint16", 2e-5, -0.01, 65535),
    "latlon": ("int32", 1e-6, 0.0, -2147483648),
}
#: The netCDF variable of each satpy dataset where the names differ (satpy's nc_key).
VARIABLES = {
    "chl_nn": "CHL_NN",
    "tsm_nn": "TSM_NN",
    "iop_nn": "ADG443_NN",
    "trsp": "KD490_M07",
    "w_aer": "T865",
    "wqsf": "WQSF",
    "otci": "OTCI",
    "iwv": "IWV",
    "gifapar": "GIFAPAR",
    "ogvi": "OGVI",
    "lqsf": "LQSF",
}


def variable_of(dataset: str, band: S3Band) -> str:
    if band.calibration:
        return f"{dataset}_{band.calibration}"
    return VARIABLES.get(dataset, dataset)


def packed(values: np.ndarray, kind: str) -> tuple[np.ndarray, dict[str, Any]]:
    """Geophysical values and the encoding that packs them as ESA does (xarray packs)."""
    dtype, scale, offset, fill = PACKING[kind]
    info = np.iinfo(dtype)
    low, high = info.min * scale + offset, (info.max - 1) * scale + offset
    clipped = np.where(np.isfinite(values), np.clip(values, low, high), np.nan)
    encoding = {"dtype": dtype, "scale_factor": scale, "add_offset": offset, "_FillValue": fill}
    return clipped.astype("float64"), encoding


ATTRIBUTES = ("flag_masks", "flag_meanings", "units", "standard_name")


def write_nc(
    path: Path, variables: Mapping[str, tuple[np.ndarray, dict[str, Any]]], **glob: Any
) -> None:
    """One netCDF-4 file of (rows, columns) variables; (values, encoding) per variable."""
    data, encoding = {}, {}
    for name, (array, packing) in variables.items():
        attrs = {k: v for k, v in packing.items() if k in ATTRIBUTES}
        data[name] = xr.Variable(("rows", "columns"), array, attrs)
        encoding[name] = {k: v for k, v in packing.items() if k not in attrs} | {"zlib": True}
        encoding[name].setdefault("_FillValue", None)
    ds = xr.Dataset(data, attrs={k: str(v) for k, v in glob.items()})
    ds.to_netcdf(path, engine="h5netcdf", encoding=encoding)


def write_measurements(
    folder: Path,
    product: S3Product,
    lats: np.ndarray,
    lons: np.ndarray,
    values: Mapping[str, np.ndarray],
    attrs: Mapping[str, Any] | None = None,
) -> list[str]:
    """The geolocation file and each band's file (first source of each band); returns names.

    `values`: band name -> geophysical values (float, NaN for no data), or the flag
    field (unsigned integers) for the flags band.
    """
    folder.mkdir(parents=True, exist_ok=True)
    glob = dict(attrs or {})
    written: dict[str, dict[str, tuple[np.ndarray, dict[str, Any]]]] = {}
    lat_name, lon_name = product.latlon
    lat, lat_packing = packed(lats, "latlon")
    lon, lon_packing = packed(lons, "latlon")
    written[product.geolocation] = {  # satpy finds the swath's coordinates by standard_name
        lat_name: (lat, lat_packing | {"standard_name": "latitude", "units": "degrees_north"}),
        lon_name: (lon, lon_packing | {"standard_name": "longitude", "units": "degrees_east"}),
    }
    for band in product.bands:
        dataset, file = band.sources[0]
        array = np.asarray(values[band.name])
        if band.flags:
            entry = (array.astype(band.dtype), _flag_attrs(product, band))
        elif band.calibration:
            entry = packed(array, band.calibration)
        else:
            entry = (
                array.astype("float32"),
                {"_FillValue": np.float32(np.nan), "units": band.units},
            )
        written.setdefault(file, {})[variable_of(dataset, band)] = entry
    if product.reader == "olci_l1b":  # satpy's radiance files require the instrument data
        shape = lats.shape
        written["instrument_data.nc"] = {"detector_index": (np.zeros(shape, "int16"), {})}
    for file, variables in written.items():
        write_nc(folder / file, variables, **glob)
    return sorted(written)


def _flag_attrs(product: S3Product, band: S3Band) -> dict[str, Any]:
    from hub.data.s3_products import flag_meanings

    meanings = flag_meanings(product)
    if not meanings:
        return {}
    return {
        "flag_masks": np.array([1 << bit for bit in range(len(meanings))], dtype=band.dtype),
        "flag_meanings": " ".join(meanings),
    }


@dataclass(frozen=True)
class ManifestFacts:
    """What a written manifest says about the product."""

    name: str  # without .SEN3
    product: S3Product
    platform: str  # A, B
    timeliness: str
    baseline: str
    start: dt.datetime
    stop: dt.datetime
    created: dt.datetime
    absolute_orbit: int
    relative_orbit: int
    orbit_state: str
    frame: int
    footprint: list[tuple[float, float]]  # (lat, lon) ring
    shape: tuple[int, int]


def _stamp(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


XFDU, SAFE = "urn:ccsds:schema:xfdu:1", "http://www.esa.int/safe/sentinel/1.1"
S3, GML = "http://www.esa.int/safe/sentinel/sentinel-3/1.0", "http://www.opengis.net/gml"


def _wrap(section: ElementTree.Element, ident: str, info: str) -> ElementTree.Element:
    """A metadataObject > metadataWrap > xmlData, as every manifest section is."""
    obj = ElementTree.SubElement(
        section, "metadataObject", ID=ident, classification="DESCRIPTION", category="DMD"
    )
    wrap = ElementTree.SubElement(
        obj, "metadataWrap", mimeType="text/xml", vocabularyName="Sentinel-SAFE", textInfo=info
    )
    return ElementTree.SubElement(wrap, "xmlData")


def _add(
    parent: ElementTree.Element, tag: str, text: object = None, **attrs: str
) -> ElementTree.Element:
    element = ElementTree.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = str(text)
    return element


def manifest_xml(facts: ManifestFacts, folder: Path, files: list[str]) -> str:
    """An xfdumanifest.xml in ESA's layout, listing `files` with size and MD5."""
    p = facts.product
    family = "slstr" if p.instrument == "SLSTR" else "olci"
    ns = f"http://www.esa.int/safe/sentinel/sentinel-3/{family}/1.0"
    for prefix, uri in (("xfdu", XFDU), ("sentinel-safe", SAFE), ("sentinel3", S3), ("gml", GML)):
        ElementTree.register_namespace(prefix, uri)
    ElementTree.register_namespace(family, ns)
    root = ElementTree.Element(
        f"{{{XFDU}}}XFDU", version=f"esa/safe/sentinel/sentinel-3/{family}/level-{p.level[1]}/1.0"
    )
    package = _add(root, "informationPackageMap")
    _add(package, f"{{{XFDU}}}contentUnit", ID="packageUnit", textInfo=p.description)
    meta = _add(root, "metadataSection")
    period = _add(
        _wrap(meta, "acquisitionPeriod", "Acquisition Period"), f"{{{SAFE}}}acquisitionPeriod"
    )
    _add(period, f"{{{SAFE}}}startTime", _stamp(facts.start))
    _add(period, f"{{{SAFE}}}stopTime", _stamp(facts.stop))
    platform = _add(_wrap(meta, "platform", "Platform Description"), f"{{{SAFE}}}platform")
    _add(platform, f"{{{SAFE}}}familyName", "Sentinel-3")
    _add(platform, f"{{{SAFE}}}number", facts.platform)
    instrument = _add(platform, f"{{{SAFE}}}instrument")
    _add(instrument, f"{{{SAFE}}}familyName", p.instrument, abbreviation=p.instrument)
    frames = _add(_wrap(meta, "measurementFrameSet", "Frame Set"), f"{{{SAFE}}}frameSet")
    foot = _add(
        frames, f"{{{SAFE}}}footPrint", srsName="http://www.opengis.net/def/crs/EPSG/0/4326"
    )
    _add(foot, f"{{{GML}}}posList", " ".join(f"{a:.4f} {b:.4f}" for a, b in facts.footprint))
    general = _wrap(meta, "generalProductInformation", "General Product Information")
    general = _add(general, f"{{{S3}}}generalProductInformation")
    _add(general, f"{{{S3}}}productName", f"{facts.name}.SEN3")
    _add(general, f"{{{S3}}}productType", p.product_type.ljust(11, "_"))
    _add(general, f"{{{S3}}}timeliness", facts.timeliness)
    _add(general, f"{{{S3}}}baselineCollection", facts.baseline)
    _add(general, f"{{{S3}}}creationTime", facts.created.strftime("%Y%m%dT%H%M%S"))
    unit = _add(general, f"{{{S3}}}productUnit")
    _add(unit, f"{{{S3}}}type", "FRAME")
    _add(unit, f"{{{S3}}}duration", int((facts.stop - facts.start).total_seconds()))
    _add(unit, f"{{{S3}}}alongtrackCoordinate", facts.frame)
    info = _add(
        _wrap(meta, f"{family}ProductInformation", "Product Information"),
        f"{{{ns}}}{family}ProductInformation",
    )
    size = _add(info, f"{{{ns}}}{'nadirImageSize' if family == 'slstr' else 'imageSize'}")
    _add(size, f"{{{S3}}}rows", facts.shape[0])
    _add(size, f"{{{S3}}}columns", facts.shape[1])
    orbit = _add(
        _wrap(meta, "measurementOrbitReference", "Orbit Reference"), f"{{{SAFE}}}orbitReference"
    )
    track = {"type": "start", "groundTrackDirection": facts.orbit_state}
    _add(orbit, f"{{{SAFE}}}orbitNumber", facts.absolute_orbit, **track)
    _add(orbit, f"{{{SAFE}}}relativeOrbitNumber", facts.relative_orbit, **track)
    objects = _add(root, "dataObjectSection")
    for file in files:
        data = (folder / file).read_bytes()
        obj = _add(objects, "dataObject", ID=file.removesuffix(".nc") + "Data")
        stream = _add(obj, "byteStream", mimeType="application/x-netcdf", size=str(len(data)))
        _add(stream, "fileLocation", locatorType="URL", href=f"./{file}")
        digest = hashlib.md5(data).hexdigest()
        _add(stream, "checksum", digest, checksumName="MD5")
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, "unicode") + "\n"
