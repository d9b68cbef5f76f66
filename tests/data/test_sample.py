"""The sample is real SAFE, deterministic, and reads back into a correct eo3 document."""

from __future__ import annotations

import hashlib
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import rasterio

from hub.data.eo3 import check_prepared
from hub.data.safe import read_safe
from hub.data.sample import ACQUISITIONS, mgrs_tile


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_layout_is_esa_safe(sample_dir: Path) -> None:
    products = sorted(sample_dir.glob("*.SAFE"))
    assert len(products) == 2 * len(ACQUISITIONS)
    l2a = next(p for p in products if "_MSIL2A_" in p.name)
    assert (l2a / "MTD_MSIL2A.xml").is_file() and (l2a / "manifest.safe").is_file()
    (granule,) = (l2a / "GRANULE").iterdir()
    assert (granule / "MTD_TL.xml").is_file()
    assert len(list((granule / "IMG_DATA" / "R10m").glob("*_B04_10m.jp2"))) == 1
    assert len(list((granule / "IMG_DATA" / "R20m").glob("*_SCL_20m.jp2"))) == 1
    # as in every ESA product, the granule's identifier is not its folder's name
    (listed,) = ElementTree.parse(l2a / "MTD_MSIL2A.xml").getroot().iterfind(".//{*}Granule")
    identifier = listed.get("granuleIdentifier")
    assert identifier != granule.name
    assert re.fullmatch(
        r"S2[ABC]_OPER_MSI_L2A_TL_\w{4}_\d{8}T\d{6}_A\d{6}_T\d\d[A-Z]{3}_N05\.11", identifier
    )
    l1c = next(p for p in products if "_MSIL1C_" in p.name)
    (granule,) = (l1c / "GRANULE").iterdir()
    assert len(list((granule / "IMG_DATA").glob("T*_B10.jp2"))) == 1
    assert not list(sample_dir.rglob("*.aux.xml"))


def test_native_resolutions(sample_dir: Path) -> None:
    l2a = next(sample_dir.glob("*_MSIL2A_*T34WET*.SAFE"))
    for pattern, res, crs in (
        ("*_B04_10m.jp2", 10, 32634),
        ("*_B05_20m.jp2", 20, 32634),
        ("*_B01_60m.jp2", 60, 32634),
    ):
        with rasterio.open(next(l2a.rglob(pattern))) as src:
            assert (
                src.res == (res, res) and src.crs.to_epsg() == crs and src.driver == "JP2OpenJPEG"
            )


def test_deterministic(sample_dir: Path, tmp_path: Path) -> None:
    from hub.data import sample, synth

    site = sample.SITES[2]
    _, date, platform, cloudiness = next(a for a in ACQUISITIONS if a[0] == site.name)
    scene = synth.make_scene(
        site.name, date, 182, sample.WINDOW_PX, site.water_share, cloudiness, site.nodata_corner
    )
    second = sample.write_product(tmp_path, site, date, platform, "L2A", scene)
    first = sample_dir / second.name
    for relative in ("MTD_MSIL2A.xml",):
        assert digest(first / relative) == digest(second / relative)
    for jp2 in first.rglob("*.jp2"):
        assert digest(jp2) == digest(second / jp2.relative_to(first))


def test_tiles_are_swedish_mgrs_squares() -> None:
    assert mgrs_tile(22.15, 65.58, 32634).startswith("34W")
    assert mgrs_tile(17.89, 66.05, 32633).startswith("33W")


def test_safe_reader_fields(sample_dir: Path) -> None:
    path = next(sample_dir.glob("S2B_MSIL2A_20260727*.SAFE"))
    item = read_safe(path)
    check_prepared(item)
    doc = item.doc
    assert doc["label"] == path.name.removesuffix(".SAFE")
    assert item.id == read_safe(path).id  # deterministic
    assert doc["crs"] == "epsg:32634" and doc["product"]["name"] == "s2_l2a"
    assert doc["grids"]["default"]["shape"] == [480, 480]
    assert doc["grids"]["20m"]["shape"] == [240, 240] and doc["grids"]["60m"]["shape"] == [80, 80]
    props = doc["properties"]
    assert props["datetime"].startswith("2026-07-27T10:")
    assert props["eo:platform"] == "sentinel-2b" and props["processing:level"] == "L2A"
    assert props["odc:region_code"] == path.name.split("_")[5][1:]
    assert props["s2:processing_baseline"] == "05.11" and props["s2:add_offset"] == -1000
    assert 0 <= props["eo:cloud_cover"] <= 100
    assert doc["measurements"]["SCL"]["grid"] == "20m"
    assert "grid" not in doc["measurements"]["B04"]


def test_zip_reads_like_the_folder(sample_dir: Path, tmp_path: Path) -> None:
    folder = next(sample_dir.glob("S2C_MSIL1C_*.SAFE"))
    archive = tmp_path / (folder.name.removesuffix(".SAFE") + ".zip")
    with zipfile.ZipFile(archive, "w") as zf:
        for file in folder.rglob("*"):
            zf.write(file, f"{folder.name}/{file.relative_to(folder)}")
    zipped, unpacked = read_safe(archive), read_safe(folder)
    check_prepared(zipped)
    assert zipped.id == unpacked.id and zipped.doc["properties"] == unpacked.doc["properties"]
    assert zipped.doc["measurements"]["B04"]["path"].startswith(f"zip://{archive}!/")
