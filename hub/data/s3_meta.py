"""The metadata of a Sentinel-3 product: its `xfdumanifest.xml`, as ESA writes it.

A product is a `.SEN3` folder (or a `.zip` holding one, as the Copernicus Data Space
serves them): one netCDF file per variable, listed in the manifest's `dataObjectSection`,
and the manifest with platform, product type, timeliness, orbit and the footprint
(`gml:posList`, latitude/longitude pairs). Only the manifest is read here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from hub.data.eo3 import ProductError
from hub.data.product_files import ProductSource

MANIFEST = "xfdumanifest.xml"
NS = {
    "xfdu": "urn:ccsds:schema:xfdu:1",
    "safe": "http://www.esa.int/safe/sentinel/1.1",
    "s3": "http://www.esa.int/safe/sentinel/sentinel-3/1.0",
    "gml": "http://www.opengis.net/gml",
}


@dataclass(frozen=True)
class Manifest:
    """What the index needs from an xfdumanifest.xml."""

    name: str  # S3A_OL_1_EFR____20211021T073827_..._NR_002 (no .SEN3)
    product_type: str  # OL_1_EFR (ESA pads it with underscores: OL_1_EFR___)
    platform: str  # sentinel-3a
    instrument: str  # OLCI, SLSTR
    timeliness: str  # NR (near real time), ST (short time critical), NT (non time critical)
    baseline: str  # the baseline collection, e.g. 002
    start: dt.datetime
    stop: dt.datetime
    created: dt.datetime
    absolute_orbit: int
    relative_orbit: int
    orbit_state: str  # ascending, descending
    frame: int | None  # along-track coordinate of a frame product
    footprint: list[tuple[float, float]]  # (lat, lon), as posList lists them
    shape: tuple[int, int]  # rows, columns of the (nadir) image
    files: dict[str, str]  # dataObject ID -> file name inside the product


def _time(value: str, where: str) -> dt.datetime:
    try:
        if "-" in value:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        else:  # creationTime: 20211021T091357
            parsed = dt.datetime.strptime(value, "%Y%m%dT%H%M%S")
    except ValueError as exc:
        raise ProductError(f"{where}: {value!r} is not a time") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _text(root: ElementTree.Element, path: str, where: str) -> str:
    found = root.find(path, NS)
    if found is None or not (found.text or "").strip():
        tag = path.rsplit("/", 1)[-1]
        raise ProductError(f"{where}: the manifest lacks <{tag}>")
    return (found.text or "").strip()


def _image_shape(root: ElementTree.Element, where: str) -> tuple[int, int]:
    """The first image size the manifest gives: OLCI's imageSize, SLSTR's nadir one."""
    for size in root.iter():
        if size.tag.rsplit("}", 1)[-1] in ("imageSize", "nadirImageSize"):
            rows, cols = size.find("s3:rows", NS), size.find("s3:columns", NS)
            if rows is not None and cols is not None:
                return int(rows.text or 0), int(cols.text or 0)
    raise ProductError(f"{where}: the manifest gives no image size (rows, columns)")


def parse_manifest(data: bytes, where: str) -> Manifest:
    """Parse an xfdumanifest.xml; a missing field is an error naming it."""
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise ProductError(f"{where}: not well-formed XML ({exc})") from exc
    meta = ".//metadataSection/metadataObject"
    general = f"{meta}/metadataWrap/xmlData/s3:generalProductInformation"
    platform = f"{meta}/metadataWrap/xmlData/safe:platform"
    orbit = f"{meta}/metadataWrap/xmlData/safe:orbitReference"
    family = _text(root, f"{platform}/safe:familyName", where)
    number = _text(root, f"{platform}/safe:number", where)
    if family.lower() != "sentinel-3":
        raise ProductError(f"{where}: platform {family} is not Sentinel-3")
    instrument = root.find(f"{platform}/safe:instrument/safe:familyName", NS)
    if instrument is None or not instrument.get("abbreviation"):
        raise ProductError(f"{where}: the manifest names no instrument")
    absolute = root.find(f"{orbit}/safe:orbitNumber", NS)
    if absolute is None:
        raise ProductError(f"{where}: the manifest lacks <orbitNumber>")
    frame = root.find(f"{general}/s3:productUnit/s3:alongtrackCoordinate", NS)
    numbers = [float(v) for v in _text(root, ".//safe:footPrint/gml:posList", where).split()]
    if len(numbers) < 6 or len(numbers) % 2:
        raise ProductError(f"{where}: the footprint's posList is not a ring of lat/lon pairs")
    files = {}
    for obj in root.iterfind(".//dataObjectSection/dataObject"):
        location = obj.find("byteStream/fileLocation")
        if location is not None and location.get("href"):
            files[str(obj.get("ID"))] = str(location.get("href")).removeprefix("./")
    acquisition = f"{meta}/metadataWrap/xmlData/safe:acquisitionPeriod"
    return Manifest(
        name=_text(root, f"{general}/s3:productName", where).removesuffix(".SEN3"),
        product_type=_text(root, f"{general}/s3:productType", where).rstrip("_"),
        platform=f"sentinel-3{number.lower()}",
        instrument=str(instrument.get("abbreviation")),
        timeliness=_text(root, f"{general}/s3:timeliness", where),
        baseline=_text(root, f"{general}/s3:baselineCollection", where),
        start=_time(_text(root, f"{acquisition}/safe:startTime", where), where),
        stop=_time(_text(root, f"{acquisition}/safe:stopTime", where), where),
        created=_time(_text(root, f"{general}/s3:creationTime", where), where),
        absolute_orbit=int(absolute.text or 0),
        relative_orbit=int(_text(root, f"{orbit}/safe:relativeOrbitNumber", where)),
        orbit_state=str(absolute.get("groundTrackDirection", "")),
        frame=int(frame.text) if frame is not None and frame.text else None,
        footprint=list(zip(numbers[0::2], numbers[1::2], strict=True)),
        shape=_image_shape(root, where),
        files=files,
    )


class Sen3Source(ProductSource):
    """A `.SEN3` folder, or a zip holding one: listing, reading, unpacking."""

    suffix = ".SEN3"

    def folder(self, scratch: Path) -> Path:
        """The product as a folder satpy can read: itself, or unpacked into `scratch`."""
        if self.zip is None:
            return self.path
        for member in self.zip.namelist():
            if member.startswith(self.prefix) and not member.endswith("/"):
                relative = Path(member).relative_to(self.prefix)
                if ".." in relative.parts:
                    raise ProductError(f"{self.path}: member {member!r} leaves the product")
                target = scratch / self.name / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(self.zip.read(member))
        return scratch / self.name


def is_sen3(path: Path) -> bool:
    """A .SEN3 folder (with its manifest) or a zip named like one."""
    if path.is_dir():
        return path.suffix == ".SEN3" or (path / MANIFEST).is_file()
    return path.is_file() and path.name.lower().endswith(".sen3.zip")


def read_manifest(path: Path) -> tuple[Sen3Source, Manifest]:
    source = Sen3Source(path)
    return source, parse_manifest(source.read(MANIFEST), f"{path}/{MANIFEST}")
