"""Sentinel-1 GRD -> analysis-ready sigma0 COGs on a map grid, indexed as `s1_grd_sigma0`.

`read_s1` reads metadata only (manifest, annotations: cheap, so a product already indexed
is never processed again) and returns a Prepared product whose `build` step, run in the
check phase (threads here, or Dask workers), does the work:

1. sigma0 from the calibration LUT, thermal noise removed (`s1_calibration`);
2. geocoded from the product's geolocation grid (GCPs) onto the `data.sentinel1` grid by
   GDAL's warper (`rasterio.warp.reproject`, thin-plate spline through the GCPs), as
   `gdalwarp -tps` does; no DEM is used, so the scene is *not* terrain-corrected
   (`sdl:terrain_corrected: false`; slopes facing the radar are displaced);
3. written as float32 COGs into a hidden folder beside the product, renamed into place
   only when every polarisation is done: a failure leaves nothing.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from odc.geo.geobox import GeoBox
from odc.geo.geom import Geometry, polygon
from rasterio.control import GroundControlPoint
from rasterio.errors import RasterioError
from rasterio.shutil import copy as rio_copy
from rasterio.warp import Resampling, reproject
from shapely.geometry import mapping

from hub.data.convert import gdal_threads
from hub.data.eo3 import EO3_SCHEMA, Prepared, ProductError, check_label, dataset_id
from hub.data.s1_calibration import sigma0
from hub.data.s1_safe import Gcp, Polarisation, S1Product, read_product
from hub.data.staging import staged, write_metadata
from hub.settings.sentinel1 import Sentinel1Grid

#: The product of a scene's polarisations (an ODC product's datasets hold all its bands)
PRODUCTS = {("VV", "VH"): "s1_grd_sigma0", ("HH", "HV"): "s1_grd_sigma0_hh"}
COG_OPTIONS = {
    "driver": "COG",
    "COMPRESS": "ZSTD",
    "PREDICTOR": "YES",  # floating-point predictor: lossless, about half the size
    "BLOCKSIZE": 512,
    "OVERVIEWS": "AUTO",
    "OVERVIEW_RESAMPLING": "AVERAGE",  # linear power: averaging is physically right
    "BIGTIFF": "IF_SAFER",
}


def output_dir(source: Path, label: str, crs: str) -> Path:
    """`<folder of the product>/<label>_cog_<epsg>`, as `--convert cog --crs` names it."""
    folder = source.resolve().parent
    return folder / f"{check_label(label, str(source))}_cog_{crs.split(':')[-1]}"


def read_s1(path: Path, grid: Sentinel1Grid | None = None) -> Prepared:
    """A Sentinel-1 GRD product as a Prepared item whose build step makes it analysis-ready."""
    grid = grid or Sentinel1Grid()
    product = read_product(path)
    final = output_dir(path, product.name, grid.crs)
    doc = _document(product, grid)
    return Prepared(
        path,
        "SAFE-S1",
        doc,
        (final / "odc-metadata.yaml").as_uri(),
        build=functools.partial(build, grid=grid),
    )


def _document(product: S1Product, grid: Sentinel1Grid) -> dict[str, Any]:
    """The eo3 document without grids and measurements (known once geocoded)."""
    pols = list(product.polarisations)
    first = next(iter(product.polarisations.values()))
    name = PRODUCTS.get(tuple(pols))  # type: ignore[arg-type]
    if name is None:
        raise ProductError(
            f"{product.source.path}: polarisations {'+'.join(pols)}: only dual-polarisation "
            "scenes (VV+VH, HH+HV) are indexed so far"
        )
    return {
        "$schema": EO3_SCHEMA,
        "id": dataset_id(product.name),
        "label": product.name,
        "product": {"name": name},
        "crs": grid.crs.lower(),
        "geometry": mapping(footprint(first.gcps).to_crs(grid.crs).geom),
        "grids": {},
        "measurements": {},
        "properties": {
            "datetime": product.start.isoformat(),
            "dtr:start_datetime": product.start.isoformat(),
            "dtr:end_datetime": product.stop.isoformat(),
            "eo:constellation": "sentinel-1",
            "eo:platform": product.platform,
            "eo:instrument": "C-SAR",
            "processing:level": "GRD",
            "odc:file_format": "GeoTIFF",
            "odc:processing_datetime": product.processed.isoformat(),
            "odc:region_code": f"R{product.relative_orbit:03d}",  # the track, for ls/twins
            "sar:instrument_mode": product.mode,
            "sar:polarizations": pols,
            "sar:product_type": "GRD",
            "sdl:polarisations": "+".join(pols),
            "sat:orbit_state": product.orbit_state,
            "sat:relative_orbit": product.relative_orbit,
            "sat:absolute_orbit": product.absolute_orbit,
            "s1:product_timeliness": product.timeliness,
            "s1:processing_software": product.ipf,
            "s1:product_identifier": product.name,
            "sdl:backscatter": "sigma0",
            "sdl:noise_removed": "range+azimuth" if first.noise_azimuth else "range",
            "sdl:terrain_corrected": False,
            "sdl:geocoding": "GCP thin-plate spline (GDAL), ellipsoid heights of the GCP grid",
        },
        "lineage": {},
    }


def footprint(gcps: list[Gcp]) -> Geometry:
    """Outline of the GCP grid (first line, last pixel, last line, first pixel), lon/lat."""
    lines = sorted({g.line for g in gcps})
    pixels = sorted({g.pixel for g in gcps})
    at = {(g.line, g.pixel): (g.lon, g.lat) for g in gcps}
    ring = [at[(lines[0], p)] for p in pixels if (lines[0], p) in at]
    ring += [at[(line, pixels[-1])] for line in lines[1:] if (line, pixels[-1]) in at]
    ring += [at[(lines[-1], p)] for p in reversed(pixels[:-1]) if (lines[-1], p) in at]
    ring += [at[(line, pixels[0])] for line in reversed(lines[1:-1]) if (line, pixels[0]) in at]
    return polygon([*ring, ring[0]], crs="EPSG:4326")


def target_geobox(pol: Polarisation, crs: str, resolution: float) -> GeoBox:
    """The map grid covering the swath, pixel edges on multiples of the resolution."""
    bbox = footprint(pol.gcps).to_crs(crs).boundingbox
    return GeoBox.from_bbox(bbox, crs=crs, resolution=resolution, tight=False)


def gdal_gcps(pol: Polarisation) -> list[GroundControlPoint]:
    """The annotation's GCPs for GDAL: ESA's line/pixel are sample indices (centres),
    GDAL's image coordinates put the first pixel's centre at (0.5, 0.5)."""
    return [
        GroundControlPoint(row=g.line + 0.5, col=g.pixel + 0.5, x=g.lon, y=g.lat, z=g.height)
        for g in pol.gcps
    ]


def geocode(values: np.ndarray, pol: Polarisation, gbox: GeoBox, dst: Any, threads: int) -> None:
    """Warp swath values (NaN: none) onto `gbox` into `dst` (an array or a rasterio band)."""
    reproject(
        source=values,
        destination=dst,
        gcps=gdal_gcps(pol),
        src_crs="EPSG:4326",
        dst_transform=gbox.transform,
        dst_crs=gbox.crs.wkt if gbox.crs is not None else None,
        src_nodata=np.nan,
        dst_nodata=np.nan,
        resampling=Resampling.bilinear,
        num_threads=threads,
        SRC_METHOD="GCP_TPS",  # through every GCP, as gdalwarp -tps
    )


def read_measurement(product: S1Product, pol: Polarisation) -> np.ndarray:
    """The measurement's digital numbers, checked against the annotation's image size."""
    path = product.source.raster_path(pol.measurement)
    try:
        with rasterio.open(path) as src:
            if (src.height, src.width) != (pol.lines, pol.samples):
                raise ProductError(
                    f"{path}: measurement is {src.height}x{src.width} px, its annotation says "
                    f"{pol.lines}x{pol.samples}"
                )
            return src.read(1)
    except RasterioError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ProductError(f"{path}: measurement {pol.name} cannot be read: {reason}") from exc


def build(item: Prepared, grid: Sentinel1Grid) -> Prepared:
    """Calibrate, denoise, geocode and write every polarisation; return the COG product."""
    crs = grid.crs
    product = read_product(item.source)
    final = output_dir(item.source, product.name, crs)
    threads_text = gdal_threads()
    threads = (os.cpu_count() or 1) if threads_text == "ALL_CPUS" else int(threads_text)
    with staged(final, item) as tmp:
        doc = dict(item.doc) | {"crs": crs.lower(), "measurements": {}}
        first = next(iter(product.polarisations.values()))
        doc["geometry"] = mapping(footprint(first.gcps).to_crs(crs).geom)
        gbox = target_geobox(first, crs, grid.resolution_for(product.mode))
        for pol in product.polarisations.values():
            values = sigma0(read_measurement(product, pol), pol, threads)
            name = f"{product.name}_{pol.name}.tif"
            write_cog(values, pol, gbox, tmp / name, threads)
            del values
            doc["measurements"][pol.name] = {"path": name}
        doc["grids"] = {
            "default": {
                "shape": list(gbox.shape.yx),
                "transform": [*list(gbox.transform)[:6], 0, 0, 1],
            }
        }
        write_metadata(tmp, doc)
    files = {band: str(final / entry["path"]) for band, entry in doc["measurements"].items()}
    return Prepared(item.source, "SAFE-S1->cog", doc, (final / "odc-metadata.yaml").as_uri(), files)


def write_cog(
    values: np.ndarray, pol: Polarisation, gbox: GeoBox, path: Path, threads: int
) -> None:
    """Geocode into an in-memory dataset, then GDAL's COG driver writes it (threaded)."""
    height, width = gbox.shape.yx
    profile = {
        "driver": "MEM",
        "width": width,
        "height": height,
        "count": 1,
        "dtype": "float32",
        "crs": gbox.crs.wkt if gbox.crs is not None else None,
        "transform": gbox.transform,
        "nodata": float("nan"),
    }
    with rasterio.Env(GDAL_PAM_ENABLED="NO"), rasterio.open("", "w", **profile) as mem:
        geocode(values, pol, gbox, rasterio.band(mem, 1), threads)
        rio_copy(mem, path, **COG_OPTIONS, NUM_THREADS=str(threads))
