"""The Sentinel-3 part of the sample cube: a daily OLCI series over Hornavan (Arjeplog).

Small `.SEN3` products written as ESA writes them (`s3_write`): a 60 km crop of a
descending swath (200 x 200 pixels at 300 m, a little rotated and shifted every day, as
the real ground track is), Level-1 EFR radiances and Level-2 WFR water products with
their quality flags. The lake, the land and the clouds are functions of the map
position, so the days agree where they overlap; the lake's chlorophyll rises to a bloom
in the middle of the series. Everything is deterministic.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
from pyproj import Transformer

from hub.data.s3_products import EFR, OLCI_L1_INVALID, OLCI_WAVELENGTHS, WFR, S3Product
from hub.data.s3_write import ManifestFacts, manifest_xml, write_measurements

SITE = ("hornavan", 17.55, 66.17)  # the lake at Arjeplog (a site of the Sentinel-2 sample)
SIZE = 200  # pixels across and along the track, 300 m apart
DAYS = tuple(dt.date(2026, 7, day) for day in range(1, 7))  # WFR every day
EFR_DAYS = (DAYS[1], DAYS[4])  # Level-1 on two of them: enough for a picture, and fast
CLOUDY = {dt.date(2026, 7, 3): 0.7, dt.date(2026, 7, 6): 0.25}  # share of the crop
GRID = "EPSG:3006"
WAVELENGTHS = np.array(list(OLCI_WAVELENGTHS.values()), dtype="float32")
# WQSF bits (satpy's WQSF_FLAG_LIST): INVALID 0, WATER 1, LAND 2, CLOUD 3, INLAND_WATER 5
WQSF = {"WATER": 1 << 1, "LAND": 1 << 2, "CLOUD": 1 << 3, "INLAND_WATER": 1 << 5}
L1_BRIGHT, L1_LAND, L1_FRESH_WATER = 1 << 27, 1 << 31, 1 << 29


def swath(day: dt.date) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Map x/y (EPSG:3006) and lat/lon of the day's pixels: a rotated, shifted grid."""
    n = (day - DAYS[0]).days
    cx, cy = Transformer.from_crs(4326, GRID, always_xy=True).transform(SITE[1], SITE[2])
    heading = math.radians(-13 + 2.5 * ((n * 7) % 5))  # ground track towards SSW
    shift = 4000.0 * ((n * 3) % 5 - 2)
    rows, cols = np.mgrid[0:SIZE, 0:SIZE].astype("float64")
    across = (cols - SIZE / 2) * 300.0 + shift
    along = (rows - SIZE / 2) * 300.0  # rows run southwards (descending pass)
    x = cx + across * math.cos(heading) + along * math.sin(heading)
    y = cy + across * math.sin(heading) - along * math.cos(heading)
    lon, lat = Transformer.from_crs(GRID, 4326, always_xy=True).transform(x, y)
    return x, y, lat, lon


def lake(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Hornavan as an ellipse, 60 km long and about 5 km wide, from north-west to south-east."""
    cx, cy = Transformer.from_crs(4326, GRID, always_xy=True).transform(SITE[1], SITE[2])
    angle = math.radians(-35)
    u = (x - cx) * math.cos(angle) + (y - cy) * math.sin(angle)
    v = -(x - cx) * math.sin(angle) + (y - cy) * math.cos(angle)
    wiggle = 600 * np.sin(u / 4000)
    return (u / 30000) ** 2 + ((v - wiggle) / 2600) ** 2 < 1


def clouds(x: np.ndarray, y: np.ndarray, day: dt.date) -> np.ndarray:
    share = CLOUDY.get(day, 0.0)
    if not share:
        return np.zeros(x.shape, dtype=bool)
    n = day.toordinal()
    field = np.sin(x / 9000 + n) + np.cos(y / 7000 - 2 * n) + 0.5 * np.sin((x + y) / 3000)
    return field > np.quantile(field, 1 - share)


def chlorophyll(day: dt.date) -> float:
    """log10 chl (mg m-3) in the lake: a bloom peaking on the fifth day."""
    n = (day - DAYS[0]).days
    return float(np.log10(1.5 + 6.0 * math.exp(-(((n - 4) / 1.6) ** 2))))


def surface(x: np.ndarray, y: np.ndarray, day: dt.date) -> dict[str, np.ndarray]:
    """Per-pixel masks and fields every band is made from."""
    water = lake(x, y)
    cloud = clouds(x, y, day)
    texture = 0.5 + 0.5 * np.sin(x / 2100) * np.cos(y / 1700)
    return {"water": water, "cloud": cloud, "texture": texture}


def reflectance(fields: dict[str, np.ndarray], day: dt.date) -> np.ndarray:
    """Surface reflectance per OLCI band, (band, row, col): forest, lake, cloud."""
    wl = WAVELENGTHS[:, None, None]
    red_edge = 1 / (1 + np.exp(-(wl - 715) / 12))
    forest = 0.03 + 0.03 * np.exp(-(((wl - 555) / 30) ** 2)) + 0.3 * red_edge
    forest = forest * (0.85 + 0.3 * fields["texture"])
    chl = 10 ** chlorophyll(day)
    water = 0.012 + 0.004 * chl * np.exp(-(((wl - 560) / 40) ** 2)) - 0.01 * red_edge
    water = np.clip(water, 0.001, None) * np.ones_like(forest)
    out = np.where(fields["water"], water, forest)
    return np.where(fields["cloud"], 0.75, out).astype("float32")


def efr_values(fields: dict[str, np.ndarray], day: dt.date) -> dict[str, np.ndarray]:
    """TOA radiance (W m-2 sr-1 um-1): the sun at 45 degrees, plus path radiance."""
    rho = reflectance(fields, day)
    e0 = (1900 - 0.9 * (WAVELENGTHS - 400))[:, None, None]
    path = (60 * (400 / WAVELENGTHS) ** 4)[:, None, None]
    radiance = rho * e0 * math.cos(math.radians(45)) / math.pi + path
    values = {code: radiance[i] for i, code in enumerate(OLCI_WAVELENGTHS)}
    flags = np.where(fields["water"], L1_FRESH_WATER, L1_LAND).astype("uint32")
    flags |= np.where(fields["cloud"], L1_BRIGHT, 0).astype("uint32")
    values["quality_flags"] = flags
    return values


def wfr_values(fields: dict[str, np.ndarray], day: dt.date) -> dict[str, np.ndarray]:
    """Water-leaving reflectance and water products over clear water; flags everywhere."""
    rho = reflectance(fields, day)
    clear_water = fields["water"] & ~fields["cloud"]
    values: dict[str, np.ndarray] = {}
    for i, code in enumerate(OLCI_WAVELENGTHS):
        if code in {band.name for band in WFR.bands}:
            values[code] = np.where(clear_water, rho[i], np.nan)
    chl = chlorophyll(day) + 0.05 * (fields["texture"] - 0.5)
    for name, value in (("chl_nn", chl), ("tsm_nn", 0.2 + 0.5 * chl), ("iop_nn", -1.2 + 0.4 * chl)):
        values[name] = np.where(clear_water, value, np.nan)
    values["kd490"] = np.where(clear_water, -0.6 + 0.3 * chl, np.nan)
    values["t865"] = np.where(~fields["cloud"], 0.08 + 0.02 * fields["texture"], np.nan)
    flags = np.where(fields["water"], WQSF["WATER"] | WQSF["INLAND_WATER"], WQSF["LAND"])
    flags = np.where(fields["cloud"], flags | WQSF["CLOUD"], flags)
    values["wqsf"] = flags.astype("uint64")
    return values


def product_name(product: S3Product, day: dt.date, platform: str) -> tuple[str, dt.datetime]:
    start = dt.datetime(day.year, day.month, day.day, 9, 58, 12, tzinfo=dt.UTC)
    stop = start + dt.timedelta(seconds=180)
    created = start + dt.timedelta(hours=2)
    n = (day - DAYS[0]).days
    relative = 8 + 14 * n % 385  # a 27-day repeat cycle of 385 orbits
    centre = "MAR" if product is WFR else "LN1"
    stamp = "%Y%m%dT%H%M%S"
    name = (
        f"S3{platform}_{product.product_type.ljust(11, '_')}_"
        f"{start.strftime(stamp)}_{stop.strftime(stamp)}_{created.strftime(stamp)}_0180_"
        f"{140 + n:03d}_{relative:03d}_1980_{centre}_O_NT_004"
    )
    return name, start


def write_product(out: Path, product: S3Product, day: dt.date) -> Path:
    """One .SEN3 folder (a temporary name, then renamed: never half-written)."""
    n = (day - DAYS[0]).days
    platform = "AB"[n % 2]
    name, start = product_name(product, day, platform)
    final = out / f"{name}.SEN3"
    if final.exists():
        return final
    tmp = out / f".{name}.SEN3.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    x, y, lat, lon = swath(day)
    fields = surface(x, y, day)
    values = efr_values(fields, day) if product is EFR else wfr_values(fields, day)
    attrs = {"product_name": f"{name}.SEN3", "start_time": start.isoformat()}
    files = write_measurements(tmp, product, lat, lon, values, attrs)
    edge = [(0, c) for c in range(0, SIZE, 50)] + [(r, SIZE - 1) for r in range(0, SIZE, 50)]
    edge += [(SIZE - 1, c) for c in range(SIZE - 1, 0, -50)] + [
        (r, 0) for r in range(SIZE - 1, 0, -50)
    ]
    ring = [(float(lat[r, c]), float(lon[r, c])) for r, c in edge]
    facts = ManifestFacts(
        name=name,
        product=product,
        platform=platform,
        timeliness="NT",
        baseline="004",
        start=start,
        stop=start + dt.timedelta(seconds=180),
        created=start + dt.timedelta(hours=2),
        absolute_orbit=43000 + 14 * n,
        relative_orbit=int(name.split("_")[-6]),
        orbit_state="descending",
        frame=1980,
        footprint=[*ring, ring[0]],
        shape=(SIZE, SIZE),
    )
    (tmp / "xfdumanifest.xml").write_text(manifest_xml(facts, tmp, files))
    tmp.rename(final)
    return final


def generate(out: Path, progress: Callable[[str], None] | None = None) -> list[Path]:
    """Write the Sentinel-3 sample into `out` (existing products are kept)."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for day in DAYS:
        for product in (EFR, WFR) if day in EFR_DAYS else (WFR,):
            path = write_product(out, product, day)
            written.append(path)
            if progress:
                progress(path.name)
    return written


# the flags the sample sets, for tests and notebooks
__all__ = ["DAYS", "EFR_DAYS", "OLCI_L1_INVALID", "SITE", "WQSF", "generate", "lake"]
