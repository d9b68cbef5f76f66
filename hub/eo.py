"""Notebook helpers for the lab's Sentinel-2 archive: a thin layer over `datacube`.

    from hub import eo
    ds = eo.load(lon=(22.1, 22.2), lat=(65.56, 65.6), time=("2026-06-01", "2026-08-31"),
                 bands=["red", "nir"])             # L2A, clouds masked, EPSG:3006 at 10 m
    ndvi = (ds.nir - ds.red) / (ds.nir + ds.red)

What it adds to `dc.load`: products chosen by mission and processing level, band
aliases checked up front, cloud masking from the L2A scene classification (SCL), an
error instead of an empty dataset when nothing matches, and NetCDF/COG export.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import xarray as xr

from hub.data.bands import SCL_INVALID
from hub.data.bands import SPECTRAL as REFLECTANCE_BANDS
from hub.data.twins import newest_per_acquisition
from hub.eo_map import coverage_map as coverage_map  # the archive's map, in its module
from hub.errors import SdlError

if TYPE_CHECKING:  # datacube is slow to import: at run time only where it is used
    from datacube import Datacube
    from datacube.model import Product

DEFAULT_CRS = "EPSG:3006"  # SWEREF 99 TM
GroupBy = Literal["solar_day", "time"]  # how datacube groups datasets into time slices
NetcdfEngine = Literal["netcdf4", "h5netcdf", "scipy"]
DEFAULT_BANDS = ("red", "green", "blue", "nir")
#: One time step per chunk, 2048 px squares (~8 MB of uint16): good for Dask Gateway workers.
DEFAULT_CHUNKS = {"time": 1, "x": 2048, "y": 2048}


class QueryError(SdlError, ValueError):
    """A query names something unknown or matches nothing; the message says what exists."""


def connect(url: str | None = None, app: str = "sdl-notebook") -> Datacube:
    """A Datacube on `url` (legacy postgres driver), or from the workspace's ODC config."""
    import datacube

    if url is None:
        return datacube.Datacube(app=app)
    from hub.data.db import connect as connect_index

    return datacube.Datacube(index=connect_index(url, app=app))


def products_for(dc: Datacube, mission: str, level: str) -> list[Product]:
    """Products whose metadata says this mission (e.g. sentinel-2) and level (L1C, L2A)."""
    found, offered = [], set()
    for product in dc.index.products.get_all():
        props = product.definition.get("metadata", {}).get("properties", {})
        have = (str(props.get("eo:constellation", "")), str(props.get("processing:level", "")))
        offered.add(f"{have[0]} {have[1]}")
        if have[0].lower() == mission.lower() and have[1].upper() == level.upper():
            found.append(product)
    if not found:
        raise QueryError(
            f"no product for mission={mission!r} level={level!r}; the index has: "
            f"{', '.join(sorted(offered)) or 'no products (run sdl data init)'}"
        )
    return found


def resolve_bands(product: Product, bands: Sequence[str]) -> dict[str, str]:
    """Requested name or alias -> measurement name; unknown names list what exists."""
    lookup: dict[str, str] = {}
    for name, measurement in product.measurements.items():
        for key in [name, *measurement.get("aliases", [])]:
            lookup[key.lower()] = name
    resolved, unknown = {}, []
    for band in bands:
        if band.lower() in lookup:
            resolved[band] = lookup[band.lower()]
        else:
            unknown.append(band)
    if unknown:
        names = ", ".join(
            f"{n} ({'/'.join(m.get('aliases', [])[2:] or m.get('aliases', [])[:1])})"
            for n, m in product.measurements.items()
        )
        raise QueryError(
            f"{product.name} has no band {', '.join(map(repr, unknown))}; it has: {names}"
        )
    return resolved


def spatial_query(
    lon: tuple[float, float] | None, lat: tuple[float, float] | None, geometry: Any
) -> dict[str, Any]:
    """datacube's x/y or geopolygon; refuses an unbounded query over the whole archive."""
    if geometry is not None:
        from odc.geo.geom import Geometry

        if not isinstance(geometry, Geometry):
            geometry = Geometry(geometry, crs="EPSG:4326")  # shapely, lon/lat
        return {"geopolygon": geometry}
    if lon is None or lat is None:
        raise QueryError("give lon=(west, east) and lat=(south, north), or geometry=")
    return {"x": tuple(lon), "y": tuple(lat)}


def load(
    *,
    lon: tuple[float, float] | None = None,
    lat: tuple[float, float] | None = None,
    geometry: Any = None,
    time: str | tuple[str, str] | None = None,
    mission: str = "sentinel-2",
    level: str = "L2A",
    bands: Sequence[str] = DEFAULT_BANDS,
    crs: str = DEFAULT_CRS,
    resolution: float = 10,
    mask_clouds: bool | None = None,
    reflectance: bool = False,
    dask_chunks: dict[str, int | Literal["auto"]] | Literal["auto"] | None = "auto",
    group_by: GroupBy = "solar_day",
    resampling: str = "nearest",
    dc: Datacube | None = None,
    **extra: Any,
) -> xr.Dataset:
    """Load bands (names or aliases) for an area and time, reprojected to `crs`.

    `mask_clouds` (default: on for L2A) hides SCL no-data, defects, cloud shadows, clouds
    and cirrus as NaN. `reflectance` turns digital numbers into reflectance (0..1, with
    the processing baseline's offset). `dask_chunks="auto"` loads lazily in
    DEFAULT_CHUNKS; None loads into memory now.
    """
    dc = dc or connect()
    if mask_clouds is None:
        mask_clouds = level.upper() == "L2A"
    if mask_clouds and level.upper() != "L2A":
        raise QueryError(
            f"mask_clouds needs the L2A scene classification; {level} has none "
            "(use level='L2A' or mask_clouds=False)"
        )
    products = products_for(dc, mission, level)
    if len(products) > 1:
        raise QueryError(f"several products match: {', '.join(p.name for p in products)}")
    product = products[0]
    wanted = resolve_bands(product, list(bands))
    query = spatial_query(lon, lat, geometry)
    if time is not None:
        query["time"] = time
    # twins (reprocessed copies of one acquisition) would be fused into one time slice
    datasets = newest_per_acquisition(dc.find_datasets(product=product.name, **query))
    if not datasets:
        raise QueryError(
            f"no {product.name} datasets for {_describe(query)}; "
            "`sdl data ls` shows what the index covers"
        )
    measurements = list(wanted)
    if mask_clouds and "SCL" not in wanted.values():
        measurements.append("scl")
    chunks = DEFAULT_CHUNKS if dask_chunks == "auto" else dask_chunks
    data = dc.load(
        datasets=datasets,
        measurements=measurements,
        output_crs=crs,
        resolution=resolution,
        group_by=group_by,
        dask_chunks=chunks,
        resampling={"*": resampling, "scl": "nearest", "SCL": "nearest"},
        **query,
        **extra,
    )
    if mask_clouds:
        scl_name = next((k for k, v in wanted.items() if v == "SCL"), "scl")
        clear = ~data[scl_name].isin(list(SCL_INVALID))
        for name, measurement in wanted.items():
            if measurement != "SCL":
                nodata = data[name].attrs.get("nodata", 0)
                data[name] = data[name].where(clear & (data[name] != nodata))
        if scl_name not in wanted:
            data = data.drop_vars(scl_name)
    if reflectance:
        data = to_reflectance(data, wanted, slice_offsets(dc, datasets, group_by))
    data.attrs.update({"product": product.name, "mission": mission, "level": level.upper()})
    return data


def slice_offsets(dc: Datacube, datasets: list[Any], group_by: GroupBy) -> xr.DataArray:
    """The radiometric offset of each time slice, grouped as `dc.load` groups them.

    Products before baseline 04.00 have none, later ones -1000: a decade-long series
    mixes both, so each slice gets its own datasets' offset.
    """
    from datacube.api.query import query_group_by

    grouped = dc.group_datasets(datasets, query_group_by(group_by=group_by))
    offsets = []
    for when, members in zip(grouped.time.values, grouped.values, strict=True):
        found = {int(ds.metadata_doc["properties"].get("s2:add_offset", 0)) for ds in members}
        if len(found) > 1:
            labels = ", ".join(str(ds.metadata_doc.get("label")) for ds in members)
            raise QueryError(
                f"one time slice ({np.datetime_as_string(when, unit='s')}) mixes radiometric "
                f"offsets {sorted(found)} ({labels}); load with group_by='time'"
            )
        offsets.append(found.pop())
    return xr.DataArray(np.array(offsets, dtype="float32"), coords={"time": grouped.time})


def to_reflectance(data: xr.Dataset, wanted: dict[str, str], offsets: xr.DataArray) -> xr.Dataset:
    """Digital numbers -> reflectance: (DN + offset) / 10000, the offset per time slice."""
    offset = offsets.reindex(time=data.time) if "time" in data.dims else offsets
    for name, measurement in wanted.items():
        if measurement in REFLECTANCE_BANDS:
            band = data[name]
            if np.issubdtype(band.dtype, np.integer):
                band = band.where(band != band.attrs.get("nodata", 0))
            data[name] = ((band + offset) / 10000.0).astype("float32")
            data[name].attrs["units"] = "1 (reflectance)"
    return data


def _describe(query: dict[str, Any]) -> str:
    parts = [f"{k}={v}" for k, v in query.items() if k != "geopolygon"]
    if "geopolygon" in query:
        parts.append(
            f"geometry with bounds {tuple(round(b, 4) for b in query['geopolygon'].boundingbox)}"
        )
    return ", ".join(parts)


# -- export -----------------------------------------------------------------------------
def to_netcdf(data: xr.Dataset, path: str | Path) -> Path:
    """Write a loaded dataset to NetCDF (CRS kept in the spatial_ref variable)."""
    path = Path(path)
    out = data.copy()
    out.attrs = {k: str(v) for k, v in data.attrs.items()}
    for name in out.variables:
        attrs = {
            k: (v if isinstance(v, int | float | str) else str(v))
            for k, v in out[name].attrs.items()
        }
        if np.issubdtype(out[name].dtype, np.datetime64):
            attrs.pop("units", None)  # xarray writes its own time encoding
        out[name].attrs = attrs
    engine: NetcdfEngine | None = None
    candidates: tuple[NetcdfEngine, ...] = ("netcdf4", "h5netcdf", "scipy")
    for candidate in candidates:
        try:
            __import__({"netcdf4": "netCDF4"}.get(candidate, candidate))
            engine = candidate
            break
        except ImportError:
            continue
    tmp = path.with_name(f".{path.name}.tmp")
    out.to_netcdf(tmp, engine=engine)
    tmp.replace(path)
    return path


def to_cog(data: xr.Dataset | xr.DataArray, folder: str | Path, prefix: str = "sdl") -> list[Path]:
    """One multi-band COG per time step: `<folder>/<prefix>_<YYYY-MM-DD>.tif`."""
    import odc.geo.xr  # noqa: F401  (registers the .odc accessor)

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(data, xr.DataArray):
        data = data.to_dataset(name=data.name or "value")
    written = []
    steps = data.time.values if "time" in data.dims else [None]
    for step in steps:
        frame = data.sel(time=step) if step is not None else data
        stamp = np.datetime_as_string(step, unit="D") if step is not None else "all"
        array = frame.to_array("band").compute()
        if np.issubdtype(array.dtype, np.floating):
            array = array.astype("float32")
        target = folder / f"{prefix}_{stamp}.tif"
        array.odc.write_cog(
            target, overwrite=True, tags={"bands": ",".join(map(str, array.band.values))}
        )
        written.append(target)
    return written
