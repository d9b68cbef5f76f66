"""Sentinel-1 GRD: real ESA metadata read right, sigma0 by ESA's formula, geocoding
within a pixel of the GCP grid, bad products refused with nothing left, the sample
cube's scenes loaded across missions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pyproj import Transformer

from hub import eo
from hub.data.index import add
from hub.data.s1_calibration import sigma0
from hub.data.s1_ingest import geocode, read_s1, target_geobox
from hub.data.s1_safe import read_product
from hub.settings.sentinel1 import Sentinel1Grid
from tests.support import s1_products as real

LULEA = {"lon": (22.11, 22.19), "lat": (65.565, 65.595)}


@pytest.mark.parametrize("zipped", [real.IW, real.EW], ids=["IW", "EW"])
def test_real_metadata_matches_the_xml(zipped: Path, tmp_path: Path) -> None:
    product = read_product(zipped)  # read in the zip, as downloaded
    want = real.expected(real.extract(zipped, tmp_path))
    assert product.platform == want.platform == "sentinel-1a"
    assert product.mode == want.mode and product.orbit_state == want.orbit_state
    assert product.absolute_orbit == want.absolute_orbit
    assert product.relative_orbit == want.relative_orbit
    assert product.timeliness == want.timeliness and product.ipf == want.ipf
    assert list(product.polarisations) == want.polarisations
    for pol, parsed in product.polarisations.items():
        assert (parsed.lines, parsed.samples) == want.size[pol]
        got = [(g.line, g.pixel, g.lon, g.lat) for g in parsed.gcps]
        assert got == want.gcps[pol]
        assert parsed.noise_azimuth  # IPF >= 2.9: azimuth noise vectors, one per block
    doc = read_s1(zipped).doc
    assert doc["properties"]["sat:orbit_state"] == want.orbit_state
    assert doc["properties"]["sdl:terrain_corrected"] is False
    assert doc["label"] == zipped.stem


def test_sigma0_is_esas_formula(tmp_path: Path) -> None:
    safe = real.rebuild(real.IW, tmp_path, factor=16)
    product = read_product(safe)
    pol = product.polarisations["VV"]
    dn = real.dn_field(pol.lines, pol.samples)
    values = sigma0(dn, pol)
    luts = real.luts(safe, "VV")
    rng = np.random.default_rng(7)
    for line, pixel in zip(
        rng.integers(2, pol.lines - 2, 25), rng.integers(2, pol.samples - 2, 25), strict=True
    ):
        a = real.by_hand(luts["sigma"], line, pixel)
        noise = real.by_hand(luts["range"], line, pixel)
        for first, last, first_s, last_s, lines, lut in luts["azimuth"]:
            if first <= line <= last and first_s <= pixel <= last_s:
                noise *= float(np.interp(line, lines, lut))
        want = max(float(dn[line, pixel]) ** 2 - noise, 0.0) / a**2
        assert values[line, pixel] == pytest.approx(want, rel=1e-4, abs=1e-7)
    assert np.isnan(values[0, 0])  # DN 0: the no-data border


@pytest.mark.parametrize("zipped", [real.IW, real.EW], ids=["IW", "EW"])
def test_geocoded_pixels_sit_on_the_gcp_grid(zipped: Path, tmp_path: Path) -> None:
    """Warp the image's own line and pixel numbers; at each GCP's map position the warped
    numbers must be that GCP's line and pixel, within one pixel (away from the edges)."""
    safe = real.rebuild(zipped, tmp_path, factor=16)
    product = read_product(safe)
    pol = next(iter(product.polarisations.values()))
    crs = "EPSG:32631" if "IW" in zipped.name else "EPSG:3576"  # France; the Arctic
    spacing = pol.pixel_spacing
    gbox = target_geobox(pol, crs, spacing)
    lines, pixels = np.mgrid[0 : pol.lines, 0 : pol.samples].astype(np.float32)
    to_map = Transformer.from_crs(4326, crs, always_xy=True)
    warped = {}
    for name, values in (("line", lines), ("pixel", pixels)):
        out = np.full(gbox.shape.yx, np.nan, dtype=np.float32)
        geocode(values, pol, gbox, out, 2)
        warped[name] = out
    inverse = ~gbox.transform
    errors = []
    for gcp in pol.gcps:
        if not (0 < gcp.line < pol.lines - 1 and 0 < gcp.pixel < pol.samples - 1):
            continue  # the swath's edges: the warp has no neighbours beyond them
        col, row = inverse * to_map.transform(gcp.lon, gcp.lat)
        r, c = int(row), int(col)
        got = (warped["line"][r, c], warped["pixel"][r, c])
        errors.append(max(abs(got[0] - gcp.line), abs(got[1] - gcp.pixel)))
    assert errors and max(errors) < 1.0, f"worst {max(errors):.2f} px"


def test_real_products_index_end_to_end(settings, tmp_path: Path, row_counts) -> None:
    safe = real.rebuild(real.IW, tmp_path, factor=16)
    grid = {"crs": "EPSG:32631", "iw_resolution": 160}
    utm = settings.model_copy(
        update={"data": settings.data.model_copy(update={"sentinel1": Sentinel1Grid(**grid)})}
    )
    before = row_counts()
    result = add([safe], utm)
    assert result.ok, [o.reason for o in result.outcomes]
    assert row_counts()[0] == before[0] + 1
    (folder,) = tmp_path.glob("*_cog_32631")
    assert sorted(p.name.rsplit("_", 1)[-1] for p in folder.glob("*.tif")) == ["VH.tif", "VV.tif"]
    again = add([safe], utm)
    assert again.count("unchanged") == 1 and row_counts()[0] == before[0] + 1


@pytest.mark.parametrize("damage", ["measurement", "calibration", "annotation", "empty"])
def test_bad_products_are_refused_and_leave_nothing(
    settings, tmp_path: Path, row_counts, damage: str
) -> None:
    # EW: the IW product is indexed by the test above
    if damage == "empty":  # the fixtures' own 0-byte measurements
        safe = real.extract(real.EW, tmp_path)
    else:
        safe = real.rebuild(real.EW, tmp_path, factor=32)
        real.files_of(safe, damage, "HV").unlink()
    before = row_counts()
    result = add([safe], settings)
    (outcome,) = result.outcomes
    assert outcome.status == "rejected"
    reason = "cannot be read" if damage == "empty" else "is missing (listed in manifest.safe)"
    assert reason in outcome.reason
    assert row_counts() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [safe.name]  # nothing written


def test_other_modes_are_refused_by_name(settings, row_counts) -> None:
    before = row_counts()
    (outcome,) = add([real.STRIPMAP], settings).outcomes
    assert outcome.status == "rejected" and "not a Sentinel-1 IW/EW GRD" in outcome.reason
    assert row_counts() == before


def test_sample_backscatter_maps_water(dc) -> None:
    s1 = eo.load(mission="sentinel-1", **LULEA, bands=["vv", "vh"], dc=dc, dask_chunks=None)
    assert s1.attrs["product"] == "s1_grd_sigma0" and s1.odc.crs.epsg == 3006
    assert s1.sizes["time"] == 6  # Luleå's passes, June to August
    vv = eo.to_db(s1.vv)
    water = vv < -15
    calm = water.sel(time="2026-07-23").squeeze()
    assert 0.15 < float(calm.mean()) < 0.6  # the archipelago's share of the window
    l2a = eo.load(**LULEA, time="2026-07-27", bands=["scl"], dc=dc, dask_chunks=None)
    scl = l2a.scl.squeeze().interp_like(calm, method="nearest")
    agree = (calm == (scl == 6)).where(scl.notnull() & (scl > 0))
    assert float(agree.mean()) > 0.8  # radar and optical find the same lakes
    ascending = eo.load(
        mission="sentinel-1", **LULEA, orbit_direction="descending", dc=dc, dask_chunks=None
    )
    assert ascending.sizes["time"] == 1 and set(ascending.data_vars) == {"VV", "VH"}


def test_cross_mission_errors(dc) -> None:
    with pytest.raises(eo.QueryError, match=r"s1_grd_sigma0 has no band 'red'.*sentinel-2"):
        eo.load(mission="sentinel-1", **LULEA, bands=["red"], dc=dc)
    with pytest.raises(eo.QueryError, match="sentinel-1 has levels"):
        eo.load(mission="sentinel-1", level="L2A", **LULEA, dc=dc)
    with pytest.raises(eo.QueryError, match="mask_clouds needs"):
        eo.load(mission="sentinel-1", **LULEA, mask_clouds=True, dc=dc)


def _rtc_item(tmp_path: Path, drop: str | None = None) -> Path:
    """The real RTC item with its COG assets rebuilt locally on the grid it declares."""
    import json

    import rasterio
    from rasterio.transform import Affine

    item = json.loads(real.RTC.read_text())
    props = item["properties"]
    rows, cols = props["proj:shape"]
    field = np.linspace(0.01, 0.3, cols, dtype=np.float32)[None, :].repeat(rows, axis=0)
    for key in list(item["assets"]):
        if key == drop:
            del item["assets"][key]
            continue
        target = tmp_path / f"{key}.tif"
        profile = {
            "driver": "GTiff",
            "width": cols,
            "height": rows,
            "count": 1,
            "dtype": "float32",
            "crs": f"EPSG:{props['proj:epsg']}",
            "transform": Affine(*props["proj:transform"][:6]),
            "tiled": True,
            "compress": "deflate",
        }
        with rasterio.open(target, "w", **profile) as dst:
            dst.write(field, 1)
        item["assets"][key]["href"] = target.name
    path = tmp_path / real.RTC.name
    path.write_text(json.dumps(item))
    return path


def test_rtc_stac_items_index_as_published(settings, tmp_path: Path, row_counts, dc) -> None:
    before = row_counts()
    broken = tmp_path / "broken"
    broken.mkdir()
    (outcome,) = add([_rtc_item(broken, drop="gamma0_vh")], settings).outcomes
    assert outcome.status == "rejected" and "lacks asset(s) for VH" in outcome.reason
    assert row_counts() == before
    result = add([_rtc_item(tmp_path)], settings)
    assert result.ok, [o.reason for o in result.outcomes]
    assert row_counts()[0] == before[0] + 1
    (found,) = dc.find_datasets(product="s1_rtc")
    props = found.metadata_doc["properties"]
    assert props["sdl:terrain_corrected"] is True and props["sat:relative_orbit"] == 121
    assert props["sat:orbit_state"] == "ascending" and props["odc:region_code"] == "17RMJ"
    rtc = eo.load(
        mission="sentinel-1",
        level="RTC",
        lon=(-81.9, -81.8),
        lat=(25.5, 25.6),
        crs="EPSG:32617",
        resolution=20,
        dc=dc,
        dask_chunks=None,
    )
    assert set(rtc.data_vars) == {"VV", "VH"} and float(rtc.VV.max()) <= 0.3 + 1e-6


def test_ls_groups_by_mission(settings, indexed) -> None:
    import json

    from click.testing import CliRunner

    from hub.cli import cli

    args = ["--data-dir", str(settings.data_dir)]
    table = CliRunner().invoke(cli, ["data", "ls", *args])
    assert table.exit_code == 0, table.output
    assert table.output.index("sentinel-1:") < table.output.index("sentinel-2:")
    rows = json.loads(CliRunner().invoke(cli, ["data", "ls", "--json", *args]).output)
    s1 = {row["product"]: row for row in rows if row["mission"] == "sentinel-1"}
    assert s1["s1_grd_sigma0"]["level"] == "GRD" and s1["s1_grd_sigma0"]["datasets"] >= 10
    assert {"R022", "R102", "R175", "R095"} <= set(s1["s1_grd_sigma0"]["tiles"])
