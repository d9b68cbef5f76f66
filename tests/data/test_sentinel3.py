"""Sentinel-3: real ESA manifests parsed and compared with their own XML, real products
rebuilt and regridded (a regridded pixel checked against its swath location), a product
without its geolocation refused, and the sample's OLCI series indexed and loaded."""

from __future__ import annotations

import datetime as dt
import shutil
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest
import rasterio
import xarray as xr
import yaml
from pyproj import Geod, Transformer

from hub.data import sample_s3
from hub.data.index import add
from hub.data.s3_meta import parse_manifest
from hub.data.s3_products import BY_NAME, product_definition
from hub.data.sentinel3 import read_sen3
from hub.settings import Settings
from hub.settings.sentinel3 import Sentinel3Grid
from tests.support.s3_rebuild import rebuild

REAL = Path(__file__).parent / "real" / "sentinel-3"
PRODUCTS_DIR = Path(__file__).parents[2] / "hub" / "data" / "products"
# a projected CRS around each real product (none of them is over Sweden)
LOCAL_CRS = {
    "S3A_OL_1_EFR": "EPSG:3031",  # Antarctica
    "S3A_OL_2_LFR": "EPSG:32657",  # Sea of Okhotsk
    "S3A_OL_2_WFR": "EPSG:3413",  # across the antimeridian near the North Pole
    "S3A_SL_2_LST": "EPSG:32724",  # off Brazil
    "S3B_OL_2_WFR": "EPSG:32656",  # western Pacific
}
REAL_PRODUCTS = sorted(REAL.glob("*.SEN3"))


def _local(el: ElementTree.Element) -> str:
    return el.tag.rsplit("}", 1)[-1]


def xml_facts(path: Path) -> dict[str, object]:
    """The manifest's values read independently: plain ElementTree, by local tag name."""
    root = ElementTree.parse(path / "xfdumanifest.xml").getroot()
    by_tag: dict[str, list[ElementTree.Element]] = {}
    for el in root.iter():
        by_tag.setdefault(_local(el), []).append(el)
    orbit = by_tag["orbitNumber"][0]
    numbers = [float(v) for v in (by_tag["posList"][0].text or "").split()]
    return {
        "platform": "sentinel-3" + (by_tag["number"][0].text or "").strip().lower(),
        "product_type": (by_tag["productType"][0].text or "").strip("_ "),
        "timeliness": by_tag["timeliness"][0].text,
        "baseline": by_tag["baselineCollection"][0].text,
        "absolute_orbit": int(orbit.text or 0),
        "relative_orbit": int(by_tag["relativeOrbitNumber"][0].text or 0),
        "orbit_state": orbit.get("groundTrackDirection"),
        "start": by_tag["startTime"][0].text,
        "footprint": list(zip(numbers[::2], numbers[1::2], strict=True)),
        "rows": int(by_tag["rows"][0].text or 0),
        "columns": int(by_tag["columns"][0].text or 0),
    }


def test_real_fixtures_present() -> None:
    kinds = {p.name[4:12] for p in REAL_PRODUCTS}
    assert kinds == {"OL_1_EFR", "OL_2_LFR", "OL_2_WFR", "SL_2_LST"}, kinds


@pytest.mark.parametrize("path", REAL_PRODUCTS, ids=lambda p: p.name[:12])
def test_real_manifest_matches_its_xml(path: Path) -> None:
    want = xml_facts(path)
    got = parse_manifest((path / "xfdumanifest.xml").read_bytes(), str(path))
    assert got.platform == want["platform"]
    assert got.product_type == want["product_type"]
    assert got.timeliness == want["timeliness"]
    assert got.baseline == want["baseline"]
    assert got.absolute_orbit == want["absolute_orbit"]
    assert got.relative_orbit == want["relative_orbit"]
    assert got.orbit_state == want["orbit_state"]
    assert got.start == dt.datetime.fromisoformat(str(want["start"]).replace("Z", "+00:00"))
    assert got.footprint == want["footprint"]
    assert got.shape == (want["rows"], want["columns"])
    item = read_sen3(path, Sentinel3Grid(crs=LOCAL_CRS[path.name[:12]]))
    props = item.doc["properties"]
    assert props["eo:constellation"] == "sentinel-3"
    assert props["eo:platform"] == want["platform"]
    assert props["s3:timeliness"] == want["timeliness"]
    assert props["sat:relative_orbit"] == want["relative_orbit"]
    assert props["processing:level"] == ("L1" if "_1_" in path.name else "L2")
    assert item.product == BY_NAME[item.product].name
    assert item.label == path.name.removesuffix(".SEN3")


@pytest.mark.parametrize("path", REAL_PRODUCTS, ids=lambda p: p.name[:12])
def test_real_product_regridded_pixels_come_from_their_swath_location(
    path: Path, tmp_path: Path
) -> None:
    """Rebuilt on the product's own footprint; its flags band numbers the swath pixels,
    so each regridded pixel names the swath pixel it came from."""
    crs = LOCAL_CRS[path.name[:12]]
    built = rebuild(path, tmp_path)
    item = read_sen3(built, Sentinel3Grid(crs=crs))
    assert item.build is not None
    out = item.build(item)
    product = BY_NAME[out.product]
    flags = product.flags_band
    with xr.open_dataset(built / product.geolocation, engine="h5netcdf") as ds:
        lat, lon = (ds[name].values for name in product.latlon)
    size = lat.shape[0]
    with rasterio.open(out.files[flags.name]) as cog:
        codes = cog.read(1).astype("int64")
        transform = cog.transform
        resolution = cog.res[0]
    to_map = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    # (1) swath pixels away from the crop's edges land on a map pixel that names them
    for row, col in [(size // 2, size // 2), (20, 30), (size - 25, 40), (60, size - 20)]:
        x, y = to_map.transform(lon[row, col], lat[row, col])
        c, r = ~transform * (x, y)
        code = int(codes[int(r), int(c)]) - 2
        assert abs(code // size - row) <= 1 and abs(code % size - col) <= 1, (row, col, code)
    # (2) every filled map pixel's source lies within the resampling radius of its centre
    filled = codes != int(flags.nodata)
    rr, cc = np.nonzero(filled)
    source = codes[filled] - 2
    px, py = transform * (cc + 0.5, rr + 0.5)
    plon, plat = to_map.transform(px, py, direction="INVERSE")
    # on the ellipsoid (a projection's scale would distort it); 1 %: pyresample's sphere
    _, _, distance = Geod(ellps="WGS84").inv(lon.ravel()[source], lat.ravel()[source], plon, plat)
    assert filled.mean() > 0.3
    assert distance.max() <= 1.01 * 1.5 * max(resolution, product.resolution)
    assert out.doc["crs"] == crs.lower()


def test_a_zipped_product_reads_and_regrids_as_its_folder(tmp_path: Path) -> None:
    """The Copernicus Data Space serves products as <name>.SEN3.zip holding the folder."""
    folder = rebuild(next(p for p in REAL_PRODUCTS if "SL_2_LST" in p.name), tmp_path / "f")
    archive = tmp_path / "z" / f"{folder.name}.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as zf:
        for file in sorted(folder.iterdir()):
            zf.write(file, f"{folder.name}/{file.name}")
    grid = Sentinel3Grid(crs=LOCAL_CRS["S3A_SL_2_LST"])
    zipped, unpacked = read_sen3(archive, grid), read_sen3(folder, grid)
    assert zipped.doc == unpacked.doc
    assert zipped.build is not None and unpacked.build is not None
    a, b = zipped.build(zipped), unpacked.build(unpacked)
    for band in a.files:
        with rasterio.open(a.files[band]) as x, rasterio.open(b.files[band]) as y:
            assert np.array_equal(x.read(1), y.read(1), equal_nan=True)
    assert sorted(p.name for p in archive.parent.iterdir()) == [
        archive.name,
        f"{folder.name.removesuffix('.SEN3')}_cog_32724",
    ]  # the unpacked copy was scratch only


def test_product_without_geolocation_is_rejected_and_leaves_nothing(
    settings: Settings, tmp_path: Path, row_counts
) -> None:
    folder = settings.archive / "s3-broken"
    shutil.rmtree(folder, ignore_errors=True)
    built = rebuild(REAL_PRODUCTS[0], folder)
    (built / "geo_coordinates.nc").unlink()
    before = sorted(p.name for p in folder.iterdir()), row_counts()
    result = add([built], settings)
    [outcome] = result.outcomes
    assert outcome.status == "rejected"
    assert "without its geolocation file geo_coordinates.nc" in outcome.reason
    assert not result.ok
    assert (sorted(p.name for p in folder.iterdir()), row_counts()) == before


def test_product_yaml_matches_the_table() -> None:
    for name, product in BY_NAME.items():
        on_disk = yaml.safe_load((PRODUCTS_DIR / f"{name}.yaml").read_text())
        assert on_disk == yaml.safe_load(yaml.safe_dump(product_definition(product)))


@pytest.fixture(scope="module")
def s3_sample(sample_dir: Path, indexed) -> list[Path]:
    """The sample's Sentinel-3 products, indexed with the rest of the sample."""
    return sorted((sample_dir / "sentinel-3").glob("*.SEN3"))


def test_sample_is_indexed_and_a_second_add_changes_nothing(
    settings: Settings, indexed, s3_sample: list[Path]
) -> None:
    assert len(s3_sample) == len(sample_s3.DAYS) + len(sample_s3.EFR_DAYS)
    added = {o.label for o in indexed.outcomes if o.status == "added"}
    assert {p.name.removesuffix(".SEN3") for p in s3_sample} <= added
    again = add([s3_sample[0].parent], settings)
    assert again.ok and again.count("added") == 0
    # each product, and the odc-metadata.yaml of its regridded copy beside it
    assert again.count("unchanged") == 2 * len(s3_sample)


def test_sample_daily_series_loads_with_flags(url: str, s3_sample) -> None:
    from hub import eo

    dc = eo.connect(url)
    lon, lat = sample_s3.SITE[1], sample_s3.SITE[2]
    ds = eo.load(
        lon=(lon - 0.3, lon + 0.3),
        lat=(lat - 0.1, lat + 0.1),
        mission="sentinel-3",
        level="L2",
        product="s3_olci_l2_wfr",
        bands=["chl_nn", "wqsf"],
        resolution=300,
        dask_chunks=None,
        dc=dc,
    )
    assert ds.sizes["time"] == len(sample_s3.DAYS)
    clear_water = (ds.wqsf & sample_s3.WQSF["WATER"]).astype(bool) & ~(
        ds.wqsf & sample_s3.WQSF["CLOUD"]
    ).astype(bool)
    per_day = ds.chl_nn.where(clear_water).mean(("x", "y")).values
    want = [sample_s3.chlorophyll(day) for day in sample_s3.DAYS]
    assert np.allclose(per_day, want, atol=0.03)
    assert np.isnan(ds.chl_nn.where(~clear_water)).all()
