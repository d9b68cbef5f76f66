"""Export of loaded data from a notebook: NetCDF files and Cloud-Optimised GeoTIFFs."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import xarray as xr

NetcdfEngine = Literal["netcdf4", "h5netcdf", "scipy"]


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
