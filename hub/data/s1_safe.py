"""Sentinel-1 GRD SAFE products (IW, EW; folder or zip) -> what ingest needs, per polarisation.

Every file comes from the manifest's own `dataObjectSection` (as ESA lists them), never
from guessed names: the product annotation (`annotation/*.xml`: image size, pixel
spacing, the geolocation grid of GCPs), the calibration LUTs and the thermal-noise
vectors (`annotation/calibration/{calibration,noise}-*.xml`) and the measurement GeoTIFF.
A product missing any of them is refused here, before anything is written.

xarray-sentinel reads these files too, but it refuses GRD noise vectors whose pixel lists
differ from line to line and keeps only the first swath's azimuth noise vector, which is
wrong for IW/EW (one vector per sub-swath); so these few fields are read with
ElementTree and interpolated in `s1_calibration`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TypeVar
from xml.etree import ElementTree

import numpy as np

from hub.data.eo3 import ProductError
from hub.data.safe_files import SafeSource
from hub.data.safe_xml import find_all, local_name, parse_xml, text

#: S1A_IW_GRDH_1SDV_20210809T173953_20210809T174018_039156_049F13_6FF8(.SAFE)
NAME = re.compile(
    r"^(?P<platform>S1[A-D])_(?P<mode>IW|EW)_GRD(?P<resolution>[HM])_1S(?P<pols>[SD][HV])_"
    r"(?P<start>\d{8}T\d{6})_(?P<stop>\d{8}T\d{6})_(?P<orbit>\d{6})_(?P<datatake>[0-9A-F]{6})_"
    r"(?P<unique>[0-9A-F]{4})(\.SAFE)?$"
)
ANY_S1 = re.compile(r"^S1[A-D]_")
MODES = ("IW", "EW")
T = TypeVar("T")


@dataclass(frozen=True)
class Vector:
    """One LUT row of an annotation: values at `pixels` on image line `line`."""

    line: int
    pixels: np.ndarray
    values: np.ndarray


@dataclass(frozen=True)
class AzimuthBlock:
    """An azimuth noise vector: one sub-swath's block of lines and samples (IPF >= 2.9)."""

    first_line: int
    last_line: int
    first_sample: int
    last_sample: int
    lines: np.ndarray
    values: np.ndarray


@dataclass(frozen=True)
class Gcp:
    line: float
    pixel: float
    lon: float
    lat: float
    height: float


#: The annotation's elements that hold the fields of a Gcp, and of an AzimuthBlock's
#: bounds, in the fields' order.
GCP_TAGS = ("line", "pixel", "longitude", "latitude", "height")
BLOCK_TAGS = ("firstAzimuthLine", "lastAzimuthLine", "firstRangeSample", "lastRangeSample")


@dataclass
class Polarisation:
    """The files and annotation of one polarisation's measurement."""

    name: str  # VV, VH, HH or HV
    measurement: str  # path inside the product
    lines: int
    samples: int
    calibration: list[Vector] = field(default_factory=list)  # sigmaNought
    noise_range: list[Vector] = field(default_factory=list)
    noise_azimuth: list[AzimuthBlock] = field(default_factory=list)
    gcps: list[Gcp] = field(default_factory=list)
    pixel_spacing: float = 10.0  # metres, range


@dataclass
class S1Product:
    """What the manifest says about the acquisition, and its polarisations."""

    source: SafeSource
    name: str  # without .SAFE
    platform: str  # sentinel-1a
    mode: str  # IW or EW
    start: dt.datetime
    stop: dt.datetime
    orbit_state: str  # ascending / descending
    absolute_orbit: int
    relative_orbit: int
    timeliness: str  # e.g. NRT-3h, Fast-24h
    ipf: str  # processor version, e.g. 003.31
    processed: dt.datetime
    polarisations: dict[str, Polarisation]


# -- XML by local names (hub.data.safe_xml: ESA's namespaces differ between versions) ------
def _child(element: ElementTree.Element, tag: str, where: str) -> str:
    for child in element:
        if local_name(child) == tag and child.text is not None:
            return child.text.strip()
    raise ProductError(f"{where}: <{local_name(element)}> has no <{tag}>")


def _children(
    element: ElementTree.Element, tags: tuple[str, ...], kind: Callable[[str], T], where: str
) -> list[T]:
    """The named children's values, in the order of `tags` (a record's fields)."""
    return [kind(_child(element, tag, where)) for tag in tags]


def _numbers(value: str, dtype: str = "float64") -> np.ndarray:
    return np.array(value.split(), dtype=dtype)


def _time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.rstrip("Z")).replace(tzinfo=dt.UTC)


# -- the product --------------------------------------------------------------------------
def is_s1_safe(path: Path) -> bool:
    """A Sentinel-1 product folder or zip, by ESA's name (S1A_..., S1B_, S1C_, S1D_)."""
    name = path.name.removesuffix(".zip").removesuffix(".SAFE")
    return bool(ANY_S1.match(name)) and (path.is_dir() or path.suffix.lower() == ".zip")


def listed_files(source: SafeSource, manifest: ElementTree.Element) -> dict[str, str]:
    """dataObject ID -> path inside the product, from the manifest's own listing.

    The AWS open-data copies of Sentinel-1 rename files (`noise-ew-hh.xml`) and record
    ESA's names in `productInfo.json`'s filenameMap: those are followed."""
    renamed: dict[str, str] = {}
    if "productInfo.json" in source.list():
        renamed = json.loads(source.read("productInfo.json")).get("filenameMap", {})
    files = {}
    for obj in find_all(manifest, "dataObject"):
        for location in find_all(obj, "fileLocation"):
            href = PurePosixPath(location.get("href", "").removeprefix("./"))
            if href.is_absolute() or ".." in href.parts:
                raise ProductError(f"{source.path}: manifest lists {href}, outside the product")
            files[obj.get("ID", "")] = renamed.get(str(href), str(href))
    return files


def read_product(path: Path) -> S1Product:
    """Parse manifest and annotations; a file the manifest lists but lacks is an error."""
    source = SafeSource(path)
    name = source.name.removesuffix(".SAFE")
    where = f"{path}"
    matched = NAME.match(name)
    if matched is None:
        kind = name.split("_")[1:3]
        raise ProductError(
            f"{where}: {name} is not a Sentinel-1 IW/EW GRD product ({'_'.join(kind)}); "
            "this reader takes S1?_IW_GRD?_... and S1?_EW_GRD?_... (SLC, OCN, stripmap: not yet)"
        )
    manifest = parse_xml(source, "manifest.safe")
    files = listed_files(source, manifest)
    present = set(source.list())
    for relative in files.values():
        if relative.startswith(("annotation/", "measurement/")) and relative not in present:
            raise ProductError(f"{where}: {relative} is missing (listed in manifest.safe)")
    family = text(manifest, "familyName", where).upper()
    number = text(manifest, "number", where).upper()
    if family != "SENTINEL-1":
        raise ProductError(f"{where}: manifest says platform {family}, not SENTINEL-1")
    orbits = {el.get("type"): int(el.text or 0) for el in find_all(manifest, "orbitNumber")}
    tracks = {el.get("type"): int(el.text or 0) for el in find_all(manifest, "relativeOrbitNumber")}
    processing = [el for el in find_all(manifest, "processing") if el.get("stop")]
    software = [el for el in find_all(manifest, "software") if el.get("name") == "Sentinel-1 IPF"]
    product = S1Product(
        source=source,
        name=name,
        platform=f"sentinel-1{number.lower()}",
        mode=text(manifest, "mode", where).upper(),
        start=_time(text(manifest, "startTime", where)),
        stop=_time(text(manifest, "stopTime", where)),
        orbit_state=text(manifest, "pass", where).lower(),
        absolute_orbit=orbits.get("start", 0),
        relative_orbit=tracks.get("start", 0),
        timeliness=text(manifest, "productTimelinessCategory", where),
        ipf=software[0].get("version", "") if software else "",
        processed=_time(processing[0].get("stop", "")) if processing else _time("1970-01-01"),
        polarisations={},
    )
    if product.mode not in MODES:
        raise ProductError(f"{where}: instrument mode {product.mode}: only IW and EW are read")
    for pol in find_all(manifest, "transmitterReceiverPolarisation"):
        key = (pol.text or "").strip().upper()
        product.polarisations[key] = _polarisation(source, files, key, where)
    if not product.polarisations:
        raise ProductError(f"{where}: manifest lists no polarisation")
    return product


def _pick(files: dict[str, str], folder: str, prefix: str, pol: str, where: str) -> str:
    """The one listed file of a kind (annotation, calibration, noise, measurement) for a pol."""
    pattern = re.compile(rf"^{folder}/{prefix}[^/]*-{pol.lower()}[-.][^/]*$")
    found = sorted(f for f in files.values() if pattern.match(f))
    if len(found) != 1:
        kind = f"{folder}/{prefix}*-{pol.lower()}*"
        raise ProductError(f"{where}: manifest lists {len(found)} files {kind} (expected one)")
    return found[0]


def _polarisation(source: SafeSource, files: dict[str, str], pol: str, where: str) -> Polarisation:
    annotation_path = _pick(files, "annotation", "", pol, where)  # not annotation/*/...
    measurement = _pick(files, "measurement", "", pol, where)
    annotation = parse_xml(source, annotation_path)
    at = f"{where}/{annotation_path}"
    result = Polarisation(
        name=pol,
        measurement=measurement,
        lines=int(text(annotation, "numberOfLines", at)),
        samples=int(text(annotation, "numberOfSamples", at)),
        pixel_spacing=float(text(annotation, "rangePixelSpacing", at)),
    )
    for point in find_all(annotation, "geolocationGridPoint"):
        result.gcps.append(Gcp(*_children(point, GCP_TAGS, float, at)))
    if len(result.gcps) < 4:
        raise ProductError(f"{at}: geolocation grid has {len(result.gcps)} points (need 4+)")
    calibration_path = _pick(files, "annotation/calibration", "calibration", pol, where)
    calibration = parse_xml(source, calibration_path)
    for vector in find_all(calibration, "calibrationVector"):
        result.calibration.append(_vector(vector, "sigmaNought", f"{where}/{calibration_path}"))
    noise_path = _pick(files, "annotation/calibration", "noise", pol, where)
    noise = parse_xml(source, noise_path)
    at = f"{where}/{noise_path}"
    # IPF < 2.9 names the range vectors noiseVector / noiseLut
    for tag, lut in (("noiseRangeVector", "noiseRangeLut"), ("noiseVector", "noiseLut")):
        result.noise_range += [_vector(v, lut, at) for v in find_all(noise, tag)]
    for block in find_all(noise, "noiseAzimuthVector"):
        first_line, last_line, first_sample, last_sample = _children(block, BLOCK_TAGS, int, at)
        result.noise_azimuth.append(
            AzimuthBlock(
                first_line,
                last_line,
                first_sample,
                last_sample,
                lines=_numbers(_child(block, "line", at), "int64"),
                values=_numbers(_child(block, "noiseAzimuthLut", at), "float32"),
            )
        )
    if not result.calibration:
        raise ProductError(f"{where}/{calibration_path}: no calibrationVector")
    if not result.noise_range:
        raise ProductError(f"{at}: no noise range vector")
    return result


def _vector(element: ElementTree.Element, lut: str, where: str) -> Vector:
    pixels = _numbers(_child(element, "pixel", where), "int64")
    values = _numbers(_child(element, lut, where), "float32")
    if pixels.size != values.size or pixels.size == 0:
        raise ProductError(f"{where}: a {lut} vector has {values.size} values, {pixels.size} px")
    return Vector(int(_child(element, "line", where)), pixels, values)
