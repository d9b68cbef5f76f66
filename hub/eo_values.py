"""Pixel values of a loaded dataset: cloud masking, reflectance, physical units, decibels.

`eo.load` applies the first three on request; `to_db` is for notebooks (radar backscatter).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import xarray as xr

from hub.data.bands import SCL_INVALID
from hub.data.bands import SPECTRAL as REFLECTANCE_BANDS
from hub.eo_query import QueryError

if TYPE_CHECKING:  # datacube is slow to import: at run time only where it is used
    from datacube import Datacube
    from datacube.model import Product

GroupBy = Literal["solar_day", "time"]  # how datacube groups datasets into time slices


def hide_clouds(data: xr.Dataset, wanted: dict[str, str]) -> xr.Dataset:
    """Hide SCL no-data, defects, cloud shadows, clouds and cirrus (and each band's own
    nodata) as NaN; the SCL band goes unless it was asked for."""
    scl_name = next((k for k, v in wanted.items() if v == "SCL"), "scl")
    clear = ~data[scl_name].isin(list(SCL_INVALID))
    for name, measurement in wanted.items():
        if measurement != "SCL":
            nodata = data[name].attrs.get("nodata", 0)
            data[name] = data[name].where(clear & (data[name] != nodata))
    if scl_name not in wanted:
        data = data.drop_vars(scl_name)
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
