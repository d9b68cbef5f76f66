"""Sentinel-3 swath -> COGs on a map grid: satpy reads, pyresample resamples.

satpy reads the product's netCDF files with its own readers (`olci_l1b`, `olci_l2`, and
`slstr_lst` from hub/data/satpy, which also adds the LFR flags to `olci_l2`); the swath's
latitude/longitude come from the product's geolocation file (geo_coordinates.nc,
geodetic_in.nc). pyresample finds each map pixel's nearest swath pixel once (a k-d
tree) and every band takes its value from there, so the quality flags stay exact bit
fields. The COGs are written into a hidden folder and renamed into place only when all
are complete: a product that fails leaves nothing.
"""

from __future__ import annotations

import copy
import math
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from dask.base import compute as dask_compute
from pyproj import CRS, Transformer
from rasterio.transform import from_origin
from shapely.geometry import mapping, shape
from shapely.ops import transform as shapely_transform

from hub.data.convert import gdal_threads, output_dir
from hub.data.eo3 import Prepared, ProductError
from hub.data.s3_meta import Manifest, read_manifest
from hub.data.s3_products import S3Band, S3Product, product_for
from hub.data.staging import staged, write_metadata
from hub.settings.sentinel3 import Sentinel3Grid

SATPY_CONFIG = Path(__file__).parent / "satpy"
COG = {"driver": "COG", "COMPRESS": "ZSTD", "BLOCKSIZE": 512, "BIGTIFF": "IF_SAFER"}


def _present(folder: Path, band: S3Band) -> tuple[str, str] | None:
    return next(((n, f) for n, f in band.sources if (folder / f).is_file()), None)


def check_files(folder: Path, manifest: Manifest, product: S3Product, where: str) -> None:
    """The geolocation file and every band's file, or a refusal naming what is missing."""
    listed = set(manifest.files.values())
    if not (folder / product.geolocation).is_file():
        said = "lists it" if product.geolocation in listed else "does not list it either"
        raise ProductError(
            f"{where}: {product.product_type} product without its geolocation file "
            f"{product.geolocation} (the manifest {said}): its swath cannot be placed on a "
            "map; refused, nothing indexed or written"
        )
    missing = [band.files[0] for band in product.bands if _present(folder, band) is None]
    if missing:
        raise ProductError(f"{where}: incomplete product, missing {', '.join(missing)}")


def read_swath(folder: Path, product: S3Product) -> tuple[dict[str, np.ndarray], Any, Any]:
    """Every band as a 2-D array (satpy), with the swath's latitude and longitude."""
    from satpy import config as satpy_config  # type: ignore[attr-defined]  # donfig's
    from satpy.dataset.dataid import DataQuery
    from satpy.scene import Scene

    files = [str(p) for p in folder.iterdir() if p.suffix == ".nc"]
    with satpy_config.set(config_path=[str(SATPY_CONFIG)]):
        scene = Scene(filenames=files, reader=product.reader)
        queries, names = [], {}
        for band in product.bands:
            found = _present(folder, band)
            assert found is not None  # check_files made sure
            query: dict[str, Any] = {"name": found[0]}
            if band.calibration:
                query["calibration"] = band.calibration
            queries.append(DataQuery(**query))
            names[band.name] = found[0]
        lat_name, lon_name = product.latlon
        scene.load([*queries, lat_name, lon_name])
        missing = [b for b, n in names.items() if n not in scene]
        if missing:
            raise ProductError(f"{folder}: satpy could not read band(s) {', '.join(missing)}")
        # one compute for every file: dask decodes them side by side
        wanted = [*names.values(), lat_name, lon_name]
        values = dask_compute(*(scene[name].data for name in wanted))
    arrays = {band: np.asarray(v) for band, v in zip(names, values, strict=False)}
    lats, lons = (np.asarray(v, dtype="float64") for v in values[-2:])
    return arrays, lats, lons


def target_grid(lats: np.ndarray, lons: np.ndarray, crs: str, resolution: float) -> tuple[Any, Any]:
    """The swath's bounding box in `crs`, on pixel edges at multiples of the resolution."""
    from pyresample.geometry import AreaDefinition

    valid = np.isfinite(lats) & np.isfinite(lons)
    if not valid.any():
        raise ProductError("the geolocation holds no valid latitude/longitude")
    # the swath's outline is enough for its bounds: its edges, every pixel of them
    edge = np.zeros_like(valid)
    edge[[0, -1], :] = True
    edge[:, [0, -1]] = True
    edge &= valid
    if not edge.any():
        edge = valid
    to_map = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    xs, ys = to_map.transform(lons[edge], lats[edge])
    if not (np.isfinite(xs).all() and np.isfinite(ys).all()):
        raise ProductError(
            f"the swath does not project into {crs}; choose another data.sentinel3.crs"
        )
    left = math.floor(float(np.min(xs)) / resolution) * resolution
    top = math.ceil(float(np.max(ys)) / resolution) * resolution
    width = math.ceil((float(np.max(xs)) - left) / resolution)
    height = math.ceil((top - float(np.min(ys))) / resolution)
    extent = (left, top - height * resolution, left + width * resolution, top)
    area = AreaDefinition("sdl", "regridded Sentinel-3", "sdl", CRS(crs), width, height, extent)
    return area, from_origin(left, top, resolution, resolution)


def resample(
    arrays: dict[str, np.ndarray],
    lats: np.ndarray,
    lons: np.ndarray,
    area: Any,
    bands: dict[str, S3Band],
    radius: float,
) -> dict[str, np.ndarray]:
    """Nearest swath pixel per map pixel (one k-d tree query), each band's nodata elsewhere."""
    from pyresample import kd_tree
    from pyresample.geometry import SwathDefinition

    swath = SwathDefinition(lons=np.where(np.isfinite(lons), lons, np.nan), lats=lats)
    # nprocs=1: more forks worker processes, which deadlock beside the ingest's threads
    # (HDF5 and GDAL hold locks); pykdtree's query is multi-threaded anyway (OpenMP)
    valid_in, valid_out, index, _ = kd_tree.get_neighbour_info(
        swath, area, radius_of_influence=radius, neighbours=1, nprocs=1
    )
    out = {}
    for name, data in arrays.items():
        band = bands[name]
        fill = band.nodata if band.flags else np.nan
        values = kd_tree.get_sample_from_neighbour_info(
            "nn", area.shape, data.ravel()[valid_in], valid_in, valid_out, index, fill_value=fill
        )
        out[name] = np.asarray(values).astype(band.dtype, copy=False)
    return out


def write_cog(path: Path, array: np.ndarray, crs: str, transform: Any, band: S3Band) -> None:
    options: dict[str, Any] = dict(COG, NUM_THREADS=gdal_threads())
    if band.flags:
        options["OVERVIEW_RESAMPLING"] = "NEAREST"  # bit fields are never averaged
    else:
        options.update(PREDICTOR=3, OVERVIEW_RESAMPLING="AVERAGE")
    profile = {
        "width": array.shape[1],
        "height": array.shape[0],
        "count": 1,
        "dtype": array.dtype.name,
        "crs": crs,
        "transform": transform,
        "nodata": band.nodata,
    }
    with (
        rasterio.Env(GDAL_PAM_ENABLED="NO"),
        rasterio.open(path, "w", **profile, **options) as dst,
    ):
        dst.write(array, 1)


def regrid(item: Prepared, grid: Sentinel3Grid) -> Prepared:
    """Regrid the product's swath onto `grid`, write COGs + odc-metadata.yaml, return it."""
    where = str(item.source)
    source, manifest = read_manifest(item.source)
    product = product_for(manifest.product_type, where)
    final = output_dir(item, "cog", grid.crs)
    with staged(final, item) as tmp:
        with tempfile.TemporaryDirectory(prefix=".sdl-sen3-", dir=final.parent) as scratch:
            folder = source.folder(Path(scratch))
            check_files(folder, manifest, product, where)
            arrays, lats, lons = read_swath(folder, product)
        resolution = grid.resolution_for(product.instrument)
        area, transform = target_grid(lats, lons, grid.crs, resolution)
        # a swath pixel reaches the map pixels within about its own size (300 m, 1 km)
        radius = 1.5 * max(resolution, float(product.resolution))
        bands = {band.name: band for band in product.bands}
        regridded = resample(arrays, lats, lons, area, bands, radius)
        doc = copy.deepcopy(item.doc)
        crs = CRS.from_user_input(grid.crs)
        files = {name: f"{item.label}_{name}.tif" for name in regridded}
        # GDAL releases the GIL: bands are compressed (and their overviews built) together
        with ThreadPoolExecutor(max(1, min(4, os.cpu_count() or 1))) as pool:
            list(
                pool.map(
                    lambda name: write_cog(
                        tmp / files[name], regridded[name], grid.crs, transform, bands[name]
                    ),
                    regridded,
                )
            )
        for name, file in files.items():
            doc["measurements"][name] = {"path": file}
            files[name] = str(final / file)
        doc["grids"] = {
            "default": {"shape": list(area.shape), "transform": [*list(transform)[:6], 0, 0, 1]}
        }
        doc["crs"] = crs.to_string().lower()
        to_map = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform
        doc["geometry"] = mapping(shapely_transform(to_map, shape(item.doc["geometry"])))
        doc["properties"]["sdl:converted_from"] = item.source.resolve().as_uri()
        doc["properties"]["sdl:resampling"] = "nearest (pyresample k-d tree)"
        write_metadata(tmp, doc)
    return Prepared(item.source, "SEN3->cog", doc, (final / "odc-metadata.yaml").as_uri(), files)
