"""`sdl data sample`: a small, deterministic Sentinel-2 archive over northern Sweden.

Real SAFE folders (JP2 bands, MTD_MSIL1C/2A.xml, GRANULE/<id>/MTD_TL.xml) so the sample
goes through exactly the path real downloads take (`sdl data add`). Each product is a
4.8 km window of its tile (480 x 480 px at 10 m): generation and indexing of the whole
set take seconds, yet the pictures (NDVI, cloud masks, composites) look right.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import rasterio
from pyproj import Transformer
from rasterio.transform import from_origin

from hub.data import synth
from hub.data.bands import bands_for

WINDOW_PX = 480  # at 10 m: 4.8 km
BASELINE = "05.11"  # since 04.00 the digital numbers carry a +1000 offset
OFFSET = 1000


@dataclass(frozen=True)
class Site:
    name: str
    lon: float
    lat: float
    epsg: int
    water_share: float
    orbit: int
    nodata_corner: bool = False


SITES = (
    Site("lulea", 22.15, 65.58, 32634, 0.35, 108),  # town, archipelago, forest
    Site("kiruna", 20.23, 67.85, 32634, 0.15, 22),  # lakes, mine, fjäll birch
    Site("arjeplog", 17.89, 66.05, 32633, 0.3, 65, nodata_corner=True),  # UTM 33N
)
# (site, date, platform, cloud share): a summer season with clear and cloudy days
ACQUISITIONS = (
    ("lulea", "2026-06-12", "S2B", 0.05),
    ("lulea", "2026-07-07", "S2C", 0.35),
    ("lulea", "2026-07-27", "S2B", 0.0),
    ("lulea", "2026-08-21", "S2C", 0.6),
    ("kiruna", "2026-06-20", "S2C", 0.1),
    ("kiruna", "2026-07-15", "S2B", 0.0),
    ("kiruna", "2026-08-09", "S2C", 0.25),
    ("kiruna", "2026-09-03", "S2B", 0.4),
    ("arjeplog", "2026-07-01", "S2B", 0.15),
    ("arjeplog", "2026-08-15", "S2C", 0.0),
)
LEVELS = ("L1C", "L2A")


def mgrs_tile(lon: float, lat: float, epsg: int) -> str:
    """The MGRS 100 km square (Sentinel-2 tile id) holding a point, e.g. 34WFS."""
    zone = epsg % 100
    east, north = Transformer.from_crs(4326, epsg, always_xy=True).transform(lon, lat)
    band = "CDEFGHJKLMNPQRSTUVWX"[int((lat + 80) // 8)]
    columns = ("ABCDEFGH", "JKLMNPQR", "STUVWXYZ")[(zone - 1) % 3]
    rows = "ABCDEFGHJKLMNPQRSTUV"
    row = (int(north // 100_000) + (5 if zone % 2 == 0 else 0)) % 20
    return f"{zone}{band}{columns[int(east // 100_000) - 1]}{rows[row]}"


@dataclass(frozen=True)
class Names:
    """ESA's names for one product (SAFE folder, granule, band file stem)."""

    safe: str
    granule: str  # the folder: GRANULE/L2A_T34WFS_A031970_20260612T103321
    granule_id: str  # granuleIdentifier: S2B_OPER_MSI_L2A_TL_2APS_..._N05.11, not the folder
    datastrip_id: str
    stem: str
    tile: str
    sensing: dt.datetime
    generated: dt.datetime


def names_for(site: Site, date: str, platform: str, level: str) -> Names:
    day = dt.date.fromisoformat(date)
    minute = site.orbit % 7  # a stable, realistic overpass time (10:3x UTC)
    sensing = dt.datetime(day.year, day.month, day.day, 10, 30 + minute, 21, 24000, dt.UTC)
    generated = sensing + (dt.timedelta(hours=1) if level == "L1C" else dt.timedelta(hours=2))
    tile = mgrs_tile(site.lon, site.lat, site.epsg)
    stamp, gstamp = sensing.strftime("%Y%m%dT%H%M%S"), generated.strftime("%Y%m%dT%H%M%S")
    absolute = 30000 + (day - dt.date(2026, 1, 1)).days * 14 + site.orbit
    safe = (
        f"{platform}_MSI{level}_{stamp}_N{BASELINE.replace('.', '')}_R{site.orbit:03d}_"
        f"T{tile}_{gstamp}.SAFE"
    )
    granule = f"{level}_T{tile}_A{absolute:06d}_{stamp}"
    centre = "MSI_L1C" if level == "L1C" else "MSI_L2A"
    site_code = "2APS" if level == "L2A" else "MPS_"
    baseline = f"N{BASELINE}"
    granule_id = (
        f"{platform}_OPER_{centre}_TL_{site_code}_{gstamp}_A{absolute:06d}_T{tile}_{baseline}"
    )
    datastrip_id = f"{platform}_OPER_{centre}_DS_{site_code}_{gstamp}_S{stamp}_{baseline}"
    return Names(
        safe, granule, granule_id, datastrip_id, f"T{tile}_{stamp}", tile, sensing, generated
    )


def window_origin(site: Site, size: int = WINDOW_PX) -> tuple[float, float]:
    """Upper-left corner of the site's window, on the 60 m grid so all bands align."""
    east, north = Transformer.from_crs(4326, site.epsg, always_xy=True).transform(
        site.lon, site.lat
    )
    half = size * 10 / 2
    return (round((east - half) / 60) * 60, round((north + half) / 60) * 60)


def band_path(names: Names, level: str, band: str, resolution: int) -> str:
    """Path of a band file inside the SAFE folder, without the .jp2 extension."""
    if level == "L1C":
        return f"GRANULE/{names.granule}/IMG_DATA/{names.stem}_{band}"
    return f"GRANULE/{names.granule}/IMG_DATA/R{resolution}m/{names.stem}_{band}_{resolution}m"


def write_jp2(path: Path, array: np.ndarray, epsg: int, ulx: float, uly: float, res: int) -> None:
    """A lossless JPEG 2000 file with GeoJP2 georeferencing, as ESA ships them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {
        "driver": "JP2OpenJPEG",
        "width": array.shape[1],
        "height": array.shape[0],
        "count": 1,
        "dtype": array.dtype.name,
        "crs": f"EPSG:{epsg}",
        "nodata": 0,
        "transform": from_origin(ulx, uly, res, res),
        "QUALITY": 100,
        "REVERSIBLE": "YES",
    }
    with rasterio.Env(GDAL_PAM_ENABLED="NO"), rasterio.open(path, "w", **profile) as dst:
        dst.write(array, 1)  # no .aux.xml side files: ESA ships none


def footprint(site: Site, valid: np.ndarray) -> list[tuple[float, float]]:
    """(lat, lon) ring of the window's valid area, as MTD's EXT_POS_LIST lists it."""
    ulx, uly = window_origin(site, valid.shape[0])
    size = valid.shape[0] * 10
    if valid.all():
        ring = [(0, 0), (size, 0), (size, size), (0, size)]
    else:  # the diagonal cut of the swath edge (see synth.make_scene)
        cut = size / 3
        ring = [(cut, 0), (size, 0), (size, size), (0, size), (0, cut)]
    to_geo = Transformer.from_crs(site.epsg, 4326, always_xy=True)
    points = [to_geo.transform(ulx + dx, uly - dy) for dx, dy in ring]
    points.append(points[0])
    return [(round(lat, 6), round(lon, 6)) for lon, lat in points]


def write_product(
    out: Path, site: Site, date: str, platform: str, level: str, scene: synth.Scene
) -> Path:
    """Write one SAFE folder (temp name, then rename: never a half-written product)."""
    from hub.data.mtd import product_xml, tile_xml

    names = names_for(site, date, platform, level)
    final = out / names.safe
    if final.exists():
        return final
    tmp = out / f".{names.safe}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    ulx, uly = window_origin(site, scene.valid.shape[0])
    files = []
    for band_name, array in synth.band_arrays(scene, level, OFFSET).items():
        res = next(b.resolution for b in bands_for(level) if b.name == band_name)
        relative = band_path(names, level, band_name, res)
        write_jp2(tmp / f"{relative}.jp2", array, site.epsg, ulx, uly, res)
        files.append(relative)
    granule_dir = tmp / "GRANULE" / names.granule
    (granule_dir / "QI_DATA").mkdir(exist_ok=True)
    (granule_dir / "MTD_TL.xml").write_text(
        tile_xml(
            names, level, site.epsg, ulx, uly, scene.valid.shape[0], scene.cloud_cover, BASELINE
        )
    )
    (tmp / f"MTD_MSI{level}.xml").write_text(
        product_xml(
            names,
            level,
            platform,
            files,
            footprint(site, scene.valid),
            scene.cloud_cover,
            BASELINE,
            OFFSET,
            site.orbit,
        )
    )
    (tmp / "manifest.safe").write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<xfdu:XFDU xmlns:xfdu="urn:ccsds:schema:xfdu:1"'
        f' version="esa/safe/sentinel/1.1/sentinel-2/msi/'
        f'archive_l{level[1:].lower()}_user_product">'
        f"<informationPackageMap><xfdu:contentUnit textInfo={escape(repr(names.safe))}/>"
        f"</informationPackageMap></xfdu:XFDU>\n"
    )
    for folder in ("DATASTRIP", "AUX_DATA", "HTML", "rep_info"):
        (tmp / folder).mkdir(exist_ok=True)
    tmp.rename(final)
    return final


def generate(out: Path, progress: Callable[[str], None] | None = None) -> list[Path]:
    """Write the whole sample into `out` (existing products are kept); return the SAFEs:
    Sentinel-2 in `out`, Sentinel-1 GRD in `out/sentinel-1`, Sentinel-3 OLCI in
    `out/sentinel-3`."""
    out.mkdir(parents=True, exist_ok=True)
    sites = {site.name: site for site in SITES}
    written = []
    for site_name, date, platform, cloudiness in ACQUISITIONS:
        site = sites[site_name]
        day = dt.date.fromisoformat(date)
        scene = synth.make_scene(
            site.name,
            date,
            day.timetuple().tm_yday,
            WINDOW_PX,
            site.water_share,
            cloudiness,
            site.nodata_corner,
        )
        for level in LEVELS:
            path = write_product(out, site, date, platform, level, scene)
            written.append(path)
            if progress:
                progress(path.name)
    from hub.data import sample_s1  # radar over the same sites (it imports this module)

    written += sample_s1.generate(out / "sentinel-1")
    from hub.data import sample_s3  # a daily OLCI series over Hornavan at Arjeplog

    written += sample_s3.generate(out / "sentinel-3")
    return written
