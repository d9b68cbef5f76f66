"""Sample Sentinel-1 IW GRD products over the sample's Swedish sites, as ESA writes them.

Each product is a real SAFE folder: `manifest.safe` listing every file, the product
annotation with its geolocation grid, calibration (sigmaNought LUT) and noise (range and
azimuth vectors) annotations, and uint16 measurement GeoTIFFs georeferenced by GCPs, so
the sample takes exactly the path of real products (`sdl data add` -> calibration,
noise removal, geocoding). The scene is the same land cover as the Sentinel-2 sample
(`synth.land_cover`), seen in radar: dark calm lakes, bright forest, speckle. A window of
about 6 x 5 km per product keeps generation and ingest to seconds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from pyproj import Transformer
from rasterio.control import GroundControlPoint

from hub.data import synth
from hub.data.sample import SITES, WINDOW_PX, Site, window_origin
from hub.data.sample_s1_xml import (
    Header,
    annotation_xml,
    calibration_xml,
    manifest_xml,
    noise_xml,
)

LINES, SAMPLES = 500, 600  # 10 m pixels: 5 km along track, 6 km across
SPACING = 10.0
GCP_STEP = (100, 120)  # lines, pixels between geolocation grid points
IPF = "003.91"
CAL_A = 660.0  # sigmaNought LUT near range (DN per unit amplitude), as in real IW products
NOISE = 2400.0  # range noise LUT (DN^2) near range: NESZ about -22.6 dB

# sigma0 (dB) per land-cover class (water, forest, open, bare) and polarisation
SIGMA0_DB = {
    "VV": np.array([-21.0, -7.5, -11.0, -5.0]),
    "VH": np.array([-28.0, -13.5, -18.0, -13.0]),
}


@dataclass(frozen=True)
class Pass:
    site: str
    date: str
    platform: str  # S1A or S1C
    orbit_state: str  # ascending or descending
    relative_orbit: int
    windy: bool = False  # wind roughens the lakes: brighter water


# Luleå through the summer (the cloudy dates of the Sentinel-2 sample included); two each
# for Kiruna and Arjeplog
PASSES = (
    Pass("lulea", "2026-06-05", "S1C", "ascending", 102),
    Pass("lulea", "2026-06-17", "S1C", "ascending", 102, windy=True),
    Pass("lulea", "2026-07-11", "S1C", "ascending", 102),
    Pass("lulea", "2026-07-23", "S1C", "ascending", 102),
    Pass("lulea", "2026-08-16", "S1C", "ascending", 102, windy=True),
    Pass("lulea", "2026-08-21", "S1A", "descending", 95),
    Pass("kiruna", "2026-07-14", "S1A", "descending", 22),
    Pass("kiruna", "2026-08-07", "S1A", "descending", 22),
    Pass("arjeplog", "2026-07-02", "S1C", "ascending", 175),
    Pass("arjeplog", "2026-08-19", "S1C", "ascending", 175),
)


@dataclass(frozen=True)
class Geometry:
    """The swath window: line/pixel -> UTM metres of the site's zone (an affine map)."""

    origin: tuple[float, float]  # UTM of line 0, pixel 0
    along: tuple[float, float]  # metres per line
    across: tuple[float, float]  # metres per pixel

    def utm(self, line: np.ndarray, pixel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = self.origin[0] + line * self.along[0] + pixel * self.across[0]
        y = self.origin[1] + line * self.along[1] + pixel * self.across[1]
        return x, y


def swath(site: Site, orbit_state: str) -> Geometry:
    """Ascending: flying north-north-west, looking east; descending: south-south-west,
    looking west (Sentinel-1 looks right). Line 0 is the first acquired."""
    east, north = Transformer.from_crs(4326, site.epsg, always_xy=True).transform(
        site.lon, site.lat
    )
    heading = np.deg2rad(-12.0 if orbit_state == "ascending" else 192.0)
    along = (SPACING * np.sin(heading), SPACING * np.cos(heading))
    across = (along[1], -along[0])  # 90 degrees to the right of the track
    centre = (LINES / 2, SAMPLES / 2)
    origin = (
        east - centre[0] * along[0] - centre[1] * across[0],
        north - centre[0] * along[1] - centre[1] * across[1],
    )
    return Geometry(origin, along, across)


def names(p: Pass, site: Site) -> tuple[str, dt.datetime, dt.datetime, int]:
    """(SAFE name without suffix, start, stop, absolute orbit) of a pass."""
    day = dt.date.fromisoformat(p.date)
    hour = 16 if p.orbit_state == "ascending" else 5
    start = dt.datetime(day.year, day.month, day.day, hour, 10 + site.orbit % 40, 3, tzinfo=dt.UTC)
    stop = start + dt.timedelta(seconds=25)
    cycle = (day - dt.date(2026, 1, 1)).days // 12
    absolute = (62000 if p.platform == "S1A" else 5000) + cycle * 175 + p.relative_orbit
    datatake = int(hashlib.sha1(f"{p.platform}{absolute}".encode()).hexdigest()[:5], 16)
    stamp = f"{start:%Y%m%dT%H%M%S}_{stop:%Y%m%dT%H%M%S}_{absolute:06d}_{datatake:06X}"
    unique = hashlib.sha1(stamp.encode()).hexdigest()[:4].upper()
    return f"{p.platform}_IW_GRDH_1SDV_{stamp}_{unique}", start, stop, absolute


def sigma0_scene(p: Pass, site: Site, geometry: Geometry) -> dict[str, np.ndarray]:
    """Linear sigma0 per polarisation on the swath's pixels, with speckle (ENL 4.4)."""
    classes = synth.land_cover(site.name, WINDOW_PX, site.water_share)
    ulx, uly = window_origin(site)
    line, pixel = np.mgrid[0:LINES, 0:SAMPLES].astype(np.float64)
    x, y = geometry.utm(line, pixel)
    col = np.clip(((x - ulx) / 10).astype(int), 0, WINDOW_PX - 1)
    row = np.clip(((uly - y) / 10).astype(int), 0, WINDOW_PX - 1)
    cover = classes[row, col]
    rng = np.random.default_rng(synth.seed_of("s1", p.site, p.date))
    out = {}
    for pol, table in SIGMA0_DB.items():
        db = table[cover].copy()
        if p.windy:
            db[cover == synth.WATER] += 7.0  # wind-roughened water: bright, confusable
        db += rng.normal(0, 0.4)  # the day's moisture
        speckle = rng.gamma(4.4, 1 / 4.4, size=db.shape)
        out[pol] = (10 ** (db / 10) * speckle).astype(np.float32)
    return out


def calibration_lut(pixels: np.ndarray) -> np.ndarray:
    """sigmaNought amplitude across range, falling slightly as real IW LUTs do."""
    return (CAL_A - 0.02 * pixels).astype(np.float32)


def noise_lut(pixels: np.ndarray) -> np.ndarray:
    """Range noise power, falling towards far range."""
    return (NOISE * (1 - 0.2 * pixels / SAMPLES)).astype(np.float32)


def write_product(out: Path, p: Pass) -> Path:
    """One SAFE folder (temp name, then rename: never a half-written product)."""
    site = {s.name: s for s in SITES}[p.site]
    name, start, stop, absolute = names(p, site)
    final = out / f"{name}.SAFE"
    if final.exists():
        return final
    tmp = out / f".{final.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    geometry = swath(site, p.orbit_state)
    to_geo = Transformer.from_crs(site.epsg, 4326, always_xy=True)
    grid_lines = [*np.arange(0, LINES, GCP_STEP[0]).tolist(), LINES - 1]
    grid_pixels = [*np.arange(0, SAMPLES, GCP_STEP[1]).tolist(), SAMPLES - 1]
    gcps: list[tuple[float, ...]] = []
    for line in grid_lines:
        for pixel in grid_pixels:
            x, y = geometry.utm(np.array(line), np.array(pixel))
            lon, lat = to_geo.transform(float(x), float(y))
            gcps.append((line, pixel, lon, lat, 0.0))
    scene = sigma0_scene(p, site, geometry)
    pixels = np.arange(SAMPLES, dtype=np.float64)
    amplitude = calibration_lut(pixels)[None, :]
    power = noise_lut(pixels)[None, :]
    files: dict[str, bytes] = {}
    rng = np.random.default_rng(synth.seed_of("s1-noise", p.site, p.date))
    for number, pol in enumerate(("VV", "VH"), start=1):
        stem = (
            f"{p.platform.lower()}-iw-grd-{pol.lower()}-{start:%Y%m%dt%H%M%S}-"
            f"{stop:%Y%m%dt%H%M%S}-{absolute:06d}-{name.split('_')[7].lower()}-{number:03d}"
        )
        # what the instrument measured: signal plus thermal noise, as DN = sqrt(power)
        measured = scene[pol] * amplitude**2 + power * rng.exponential(1.0, scene[pol].shape)
        dn = np.clip(np.rint(np.sqrt(measured)), 1, 65535).astype(np.uint16)
        measurement = tmp / "measurement" / f"{stem}.tiff"
        write_measurement(measurement, dn, gcps)
        files[f"measurement/{stem}.tiff"] = measurement.read_bytes()
        header = Header(p.platform, pol, start, stop)
        files[f"annotation/{stem}.xml"] = annotation_xml(
            header,
            absolute=absolute,
            lines=LINES,
            samples=SAMPLES,
            spacing=SPACING,
            gcps=gcps,
            orbit_state=p.orbit_state,
        ).encode()
        vector_lines = [*list(range(0, LINES, 100)), LINES - 1]
        lut_pixels = [*np.arange(0, SAMPLES, 40).tolist(), SAMPLES - 1]
        files[f"annotation/calibration/calibration-{stem}.xml"] = calibration_xml(
            header, lines=vector_lines, pixels=lut_pixels, sigma=calibration_lut
        ).encode()
        files[f"annotation/calibration/noise-{stem}.xml"] = noise_xml(
            header, lines=vector_lines, pixels=lut_pixels, noise=noise_lut, size=(LINES, SAMPLES)
        ).encode()
    for relative, data in files.items():
        target = tmp / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            target.write_bytes(data)
    (tmp / "manifest.safe").write_text(
        manifest_xml(
            platform=p.platform,
            start=start,
            stop=stop,
            absolute=absolute,
            relative=p.relative_orbit,
            orbit_state=p.orbit_state,
            ipf=IPF,
            files=files,
            footprint=[gcps[0], gcps[len(grid_pixels) - 1], gcps[-1], gcps[-len(grid_pixels)]],
        )
    )
    for folder in ("preview", "support"):
        (tmp / folder).mkdir(exist_ok=True)
    tmp.rename(final)
    return final


def write_measurement(path: Path, dn: np.ndarray, gcps: list[tuple[float, ...]]) -> None:
    """uint16 GeoTIFF with the geolocation grid as GCPs (EPSG:4326), as ESA ships it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    points = [GroundControlPoint(row=g[0], col=g[1], x=g[2], y=g[3], z=g[4]) for g in gcps]
    profile = {
        "driver": "GTiff",
        "width": dn.shape[1],
        "height": dn.shape[0],
        "count": 1,
        "dtype": "uint16",
        "gcps": points,
        "crs": "EPSG:4326",
    }
    with rasterio.Env(GDAL_PAM_ENABLED="NO"), rasterio.open(path, "w", **profile) as dst:
        dst.write(dn, 1)


def generate(out: Path) -> list[Path]:
    """Write every sample pass into `out` (existing products are kept); return the SAFEs."""
    out.mkdir(parents=True, exist_ok=True)
    return [write_product(out, p) for p in PASSES]
