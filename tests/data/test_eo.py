"""Notebook helpers: query by lon/lat/geometry/time/bands, load in SWEREF 99 TM, export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from shapely.geometry import box

from hub import eo
from hub.data.bands import SCL_INVALID

LULEA = {"lon": (22.11, 22.19), "lat": (65.565, 65.595)}  # inside the Luleå window
SUMMER = ("2026-06-01", "2026-08-31")


def test_round_trip_in_sweref(dc) -> None:
    ds = eo.load(**LULEA, time=SUMMER, bands=["red", "nir"], dc=dc, dask_chunks=None)
    assert ds.odc.crs.epsg == 3006
    assert ds.odc.geobox.resolution.x == 10 and ds.odc.geobox.resolution.y == -10
    assert ds.sizes["time"] == 4  # Luleå: 12 Jun, 7 Jul, 27 Jul, 21 Aug
    assert list(ds.data_vars) == ["red", "nir"]
    assert "scl" not in ds  # loaded for masking, then dropped
    clear = ds.sel(time="2026-07-27").squeeze()
    ndvi = (clear.nir - clear.red) / (clear.nir + clear.red - 2000)  # offset -1000 each
    assert float(ndvi.median()) > 0.5  # boreal forest in July
    assert float(clear.red.isnull().mean()) < 0.05  # a clear day: almost nothing masked


def test_values_match_the_source_files(dc, sample_dir: Path) -> None:
    """Loaded on the product's own grid, pixels equal the JP2 exactly."""
    safe = next(sample_dir.glob("S2B_MSIL2A_20260727*.SAFE"))
    with rasterio.open(next(safe.rglob("*_B04_10m.jp2"))) as src:
        source, bounds = src.read(1), src.bounds
    ds = eo.load(
        lon=(22.0, 22.3),
        lat=(65.5, 65.65),
        time="2026-07-27",
        bands=["B04"],
        crs="EPSG:32634",
        resolution=10,
        mask_clouds=False,
        dc=dc,
        dask_chunks=None,
    )
    window = ds.B04.squeeze().sel(
        x=slice(bounds.left, bounds.right), y=slice(bounds.top, bounds.bottom)
    )
    assert window.shape == source.shape
    assert np.array_equal(window.values, source)


def test_sweref_values_close_to_source(dc, sample_dir: Path) -> None:
    safe = next(sample_dir.glob("S2B_MSIL2A_20260727*.SAFE"))
    with rasterio.open(next(safe.rglob("*_B08_10m.jp2"))) as src:
        source_mean = float(src.read(1).mean())
    ds = eo.load(
        lon=(22.0, 22.3),
        lat=(65.5, 65.65),
        time="2026-07-27",
        bands=["nir"],
        mask_clouds=False,
        dc=dc,
        dask_chunks=None,
    )
    values = ds.nir.values
    assert abs(float(values[values > 0].mean()) - source_mean) / source_mean < 0.01


def test_cloud_mask_follows_scl(dc) -> None:
    masked = eo.load(**LULEA, time="2026-08-21", bands=["red", "scl"], dc=dc, dask_chunks=None)
    scl = masked.scl.values
    hidden = np.isin(scl, SCL_INVALID)
    assert hidden.mean() > 0.3  # the cloudiest Luleå day
    assert np.isnan(masked.red.values[hidden]).all()
    assert not np.isnan(masked.red.values[~hidden]).any()


def test_l1c_versus_l2a(dc) -> None:
    l1c = eo.load(
        **LULEA, time="2026-07-27", level="L1C", bands=["blue", "cirrus"], dc=dc, dask_chunks=None
    )
    l2a = eo.load(
        **LULEA, time="2026-07-27", bands=["blue"], mask_clouds=False, dc=dc, dask_chunks=None
    )
    assert l1c.attrs["product"] == "s2_l1c" and l2a.attrs["product"] == "s2_l2a"
    assert float(l1c.blue.mean()) > float(l2a.blue.mean()) + 500  # path radiance at the top
    with pytest.raises(eo.QueryError, match="s2_l2a has no band 'cirrus'"):
        eo.load(**LULEA, bands=["cirrus"], dc=dc)
    with pytest.raises(eo.QueryError, match="mask_clouds needs the L2A"):
        eo.load(**LULEA, level="L1C", mask_clouds=True, dc=dc)


def test_aliases_load_the_same_pixels(dc) -> None:
    query = {**LULEA, "time": "2026-07-07", "mask_clouds": False, "dc": dc, "dask_chunks": None}
    by_alias = eo.load(bands=["red", "swir16", "nir08"], **query)
    by_name = eo.load(bands=["B04", "B11", "B8A"], **query)
    assert np.array_equal(by_alias.red.values, by_name.B04.values)
    assert np.array_equal(by_alias.swir16.values, by_name.B11.values)
    assert by_alias.swir16.dtype == np.uint16


def test_geometry_and_lazy_loading(dc) -> None:
    ds = eo.load(geometry=box(17.86, 66.03, 17.94, 66.07), bands=["green"], dc=dc, reflectance=True)
    assert ds.green.chunks is not None  # dask by default
    assert ds.sizes["time"] == 2 and ds.odc.crs.epsg == 3006
    values = ds.green.values
    assert 0 < np.nanmedian(values) < 0.3  # reflectance, not digital numbers


def test_clear_errors(dc) -> None:
    with pytest.raises(eo.QueryError, match="no s2_l2a datasets for"):
        eo.load(**LULEA, time=("2020-01-01", "2020-02-01"), dc=dc)
    with pytest.raises(eo.QueryError, match="no s2_l2a datasets for"):
        eo.load(lon=(10.0, 10.1), lat=(59.0, 59.1), dc=dc)  # Oslo: not in the archive
    with pytest.raises(eo.QueryError, match="has no band 'reddish'"):
        eo.load(**LULEA, bands=["reddish"], dc=dc)
    with pytest.raises(eo.QueryError, match="no product for mission='sentinel-5p'"):
        eo.load(**LULEA, mission="sentinel-5p", dc=dc)
    with pytest.raises(eo.QueryError, match="give lon="):
        eo.load(time=SUMMER, dc=dc)


def test_export(dc, tmp_path: Path) -> None:
    import xarray as xr

    ds = eo.load(**LULEA, time=("2026-07-01", "2026-07-31"), bands=["red", "nir"], dc=dc)
    nc = eo.to_netcdf(ds, tmp_path / "lulea.nc")
    back = xr.open_dataset(nc)
    assert set(back.data_vars) >= {"red", "nir"} and back.sizes["time"] == 2
    assert "3006" in str(back.spatial_ref.attrs.get("crs_wkt", "")) or "SWEREF" in str(
        back.spatial_ref.attrs
    )
    tifs = eo.to_cog(ds, tmp_path / "cogs", prefix="lulea")
    assert [p.name for p in tifs] == ["lulea_2026-07-07.tif", "lulea_2026-07-27.tif"]
    with rasterio.open(tifs[0]) as src:
        assert src.count == 2 and src.crs.to_epsg() == 3006 and src.res == (10, 10)


def test_reflectance_across_baselines_uses_each_slices_offset(dc, settings, fresh_product) -> None:
    """A series mixing products before 04.00 (no offset) and after (-1000) loads whole."""
    from hub.data.index import add

    old = fresh_product()
    mtd = old / "MTD_MSIL2A.xml"
    text = mtd.read_text().replace(">05.11<", ">03.01<")
    start, end = text.index("<BOA_ADD_OFFSET_VALUES_LIST>"), text.index("</BOA_ADD_OFFSET_VALUES")
    mtd.write_text(text[:start] + text[end + len("</BOA_ADD_OFFSET_VALUES_LIST>") :])
    assert add([old], settings).ok
    day = old.name.split("_")[2][:8]
    when = f"{day[:4]}-{day[4:6]}-{day[6:]}"
    query = {**LULEA, "time": (when, "2026-06-13"), "bands": ["red"], "dc": dc}
    raw = eo.load(**query, mask_clouds=False, dask_chunks=None)
    scaled = eo.load(**query, mask_clouds=False, dask_chunks=None, reflectance=True)
    assert raw.sizes["time"] >= 2  # the old product and the sample's 12 June
    for step in raw.time.values:
        offset = 0 if str(step).startswith(when) else -1000
        dn = raw.red.sel(time=step).values.astype("float64")
        expected = np.where(dn == 0, np.nan, (dn + offset) / 10000)
        np.testing.assert_allclose(scaled.red.sel(time=step).values, expected, rtol=1e-6)
