"""Ingest: the sample goes in once, re-adding changes nothing, bad input is refused."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.cli import cli
from hub.data import sample
from hub.data.convert import convert
from hub.data.index import add
from hub.data.index_schema import init_index
from hub.data.safe import read_safe
from hub.data.sample import ACQUISITIONS
from hub.errors import SdlError


def rejected(result) -> list[str]:
    return [o.reason for o in result.outcomes if o.status == "rejected"]


def test_sample_is_indexed_once(indexed, settings, sample_dir, row_counts) -> None:
    assert indexed.count("added") == len(sample.generate(sample_dir))  # every mission's
    before = row_counts()
    again = add([sample_dir / "*.SAFE"], settings, workers=2)
    assert again.ok and again.count("unchanged") == 2 * len(ACQUISITIONS)
    assert again.count("added") == 0 and row_counts() == before
    assert init_index(settings) == []  # products unchanged too


def test_truncated_jp2_is_rejected_and_leaves_nothing(
    indexed, settings, fresh_product, row_counts, leftovers
) -> None:
    good, bad = fresh_product(), fresh_product()
    band = next(bad.rglob("*_B04_10m.jp2"))
    band.write_bytes(band.read_bytes()[: band.stat().st_size // 2])
    before = row_counts()
    result = add([good, bad], settings, workers=2, convert="cog")
    (reason,) = rejected(result)
    assert "truncated JPEG 2000" in reason and str(band) in reason
    assert result.count("added") == 1  # the good one went on
    assert row_counts() == (before[0] + 1, before[1] + 1)
    assert leftovers(bad.parent) == [f"{good.name.removesuffix('.SAFE')}_cog"]


def test_safe_without_granule(indexed, settings, fresh_product, row_counts) -> None:
    path = fresh_product()
    shutil.rmtree(path / "GRANULE")
    before = row_counts()
    result = add([path], settings)
    assert not result.ok and "granule" in rejected(result)[0] and "missing" in rejected(result)[0]
    assert row_counts() == before


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("PROCESSING_BASELINE", "missing <PROCESSING_BASELINE>"),
        ("GENERATION_TIME", "missing <GENERATION_TIME>"),
        ("SPACECRAFT_NAME", "missing <SPACECRAFT_NAME>"),
    ],
)
def test_xml_with_missing_fields(indexed, settings, fresh_product, row_counts, tag, expected):
    path = fresh_product()
    mtd = path / "MTD_MSIL2A.xml"
    lines = [line for line in mtd.read_text().splitlines() if f"<{tag}>" not in line]
    mtd.write_text("\n".join(lines))
    before = row_counts()
    result = add([path], settings)
    (reason,) = rejected(result)
    assert expected in reason and str(mtd) in reason
    assert row_counts() == before


def test_tile_xml_without_crs(indexed, settings, fresh_product, row_counts) -> None:
    path = fresh_product("L1C")
    tile = next(path.rglob("MTD_TL.xml"))
    tile.write_text(
        tile.read_text()
        .replace("<HORIZONTAL_CS_CODE>", "<X>")
        .replace("</HORIZONTAL_CS_CODE>", "</X>")
    )
    before = row_counts()
    result = add([path], settings)
    assert "missing <HORIZONTAL_CS_CODE>" in rejected(result)[0]
    assert row_counts() == before


def test_not_sentinel_files(indexed, settings, tmp_path, row_counts) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    yaml_doc = tmp_path / "odc-metadata.yaml"
    yaml_doc.write_text("just: a mapping\n")
    bogus_zip = tmp_path / "data.zip"
    with zipfile.ZipFile(bogus_zip, "w") as zf:
        zf.writestr("readme.txt", "no SAFE in here")
    before = row_counts()
    result = add([text, yaml_doc, bogus_zip, tmp_path / "missing.SAFE"], settings)
    reasons = " | ".join(rejected(result))
    assert result.count("rejected") == 4
    assert "notes.txt: not a Sentinel-2 SAFE product" in reasons
    assert "not a Sentinel-2 SAFE product" in reasons  # the yaml is no eo3 document either
    assert "expected one .SAFE folder in the zip" in reasons
    assert "no such file or folder" in reasons
    assert row_counts() == before


def test_duplicate_from_another_place(indexed, settings, sample_dir, tmp_path, row_counts):
    folder = next(sample_dir.glob("S2B_MSIL2A_*.SAFE"))
    archive = tmp_path / "copy.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for file in folder.rglob("*"):
            zf.write(file, f"{folder.name}/{file.relative_to(folder)}")
    before = row_counts()
    result = add([archive, folder], settings)
    assert result.count("unchanged") == 1  # the folder it was indexed from
    (reason,) = rejected(result)
    assert reason.startswith("duplicate:") and folder.name in reason
    assert row_counts() == before


def test_stac_item_with_cogs_and_a_missing_asset(indexed, settings, fresh_product, row_counts):
    cogs = convert(read_safe(fresh_product()), "cog")
    folder = Path(cogs.files["B04"]).parent
    assets = {}
    for band, entry in cogs.doc["measurements"].items():
        grid = cogs.doc["grids"][entry.get("grid", "default")]
        key = {"B04": "red", "B08": "nir", "SCL": "scl"}.get(band, band)
        assets[key] = {
            "href": entry["path"],
            "type": "image/tiff; application=geotiff",
            "roles": ["data"],
            "proj:shape": grid["shape"],
            "proj:transform": grid["transform"][:6],
        }
    assets["thumbnail"] = {"href": "preview.jpg", "roles": ["thumbnail"]}
    item = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": cogs.label,
        "collection": "sentinel-2-l2a",
        "geometry": {
            "type": "Polygon",
            "coordinates": [
                [[22.1, 65.55], [22.2, 65.55], [22.2, 65.6], [22.1, 65.6], [22.1, 65.55]]
            ],
        },
        "properties": {
            "datetime": cogs.doc["properties"]["datetime"],
            "platform": "sentinel-2b",
            "proj:epsg": 32634,
            "eo:cloud_cover": 12.5,
            "s2:processing_baseline": "05.11",
        },
        "assets": assets,
    }
    broken = folder / "broken-item.json"
    broken.write_text(json.dumps(item))
    (folder / assets["nir"]["href"]).rename(folder / "moved.tif")
    before = row_counts()
    result = add([broken], settings)
    (reason,) = rejected(result)
    assert "band B08 cannot be read" in reason and assets["nir"]["href"] in reason
    assert row_counts() == before
    (folder / "moved.tif").rename(folder / assets["nir"]["href"])
    good = folder / "item.json"
    good.write_text(json.dumps(item))
    assert add([good], settings).count("added") == 1
    assert row_counts()[0] == before[0] + 1


def test_convert_to_sweref_cogs(indexed, settings, fresh_product, dc) -> None:
    path = fresh_product()
    result = add([path], settings, convert="cog", crs="EPSG:3006")
    assert result.ok and result.count("added") == 1
    dataset = dc.index.datasets.get(read_safe(path).id)
    assert dataset.uri.endswith("_cog_3006/odc-metadata.yaml")
    assert str(dataset.crs) == "EPSG:3006"
    import rasterio

    with rasterio.open(next(path.parent.glob("*_cog_3006/*_B04.tif"))) as src:
        assert src.crs.to_epsg() == 3006 and src.res == (10, 10)
        assert src.profile["tiled"] and src.compression is not None
    again = add([path], settings, convert="cog", crs="EPSG:3006")
    assert again.ok and again.count("unchanged") == 1


def test_cli_exit_codes(indexed, settings, tmp_path) -> None:
    runner = CliRunner()
    bad = tmp_path / "x.txt"
    bad.write_text("x")
    args = ["--data-dir", str(settings.data_dir)]
    result = runner.invoke(cli, ["data", "add", str(bad), *args])
    assert result.exit_code == 1 and "not a Sentinel-2" in result.output
    result = runner.invoke(
        cli, ["data", "add", str(settings.archive / "sample"), "--workers", "2", *args]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["data", "ls", "--json", *args])
    rows = {row["product"]: row for row in json.loads(result.output)}
    assert rows["s2_l2a"]["datasets"] >= len(ACQUISITIONS)
    assert {"33WXP", "34WET"} <= set(rows["s2_l1c"]["tiles"])
    label = next((settings.archive / "sample").glob("S2C_MSIL1C_*.SAFE")).name.removesuffix(".SAFE")
    result = runner.invoke(cli, ["data", "show", label, *args])
    assert result.exit_code == 0 and "B10" in result.output and "location: file://" in result.output
    result = runner.invoke(cli, ["data", "show", "nothing-like-this", *args])
    assert result.exit_code == 2 and "no dataset" in result.output  # an SdlError: exit 2


def test_first_start_indexes_the_sample_once(settings, indexed, tmp_path) -> None:
    from hub.data.firststart import marker_path, prepare_index

    # a database of its own on the same server (created by init), archive in tmp
    database = settings.database.model_copy(update={"name": "firststart"})
    isolated = settings.model_copy(
        update={"archive_dir": tmp_path / "archive", "database": database}
    )
    marker_path(isolated).unlink(missing_ok=True)
    result = prepare_index(isolated)
    assert result is not None and result.ok
    assert result.count("added") == len(sample.generate(tmp_path / "archive" / "sample"))
    assert marker_path(isolated).exists()
    assert prepare_index(isolated) is None  # second start: nothing to do
    marker_path(isolated).unlink()


def test_zip_and_netcdf_products_load(indexed, settings, fresh_product, dc, tmp_path) -> None:
    """A zipped SAFE is read in place; a NetCDF copy is indexed and loads the same pixels."""
    import numpy as np

    folder = fresh_product()
    archive = tmp_path / (folder.name.removesuffix(".SAFE") + ".zip")
    with zipfile.ZipFile(archive, "w") as zf:
        for file in folder.rglob("*"):
            zf.write(file, f"{folder.name}/{file.relative_to(folder)}")
    shutil.rmtree(folder)
    other = fresh_product()
    result = add([archive, other], settings, convert=None)
    assert result.ok and result.count("added") == 2
    nc = add([fresh_product()], settings, convert="netcdf")
    assert nc.ok and nc.count("added") == 1
    for label in (archive.stem, other.name.removesuffix(".SAFE")):
        dataset = dc.index.datasets.get(read_safe(archive if label == archive.stem else other).id)
        data = dc.load(
            datasets=[dataset],
            measurements=["red"],
            output_crs="EPSG:32634",
            resolution=10,
            dask_chunks=None,
        )
        assert data.red.shape[1:] == (480, 480) and int(data.red.max()) > 1000
    netcdf = next(tmp_path.glob("*_nc/odc-metadata.yaml"))
    loaded = dc.load(
        datasets=[dc.index.datasets.get(yaml_id(netcdf))],
        measurements=["B04"],
        output_crs="EPSG:32634",
        resolution=10,
        dask_chunks=None,
    )
    assert loaded.B04.dtype == np.uint16 and int(loaded.B04.max()) > 1000


def yaml_id(path: Path) -> str:
    import yaml

    return yaml.safe_load(path.read_text())["id"]


def test_malformed_values_and_xml(indexed, settings, fresh_product, row_counts) -> None:
    bad_number, bad_xml = fresh_product(), fresh_product()
    mtd = bad_number / "MTD_MSIL2A.xml"
    text = mtd.read_text()
    start = text.index("<Cloud_Coverage_Assessment>") + len("<Cloud_Coverage_Assessment>")
    mtd.write_text(text[:start] + "cloudy" + text[text.index("</Cloud_Coverage_Assessment>") :])
    tile = next(bad_xml.rglob("MTD_TL.xml"))
    tile.write_text(tile.read_text()[:300])
    before = row_counts()
    result = add([bad_number, bad_xml], settings)
    reasons = " | ".join(rejected(result))
    assert f"{mtd}: malformed value (could not convert string to float: 'cloudy')" in reasons
    assert f"{tile}: not well-formed XML" in reasons
    assert row_counts() == before


def test_ls_datasets_lists_what_show_takes(indexed, settings, sample_dir) -> None:
    runner = CliRunner()
    args = ["--data-dir", str(settings.data_dir)]
    listing = ["data", "ls", "--datasets", "--json", "--product", "s2_l2a", "--tile", "T34WET"]
    result = runner.invoke(cli, [*listing, "--time", "2026-06-01", "2026-07-31", *args])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    expected = sorted(
        p.name.removesuffix(".SAFE")
        for p in sample_dir.glob("*_MSIL2A_*T34WET*.SAFE")
        if "20260601" <= p.name.split("_")[2][:8] <= "20260731"
    )
    assert sorted(row["label"] for row in rows) == expected and expected
    assert {row["product"] for row in rows} == {"s2_l2a"} and {r["tile"] for r in rows} == {"34WET"}
    shown = runner.invoke(cli, ["data", "show", rows[0]["id"], *args])
    assert shown.exit_code == 0 and rows[0]["label"] in shown.output
    table = runner.invoke(cli, ["data", "ls", "--datasets", *args])
    assert table.exit_code == 0 and "datasets" in table.output and expected[0] in table.output
    wrong = runner.invoke(cli, ["data", "ls", "--tile", "34WET", *args])
    assert wrong.exit_code == 2 and "need --datasets" in wrong.output


def _task_names(dask_scheduler) -> set[str]:
    return {str(entry[0]).split("-")[0] for entry in dask_scheduler.transition_log}


def test_add_on_a_dask_cluster(indexed, settings, fresh_product, row_counts, tmp_path) -> None:
    """The same add, its checks run by the workers of a real Dask cluster."""
    from distributed import Client, LocalCluster

    good, bad = fresh_product(), fresh_product()
    band = next(bad.rglob("*_B04_10m.jp2"))
    band.write_bytes(band.read_bytes()[: band.stat().st_size // 2])  # found by the checks
    before = row_counts()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster:
        result = add([good, bad], settings, dask=cluster.scheduler_address)
        with Client(cluster) as client:
            ran = client.run_on_scheduler(
                lambda dask_scheduler: {
                    str(t[0]).split("-")[0] for t in dask_scheduler.transition_log
                }
            )
    assert "_check_and_convert" in ran
    status = {o.source: o.status for o in result.outcomes}
    assert status == {str(good.resolve()): "added", str(bad.resolve()): "rejected"}
    (reason,) = rejected(result)
    assert f"{band.resolve()}: truncated JPEG 2000" in reason
    assert row_counts()[0] == before[0] + 1
    with pytest.raises(SdlError, match="no Dask scheduler answers"):
        add([good], settings, dask="tcp://127.0.0.1:9")


def test_shares_cut_the_inputs_once(indexed, settings, fresh_product) -> None:
    """N pods with --share i/N add every product exactly once between them."""
    products = [fresh_product() for _ in range(3)]
    seen = []
    for index_of in range(2):
        result = add(products, settings, share=(index_of, 2))
        assert result.ok, rejected(result)
        seen += [o.source for o in result.outcomes]
    assert sorted(seen) == sorted(str(p.resolve()) for p in products)
    runner = CliRunner()
    bad = runner.invoke(cli, ["data", "add", str(products[0]), "--share", "2/2"])
    assert bad.exit_code == 2 and "I must be 0..N-1" in bad.output


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")  # it is not
def test_a_band_without_crs_is_refused_by_name(tmp_path) -> None:
    import numpy as np
    import rasterio

    from hub.data.convert import target_geobox

    band = tmp_path / "B04.tif"
    with rasterio.open(band, "w", driver="GTiff", width=4, height=4, count=1, dtype="uint16") as f:
        f.write(np.zeros((1, 4, 4), dtype="uint16"))
    with pytest.raises(SdlError, match=f"{band}: the band has no coordinate reference system"):
        target_geobox(str(band), None)
