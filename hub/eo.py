"""Notebook helpers for the lab's archive (Sentinel-1, -2, -3): a thin layer over `datacube`.

    from hub import eo
    ds = eo.load(lon=(22.1, 22.2), lat=(65.56, 65.6), time=("2026-06-01", "2026-08-31"),
                 bands=["red", "nir"])             # L2A, clouds masked, EPSG:3006 at 10 m
    ndvi = (ds.nir - ds.red) / (ds.nir + ds.red)

    s1 = eo.load(mission="sentinel-1", lon=..., lat=..., time=..., bands=["vv"])  # sigma0

What it adds to `dc.load`: products chosen by mission and processing level (from each
product definition's own metadata), band aliases checked up front with an error naming
the product's bands (and the mission that has the one asked for), cloud masking from the
L2A scene classification (SCL), per-band scaling, search fields such as orbit direction
as filters, an error instead of an empty dataset when nothing matches, and export.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import xarray as xr

from hub.data.bands import SCL_INVALID
from hub.data.bands import SPECTRAL as REFLECTANCE_BANDS
from hub.data.db import datacube_for
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
    return datacube_for(url, app)


#: The level a mission's queries use when none is given (others: its only level).
DEFAULT_LEVEL = {"sentinel-1": "GRD", "sentinel-2": "L2A"}
#: Where a level has several products and no bands pick one: VV+VH, the usual IW scene.
DEFAULT_PRODUCT = {"sentinel-1": "s1_grd_sigma0"}


def _mission_level(product: Product) -> tuple[str, str]:
    """(mission, level) from the product definition's own metadata, as indexed."""
    props = product.definition.get("metadata", {}).get("properties", {})
    return str(props.get("eo:constellation", "")), str(props.get("processing:level", ""))


def products_for(
    dc: Datacube, mission: str, level: str | None = None, product: str | None = None
) -> list[Product]:
    """Products whose metadata says this mission (e.g. sentinel-1) and level (GRD, L2A).

    `level=None` takes the mission's default (L2A for Sentinel-2) or its only level;
    `product` picks one product by name among those matching.
    """
    offered: dict[str, set[str]] = {}
    candidates = []
    for found in dc.index.products.get_all():
        have_mission, have_level = _mission_level(found)
        offered.setdefault(have_mission, set()).add(have_level)
        if have_mission.lower() == mission.lower():
            candidates.append(found)
    if not candidates:
        listing = "; ".join(f"{m} ({', '.join(sorted(v))})" for m, v in sorted(offered.items()))
        raise QueryError(
            f"no product for mission={mission!r}; the index has: "
            f"{listing or 'no products (run sdl data init)'}"
        )
    levels = sorted({_mission_level(p)[1] for p in candidates})
    if level is None:
        level = DEFAULT_LEVEL.get(mission.lower()) or (levels[0] if len(levels) == 1 else None)
        if level is None:
            raise QueryError(f"{mission} has levels {', '.join(levels)}: give level=")
    found_level = [p for p in candidates if _mission_level(p)[1].upper() == level.upper()]
    if not found_level:
        raise QueryError(
            f"no product for mission={mission!r} level={level!r}; {mission} has levels: "
            f"{', '.join(levels)}"
        )
    if product is not None:
        named = [p for p in found_level if p.name == product]
        if not named:
            names = ", ".join(p.name for p in found_level)
            raise QueryError(f"no product {product!r} for {mission} {level}; there are: {names}")
        return named
    return found_level


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
        mission, level = _mission_level(product)
        raise QueryError(
            f"{product.name} has no band {', '.join(map(repr, unknown))} "
            f"({mission} {level}); it has: {names}"
        )
    return resolved


def _has_bands(product: Product, bands: Sequence[str]) -> bool:
    try:
        resolve_bands(product, bands)
    except QueryError:
        return False
    return True


def _elsewhere(dc: Datacube, bands: Sequence[str]) -> str:
    """'; red is a band of sentinel-2 L2A': where a band asked of the wrong mission lives."""
    hints = []
    for band in bands:
        homes = sorted(
            " ".join(_mission_level(p))
            for p in dc.index.products.get_all()
            if any(
                band.lower() in [n.lower(), *[a.lower() for a in m.get("aliases", [])]]
                for n, m in p.measurements.items()
            )
        )
        if homes:
            hints.append(f"{band!r} is a band of {', '.join(dict.fromkeys(homes))}")
    return f"; {'; '.join(hints)}" if hints else ""


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
    level: str | None = None,
    bands: Sequence[str] | None = None,
    product: str | None = None,
    crs: str = DEFAULT_CRS,
    resolution: float = 10,
    mask_clouds: bool | None = None,
    reflectance: bool = False,
    scaled: bool = False,
    dask_chunks: dict[str, int | Literal["auto"]] | Literal["auto"] | None = "auto",
    group_by: GroupBy = "solar_day",
    resampling: str = "nearest",
    dc: Datacube | None = None,
    **extra: Any,
) -> xr.Dataset:
    """Load bands (names or aliases) for an area and time, reprojected to `crs`.

    `mission` (sentinel-1, -2, -3) and `level` (e.g. GRD, L1C, L2A; default L2A for
    Sentinel-2, else the mission's only level) choose the product, `product=` one of
    several. `bands` defaults to red/green/blue/nir for Sentinel-2, all bands otherwise.
    `mask_clouds` (default: on for Sentinel-2 L2A) hides SCL no-data, defects, cloud
    shadows, clouds and cirrus as NaN. `reflectance` turns Sentinel-2 digital numbers
    into reflectance (0..1, with the processing baseline's offset); `scaled` applies each
    band's scale_factor/add_offset (other missions' packed integers). Search fields of
    the index (e.g. orbit_direction="ascending", relative_orbit=29, platform=...) filter
    datasets. `dask_chunks="auto"` loads lazily in DEFAULT_CHUNKS; None loads now.
    """
    dc = dc or connect()
    chosen = products_for(dc, mission, level, product)
    if len(chosen) > 1 and bands is not None:  # e.g. Sentinel-1 VV+VH or HH+HV scenes
        having = [p for p in chosen if _has_bands(p, bands)]
        chosen = having or chosen[:1]  # none has them: the error names the first's bands
    if len(chosen) > 1 and bands is None:
        default = DEFAULT_PRODUCT.get(mission.lower())
        chosen = [p for p in chosen if p.name == default] or chosen
    if len(chosen) > 1:
        raise QueryError(
            f"several products match: {', '.join(p.name for p in chosen)}; pass product="
        )
    found = chosen[0]
    level = _mission_level(found)[1]
    is_s2 = mission.lower() == "sentinel-2"
    if mask_clouds is None:
        mask_clouds = is_s2 and level.upper() == "L2A"
    if mask_clouds and "SCL" not in found.measurements:
        raise QueryError(
            f"mask_clouds needs the L2A scene classification; {mission} {level} has none "
            "(use level='L2A' or mask_clouds=False)"
        )
    if bands is None:
        bands = DEFAULT_BANDS if is_s2 else list(found.measurements)
    try:
        wanted = resolve_bands(found, list(bands))
    except QueryError as exc:
        raise QueryError(f"{exc}{_elsewhere(dc, bands)}") from None
    searchable = set(found.metadata_type.dataset_fields)
    search = {k: extra.pop(k) for k in list(extra) if k in searchable}
    query = spatial_query(lon, lat, geometry)
    if time is not None:
        query["time"] = time
    # twins (reprocessed copies of one acquisition) would be fused into one time slice
    datasets = newest_per_acquisition(dc.find_datasets(product=found.name, **query, **search))
    if not datasets:
        raise QueryError(
            f"no {found.name} datasets for {_describe({**query, **search})}; "
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
    if reflectance and is_s2:
        data = to_reflectance(data, wanted, slice_offsets(dc, datasets, group_by))
    elif reflectance or scaled:
        data = apply_scaling(data, found, wanted)
    data.attrs.update({"product": found.name, "mission": mission.lower(), "level": level})
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


def apply_scaling(data: xr.Dataset, product: Product, wanted: dict[str, str]) -> xr.Dataset:
    """Packed values -> physical ones with each band's scale_factor/add_offset (nodata as
    NaN); bands without them are left as they are."""
    for name, measurement in wanted.items():
        spec = product.measurements[measurement]
        scale, offset = spec.get("scale_factor"), spec.get("add_offset")
        if scale is None and offset is None:
            continue
        band = data[name]
        nodata = band.attrs.get("nodata")
        if nodata is not None and np.issubdtype(band.dtype, np.integer):
            band = band.where(band != nodata)
        attrs = {k: v for k, v in data[name].attrs.items() if k != "nodata"}
        data[name] = (band * (scale or 1.0) + (offset or 0.0)).astype("float32")
        data[name].attrs = attrs
    return data


def to_db(band: xr.DataArray, floor: float = 1e-5) -> xr.DataArray:
    """Linear backscatter (sigma0, gamma0) -> decibels, 10 log10; values under `floor`
    (-50 dB: the noise floor, or 0 after noise removal) become NaN instead of -inf."""
    out: xr.DataArray = 10 * xr.apply_ufunc(np.log10, band.where(band >= floor))
    out.attrs = {**band.attrs, "units": "dB"}
    return out


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
