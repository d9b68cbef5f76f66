"""Real Sentinel-1 fixtures for the tests: read independently (plain ElementTree paths,
not the reader's code) and rebuilt with measurement TIFFs on their own GCP grid.

The fixtures' measurement files are empty in their source repository. `rebuild` writes
deterministic ones, either at full size or reduced by an integer factor; a reduced
product has every line/pixel number of its annotations divided alike (the LUT values,
coordinates and times stay the real ones), so it is the real product's geometry seen
at a coarser pixel.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import rasterio
from rasterio.control import GroundControlPoint

REAL = Path(__file__).parents[1] / "data" / "real" / "sentinel-1"
IW = REAL / "S1A_IW_GRDH_1SDV_20210809T173953_20210809T174018_039156_049F13_6FF8.zip"
EW = REAL / "S1A_EW_GRDM_1SDH_20221130T014342_20221130T014446_046117_058549_BB15.zip"
RTC = REAL / "rtc" / "S1A_20200103_17RMJ_ASC.json"  # AWS Sentinel-1 RTC (Indigo), gamma0 COGs
STRIPMAP = REAL / "S1C_S4_GRDH_1SDH_20250118T171404_20250118T171421_000638_000538_4B8B.zip"

SAFE = "{http://www.esa.int/safe/sentinel-1.0}"
S1 = "{http://www.esa.int/safe/sentinel-1.0/sentinel-1}"
S1SARL1 = "{http://www.esa.int/safe/sentinel-1.0/sentinel-1/sar/level-1}"


def extract(zipped: Path, out: Path) -> Path:
    with zipfile.ZipFile(zipped) as archive:
        archive.extractall(out)
        top = archive.namelist()[0].split("/")[0]
    return out / top


def files_of(safe: Path, kind: str, pol: str) -> Path:
    """The file of a kind for a polarisation, found by globbing (not the manifest)."""
    patterns = {
        "annotation": "annotation/*.xml",
        "calibration": "annotation/calibration/calibration-*.xml",
        "noise": "annotation/calibration/noise-*.xml",
        "measurement": "measurement/*.tiff",
    }
    (found,) = [p for p in safe.glob(patterns[kind]) if f"-{pol.lower()}" in p.name]
    return found


@dataclass
class Expected:
    """What the XML says, read with explicit ElementTree paths."""

    platform: str
    mode: str
    orbit_state: str
    absolute_orbit: int
    relative_orbit: int
    timeliness: str
    ipf: str
    polarisations: list[str]
    size: dict[str, tuple[int, int]]  # lines, samples
    gcps: dict[str, list[tuple[float, float, float, float]]]  # line, pixel, lon, lat


def expected(safe: Path) -> Expected:
    manifest = ElementTree.parse(safe / "manifest.safe").getroot()
    wrap = ".//metadataObject[@ID='{}']/metadataWrap/xmlData"
    platform = manifest.find(wrap.format("platform") + f"/{SAFE}platform")
    orbit = manifest.find(wrap.format("measurementOrbitReference") + f"/{SAFE}orbitReference")
    info = manifest.find(
        wrap.format("generalProductInformation") + f"/{S1SARL1}standAloneProductInformation"
    )
    assert platform is not None and orbit is not None and info is not None
    software = manifest.find(f".//{SAFE}processing/{SAFE}facility/{SAFE}software")
    assert software is not None
    pols = [el.text or "" for el in info.findall(f"{S1SARL1}transmitterReceiverPolarisation")]
    size, gcps = {}, {}
    for pol in pols:
        root = ElementTree.parse(files_of(safe, "annotation", pol)).getroot()
        image = root.find("imageAnnotation/imageInformation")
        assert image is not None
        size[pol] = (
            int(image.findtext("numberOfLines", "")),
            int(image.findtext("numberOfSamples", "")),
        )
        gcps[pol] = [
            tuple(float(p.findtext(tag, "")) for tag in ("line", "pixel", "longitude", "latitude"))
            for p in root.findall("geolocationGrid/geolocationGridPointList/geolocationGridPoint")
        ]
    return Expected(
        platform="sentinel-1" + (platform.findtext(f"{SAFE}number") or "").lower(),
        mode=platform.findtext(f".//{S1SARL1}mode") or "",
        orbit_state=(orbit.findtext(f".//{S1}pass") or "").lower(),
        absolute_orbit=int(orbit.findtext(f"{SAFE}orbitNumber[@type='start']") or 0),
        relative_orbit=int(orbit.findtext(f"{SAFE}relativeOrbitNumber[@type='start']") or 0),
        timeliness=info.findtext(f"{S1SARL1}productTimelinessCategory") or "",
        ipf=software.get("version", ""),
        polarisations=pols,
        size=size,
        gcps=gcps,  # type: ignore[arg-type]
    )


def luts(safe: Path, pol: str) -> dict[str, list[tuple[int, np.ndarray, np.ndarray]]]:
    """(line, pixels, values) of the sigmaNought and range-noise vectors, and the azimuth
    noise blocks as (first_line, last_line, first_sample, last_sample, lines, values)."""
    cal = ElementTree.parse(files_of(safe, "calibration", pol)).getroot()
    noise = ElementTree.parse(files_of(safe, "noise", pol)).getroot()

    def vec(el: ElementTree.Element, lut: str) -> tuple[int, np.ndarray, np.ndarray]:
        pixels = np.array((el.findtext("pixel") or "").split(), dtype=float)
        return (
            int(el.findtext("line") or 0),
            pixels,
            np.array((el.findtext(lut) or "").split(), float),
        )

    out = {
        "sigma": [
            vec(v, "sigmaNought") for v in cal.findall("calibrationVectorList/calibrationVector")
        ],
        "range": [
            vec(v, "noiseRangeLut") for v in noise.findall("noiseRangeVectorList/noiseRangeVector")
        ],
        "azimuth": [
            (
                int(v.findtext("firstAzimuthLine") or 0),
                int(v.findtext("lastAzimuthLine") or 0),
                int(v.findtext("firstRangeSample") or 0),
                int(v.findtext("lastRangeSample") or 0),
                np.array((v.findtext("line") or "").split(), dtype=float),
                np.array((v.findtext("noiseAzimuthLut") or "").split(), dtype=float),
            )
            for v in noise.findall("noiseAzimuthVectorList/noiseAzimuthVector")
        ],
    }
    return out  # type: ignore[return-value]


def by_hand(vectors: list[tuple[int, np.ndarray, np.ndarray]], line: float, pixel: float) -> float:
    """A LUT at (line, pixel): linear along each vector's pixels, then between lines."""
    rows = sorted(vectors, key=lambda v: v[0])
    lines = [v[0] for v in rows]
    upper = min(max(int(np.searchsorted(lines, line, side="right")), 1), len(lines) - 1)
    lo, hi = rows[upper - 1], rows[upper]
    a = float(np.interp(pixel, lo[1], lo[2]))
    b = float(np.interp(pixel, hi[1], hi[2]))
    weight = min(max((line - lo[0]) / (hi[0] - lo[0]), 0.0), 1.0)
    return a * (1 - weight) + b * weight


# -- rebuilding measurements ---------------------------------------------------------------
def _scale_text(el: ElementTree.Element | None, factor: int, last: bool = False) -> None:
    if el is None or el.text is None:
        return
    values = [round(float(v)) for v in el.text.split()]
    el.text = " ".join(str((v + (1 if last else 0)) // factor - (1 if last else 0)) for v in values)


def _reduce_xml(path: Path, factor: int) -> None:
    """Divide every line/pixel number of an annotation by `factor` (values unchanged)."""
    tree = ElementTree.parse(path)
    root = tree.getroot()
    for tag in ("numberOfLines", "numberOfSamples"):
        for el in root.iter(tag):
            el.text = str(int(el.text or 0) // factor)
    for el in root.iter("rangePixelSpacing"):
        el.text = str(float(el.text or 0) * factor)
    for parent in ("geolocationGridPoint", "calibrationVector", "noiseRangeVector", "noiseVector"):
        for vector in root.iter(parent):
            _scale_text(vector.find("line"), factor)
            _scale_text(vector.find("pixel"), factor)
    for block in root.iter("noiseAzimuthVector"):
        for tag in ("firstAzimuthLine", "firstRangeSample", "line"):
            _scale_text(block.find(tag), factor)
        for tag in ("lastAzimuthLine", "lastRangeSample"):
            _scale_text(block.find(tag), factor, last=True)
    tree.write(path, xml_declaration=True, encoding="UTF-8")


def dn_field(lines: int, samples: int) -> np.ndarray:
    """Deterministic, smooth digital numbers (60..260) with a 2-pixel no-data border."""
    y, x = np.mgrid[0:lines, 0:samples].astype(np.float32)
    field = 160 + 100 * np.sin(x / max(samples, 1) * 7.0) * np.cos(y / max(lines, 1) * 5.0)
    dn = np.rint(field).astype(np.uint16)
    dn[:2, :] = dn[-2:, :] = dn[:, :2] = dn[:, -2:] = 0
    return dn


def rebuild(zipped: Path, out: Path, factor: int = 1) -> Path:
    """The real product with measurement TIFFs written on its own geolocation grid."""
    safe = extract(zipped, out)
    if factor > 1:
        for xml in safe.glob("annotation/**/*.xml"):
            if "/rfi/" not in xml.as_posix():
                _reduce_xml(xml, factor)
    info = expected(safe)
    for pol in info.polarisations:
        lines, samples = info.size[pol]
        gcps = [
            GroundControlPoint(row=line, col=pixel, x=lon, y=lat)
            for line, pixel, lon, lat in info.gcps[pol]
        ]
        profile = {
            "driver": "GTiff",
            "width": samples,
            "height": lines,
            "count": 1,
            "dtype": "uint16",
            "gcps": gcps,
            "crs": "EPSG:4326",
            "tiled": True,
            "compress": "deflate",
        }
        with rasterio.open(files_of(safe, "measurement", pol), "w", **profile) as dst:
            dst.write(dn_field(lines, samples), 1)
    return safe
