"""Analysis-ready copies: Cloud-Optimised GeoTIFFs (or NetCDF) next to the archive.

Each band keeps its native resolution (10/20/60 m), optionally reprojected (e.g. to
SWEREF 99 TM, EPSG:3006). Everything is written into a hidden temporary folder and only
renamed into place when complete, so an interrupted or failed conversion never leaves
files a dataset could point at.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import rasterio
from odc.geo.crs import CRS
from odc.geo.geobox import GeoBox
from rasterio.shutil import copy as rio_copy
from rasterio.vrt import WarpedVRT
from rasterio.warp import Resampling

from hub.data.eo3 import Prepared, ProductError, check_label
from hub.data.staging import staged, write_metadata

# Full resolution lossless (LERC+ZSTD, ~13% smaller than ZSTD+predictor on Sentinel-2);
# overviews (only for browsing zoomed out) within 10 DN = 0.001 reflectance, below the
# sensor's noise: they would otherwise add ~35% and break the 1.3x-of-JP2 storage budget.
COG_OPTIONS = {
    "driver": "COG",
    "COMPRESS": "LERC_ZSTD",
    "MAX_Z_ERROR": 0,
    "OVERVIEW_COMPRESS": "LERC_ZSTD",
    "MAX_Z_ERROR_OVERVIEW": 10,
    "BLOCKSIZE": 512,
    "OVERVIEWS": "AUTO",
    "OVERVIEW_RESAMPLING": "AVERAGE",
    "BIGTIFF": "IF_SAFER",
}
NETCDF_OPTIONS = {"driver": "netCDF", "FORMAT": "NC4", "COMPRESS": "DEFLATE", "ZLEVEL": 6}
CATEGORICAL = {"SCL"}  # resampled with nearest neighbour, never averaged


def output_dir(item: Prepared, fmt: str, crs: str | None) -> Path:
    """`<folder of the source>/<label>_<cog|nc>[_<epsg>]`: next to the archive file."""
    suffix = f"_{crs.split(':')[-1]}" if crs else ""
    folder = item.source.resolve().parent
    name = f"{check_label(item.label, str(item.source))}_{'cog' if fmt == 'cog' else 'nc'}{suffix}"
    final = (folder / name).resolve()
    if final.parent != folder:  # never write outside the source's folder, whatever the label
        raise ProductError(f"{item.source}: output {final} would leave {folder}: refused")
    return final


def band_crs(gbox: GeoBox, path: str) -> CRS:
    """The grid's CRS: the warp and the dataset's grids both need one."""
    if gbox.crs is None:
        raise ProductError(
            f"{path}: the band has no coordinate reference system; "
            "use the product's files as ESA ships them (each band carries its UTM zone)"
        )
    return gbox.crs


def target_geobox(path: str, crs: str | None) -> GeoBox:
    """The band's grid, or the same area at the same resolution in `crs` (pixel-aligned)."""
    with rasterio.open(path) as src:
        gbox = GeoBox.from_rio(src)
    band_crs(gbox, path)
    if crs is None:
        return gbox
    bbox = gbox.extent.to_crs(crs).boundingbox  # pixel edges on multiples of the resolution
    return GeoBox.from_bbox(bbox, crs=crs, resolution=abs(gbox.resolution.x), tight=False)


def gdal_threads() -> str:
    """Threads for GDAL's warp and compression: every core here, but on a Dask worker
    only its own threads, so that workers sharing a node do not oversubscribe it."""
    try:
        from distributed import get_worker

        return str(get_worker().state.nthreads)
    except (ImportError, ValueError):  # ValueError: not running in a Dask worker
        return "ALL_CPUS"


def write_band(src_path: str, dst: Path, band: str, fmt: str, crs: str | None) -> GeoBox:
    """Write one band (reprojected if `crs`), return the grid it was written on.

    GDAL's own path end to end: a warped VRT on the target grid, read block by block by
    the COG (or netCDF) driver, so no full band is held here and the warp and the
    compression use every core, as `gdalwarp` + `gdal_translate -of COG` would.
    """
    gbox = target_geobox(src_path, crs)
    threads = gdal_threads()
    options = dict(COG_OPTIONS if fmt == "cog" else NETCDF_OPTIONS)
    if fmt == "cog":
        options["NUM_THREADS"] = threads  # the blocks compressed in parallel
    if band in CATEGORICAL and fmt == "cog":
        options["OVERVIEW_RESAMPLING"] = "NEAREST"
        options["MAX_Z_ERROR_OVERVIEW"] = 0  # classes: exact everywhere
    resampling = Resampling.nearest if band in CATEGORICAL else Resampling.bilinear
    with (
        rasterio.Env(GDAL_PAM_ENABLED="NO"),
        rasterio.open(src_path) as src,
        WarpedVRT(
            src,
            crs=band_crs(gbox, src_path).wkt,
            transform=gbox.transform,
            width=gbox.shape.x,
            height=gbox.shape.y,
            src_nodata=0,
            nodata=0,  # ESA's "no data" digital number, whether or not the file says so
            resampling=resampling,
            warp_extras={"NUM_THREADS": threads},
        ) as warped,
    ):
        rio_copy(warped, dst, **options)
    return gbox


def convert(item: Prepared, fmt: str, crs: str | None = None) -> Prepared:
    """Write the analysis-ready copy of `item`; return it as a Prepared eo3 dataset."""
    if fmt not in ("cog", "netcdf"):
        raise ProductError(f"--convert {fmt!r}: use cog or netcdf")
    final = output_dir(item, fmt, crs)
    with staged(final, item) as tmp:
        doc = copy.deepcopy(item.doc)
        extension = "tif" if fmt == "cog" else "nc"
        written = []
        for band, src_path in item.files.items():
            name = f"{item.label}_{band}.{extension}"
            written.append((band, name, write_band(src_path, tmp / name, band, fmt, crs)))
        resolutions = sorted({abs(gbox.resolution.x) for _, _, gbox in written})
        grid_name = {res: "default" if i == 0 else f"{res:g}m" for i, res in enumerate(resolutions)}
        grids: dict[str, dict[str, Any]] = {}
        for band, name, gbox in written:
            grid = grid_name[abs(gbox.resolution.x)]
            grids[grid] = {
                "shape": list(gbox.shape.yx),
                "transform": [*list(gbox.transform)[:6], 0, 0, 1],
            }
            entry: dict[str, Any] = {"path": name}
            if grid != "default":
                entry["grid"] = grid
            if fmt == "netcdf":
                entry["layer"] = "Band1"  # the variable GDAL's netCDF driver writes
            doc["measurements"][band] = entry
        doc["grids"] = grids
        if crs:
            doc["crs"] = crs.lower()
            geometry = _footprint_in(item.doc, crs)
            doc["geometry"] = geometry
        doc["properties"]["odc:file_format"] = "GeoTIFF" if fmt == "cog" else "NetCDF"
        doc["properties"]["sdl:converted_from"] = item.location
        write_metadata(tmp, doc)
    files = {band: str(final / entry["path"]) for band, entry in doc["measurements"].items()}
    return Prepared(
        item.source, f"{item.kind}->{fmt}", doc, (final / "odc-metadata.yaml").as_uri(), files
    )


def _footprint_in(doc: dict[str, Any], crs: str) -> dict[str, Any]:
    from odc.geo.geom import Geometry
    from shapely.geometry import mapping

    return mapping(Geometry(doc["geometry"], crs=doc["crs"]).to_crs(crs).geom)
