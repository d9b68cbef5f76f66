"""The data layer against real ESA products that no one here wrote (real/README.md).

Every fixture is parsed and compared with what its own XML says; three are rebuilt
with full-size bands on their declared grids and go through `sdl data add` and
`eo.load` end to end.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
import rasterio
from odc.geo.geobox import GeoBox
from odc.geo.geom import box as geo_box
from pyproj import Geod
from rasterio.windows import Window
from shapely.geometry import box, shape

from hub import eo
from hub.data.catalog import summarise
from hub.data.index import add
from hub.data.safe import read_safe
from hub.settings import load_settings
from tests.support.real_products import NULL_GRANULE, SAFES, TWINS, ZIPS, EsaMetadata, rebuild

PRODUCTS = ZIPS + SAFES


def rejected(result) -> list[str]:
    return [o.reason for o in result.outcomes if o.status == "rejected"]


@pytest.mark.parametrize("product", PRODUCTS, ids=lambda p: p.name[:60])
def test_every_real_product_reads_as_its_xml_says(product: Path) -> None:
    item = read_safe(product, need_bands=False)
    esa = EsaMetadata.of(product)
    props = item.doc["properties"]
    name = esa.value("product", ".//{*}PRODUCT_URI")
    assert item.label == name.removesuffix(".SAFE")
    assert props["odc:region_code"] == re.search(r"_T(\d\d[A-Z]{3})_", name).group(1)
    assert item.doc["crs"] == esa.value("tile", ".//{*}HORIZONTAL_CS_CODE").lower()
    assert props["datetime"] == esa.value("tile", ".//{*}SENSING_TIME")
    assert props["eo:cloud_cover"] == float(esa.value("product", ".//{*}Cloud_Coverage_Assessment"))
    assert props["eo:platform"] == f"sentinel-2{name[2].lower()}"
    baseline = esa.value("product", ".//{*}PROCESSING_BASELINE")
    assert props["s2:processing_baseline"] == baseline
    if match := re.search(r"_N(\d\d)(\d\d)_", name):  # the name carries it too
        assert baseline == f"{match.group(1)}.{match.group(2)}"
    assert props["s2:add_offset"] == esa.offset == (-1000 if baseline >= "04.00" else 0)
    identifier = esa.product.find(".//{*}Granule").get("granuleIdentifier")
    assert props["s2:granule_id"] == identifier
    # the bands are where the listing says: a folder that is not the identifier
    for measurement in item.doc["measurements"].values():
        assert f"{esa.granule_folder}/IMG_DATA/" in measurement["path"]
    assert identifier not in esa.granule_folder
    # footprint: the product's own (often partial) data area, inside the tile
    rows, cols, ulx, uly = esa.grid(10)
    tile = box(ulx, uly - rows * 10, ulx + cols * 10, uly)
    footprint = shape(item.doc["geometry"])
    assert footprint.within(tile.buffer(0.01))
    lons, lats = zip(*esa.footprint_lonlat(), strict=True)
    esa_area = abs(Geod(ellps="WGS84").polygon_area_perimeter(lons, lats)[0])
    assert footprint.area == pytest.approx(min(esa_area, tile.area), rel=0.01)


def test_real_thumbnails_are_refused_by_size(settings, row_counts) -> None:
    """The fixtures' own bands are thumbnails: refused, naming band and sizes."""
    before = row_counts()
    result = add([ZIPS[1]], settings)
    (reason,) = rejected(result)
    assert "band B01 is 20x20 px, its metadata says 1830x1830" in reason
    assert row_counts() == before


@pytest.fixture(scope="session")
def rebuilt(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("real-rebuilt")
    out.chmod(0o755)
    first = rebuild(TWINS[0], out / "a", seed=1)
    return {
        "null_granule": rebuild(NULL_GRANULE, out / "b"),
        "newer_twin": rebuild(TWINS[1], out / "c", bands_from=first),
        "older_twin": first,
    }


def test_real_products_index_end_to_end(settings, rebuilt, row_counts) -> None:
    before = row_counts()
    result = add([rebuilt["null_granule"], rebuilt["older_twin"]], settings)
    assert result.ok, rejected(result)
    by_label = {o.label: o for o in result.outcomes}
    null = by_label[rebuilt["null_granule"].name.removesuffix(".SAFE")]
    assert null.status == "added"
    assert "GRANULE/L1C_T56JMM_A015757_null is not in the product's granule list" in null.reason
    assert row_counts()[0] == before[0] + 2


def test_pixels_on_the_products_own_grid_equal_the_jp2(settings, rebuilt, dc) -> None:
    add([rebuilt["null_granule"]], settings)
    esa = EsaMetadata.of(rebuilt["null_granule"])
    band = next(f for f in esa.image_files if f.endswith("_B04"))
    dataset = dc.index.datasets.get(read_safe(rebuilt["null_granule"]).id)
    with rasterio.open(rebuilt["null_granule"] / f"{band}.jp2") as src:
        window = Window(4000, 5000, 300, 200)
        expected = src.read(1, window=window)
        gbox = GeoBox((200, 300), src.window_transform(window), src.crs)
    loaded = dc.load(datasets=[dataset], measurements=["B04"], like=gbox, dask_chunks=None)
    np.testing.assert_array_equal(loaded.B04.isel(time=0).values, expected)
    assert int(expected.max()) > 0


def test_reprocessed_twins_keep_the_newest(settings, rebuilt, dc, engine) -> None:
    older, newer = rebuilt["older_twin"], rebuilt["newer_twin"]
    add([older], settings)
    result = add([newer], settings)
    (outcome,) = result.outcomes
    assert outcome.status == "added" and f"replaces older twin {older.stem}" in outcome.reason
    active = dc.find_datasets(product="s2_l2a", region_code="01WCP")
    assert [d.metadata_doc["label"] for d in active] == [newer.stem]
    again = add([older], settings)  # the older copy is not made active again
    assert again.outcomes[0].status == "unchanged"
    assert "archived: a newer twin replaced it" in again.outcomes[0].reason
    assert [d.metadata_doc["label"] for d in active] == [newer.stem]
    row = next(r for r in summarise(settings) if r["product"] == "s2_l2a")
    assert row["twins"] >= 1


def test_twins_kept_all_still_load_once(settings, rebuilt, dc) -> None:
    keep_all = load_settings(
        overrides={"data_dir": str(settings.data_dir), "data": {"twins": "all"}}
    )
    older = read_safe(rebuilt["older_twin"]).id
    dc.index.datasets.restore([older])  # as if both had been added under `twins: all`
    add([rebuilt["older_twin"], rebuilt["newer_twin"]], keep_all)
    both = dc.find_datasets(product="s2_l2a", region_code="01WCP")
    assert len(both) == 2
    esa = EsaMetadata.of(rebuilt["newer_twin"])
    _, _, ulx, uly = esa.grid(10)
    area = geo_box(ulx + 50_000, uly - 20_000, ulx + 50_600, uly - 19_600, "EPSG:32601")
    query = {"geometry": area, "time": ("2023-06-25", "2023-06-26"), "crs": "EPSG:32601"}
    query |= {"bands": ["red"], "mask_clouds": False, "dask_chunks": None, "dc": dc}
    raw = eo.load(**query)
    assert raw.sizes["time"] == 1  # not two copies fused or stacked
    scaled = eo.load(**query, reflectance=True)
    np.testing.assert_allclose(scaled.red.values, (raw.red.values - 1000) / 10000, rtol=1e-6)


def test_old_multi_tile_products_are_refused_by_name(tmp_path: Path) -> None:
    name = "S2A_OPER_PRD_MSIL1C_PDMC_20160210T005347_R002_V20160129T010047_20160129T010047"
    archive = tmp_path / f"{name}.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr(f"{name}.SAFE/S2A_OPER_MTD_SAFL1C_PDMC_20160210T005347_R002.xml", "<x/>")
    with pytest.raises(Exception, match=r"old multi-tile product \(PDMC naming, before 2016-12-06"):
        read_safe(archive)


def _edited_copy(tmp_path: Path, old: str, new: str) -> Path:
    import shutil

    target = tmp_path / SAFES[0].name
    shutil.copytree(SAFES[0], target)
    mtd = target / "MTD_MSIL1C.xml"
    mtd.write_text(mtd.read_text().replace(old, new, 1))
    return target


def test_unknown_namespace_is_refused(tmp_path: Path) -> None:
    product = _edited_copy(tmp_path, "https://psd-14.sentinel2", "https://psd-99.example")
    with pytest.raises(Exception, match=r"metadata namespace .https://psd-99\.example"):
        read_safe(product, need_bands=False)


@pytest.mark.parametrize("label", ["../../../tmp/owned", "a/b", ".."])
def test_labels_that_leave_their_folder_write_nothing(
    tmp_path: Path, settings, row_counts, label: str
) -> None:
    product = _edited_copy(
        tmp_path, "<PRODUCT_URI>S2A_MSIL1C_20200717T221941", f"<PRODUCT_URI>{label}"
    )
    before = sorted(p for p in tmp_path.parent.rglob("*"))
    result = add([product], settings, convert="cog")
    (reason,) = rejected(result)
    assert "is not a plain name" in reason and "nothing written" in reason
    assert sorted(p for p in tmp_path.parent.rglob("*")) == before
    assert not Path("/tmp/owned").exists()
