"""hub.ai chips on the real index (sample cube, bundled labels): the Dataset protocol,
pixels equal to eo.load's, labels where the polygons are, the Zarr cache, splits."""

from __future__ import annotations

import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import shapely

from hub import ai, eo
from hub.ai.labels import LabelCRSWarning

# a part of the labelled site with polygons of every class, one clear date / two dates
LON, LAT = (22.10, 22.16), (65.575, 65.60)
ONE_DATE = ("2026-07-20", "2026-07-31")
TWO_DATES = ("2026-07-01", "2026-07-31")


@pytest.fixture(scope="module")
def labels() -> ai.Labels:
    return ai.read_labels(ai.bundled_labels("lulea"))


@pytest.fixture(scope="module")
def one_date(dc, labels: ai.Labels, tmp_path_factory: pytest.TempPathFactory) -> ai.ChipDataset:
    cache = tmp_path_factory.mktemp("cache") / "chips.zarr"
    with warnings.catch_warnings():  # the bundled GeoJSON is lon/lat (RFC 7946): said once
        warnings.simplefilter("ignore", LabelCRSWarning)
        return ai.chips(
            labels, time=ONE_DATE, lon=LON, lat=LAT, size=16, block=128, cache=cache, dc=dc
        )


def test_hub_ai_imports_without_torch() -> None:
    """The hub side has no torch: importing hub.ai must not need it."""
    script = "import sys; sys.modules['torch'] = None; import hub.ai; print(hub.ai.chips)"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_items_follow_the_dataset_protocol(one_date: ai.ChipDataset) -> None:
    assert len(one_date) == len(one_date.items) > 0
    x, y = one_date[0]
    assert x.shape == (4, 16, 16) and x.dtype == np.float32 and not np.isnan(x).any()
    assert y.shape == (16, 16) and y.dtype == np.int64
    assert set(np.unique(y)) <= {*range(len(one_date.classes)), ai.IGNORE}
    assert one_date.geobox.crs.epsg == 3006 and one_date.geobox.resolution.x == 10


def test_chip_pixels_are_eo_loads_pixels(dc, one_date: ai.ChipDataset) -> None:
    """Each chip is exactly its window of the same load computed whole by Dask; against an
    eager (unchunked) load only pixels on block edges may differ: GDAL warps each chunk on
    its own, and nearest-neighbour picks can fall on the other side there."""
    query = {"lon": LON, "lat": LAT, "time": ONE_DATE, "bands": list(one_date.spec.bands)}
    block = one_date.spec.block_px
    chunked = eo.load(
        **query, reflectance=True, dask_chunks={"time": 1, "x": block, "y": block}, dc=dc
    ).compute()
    eager = eo.load(**query, reflectance=True, dask_chunks=None, dc=dc)
    equal = []
    for index in range(0, len(one_date), 5):
        item = one_date.items[index]
        ys, xs = one_date._window(item.row, item.col)
        chip = one_date.read(index)
        for whole, exact in ((chunked, True), (eager, False)):
            expected = np.stack([whole[b].values[item.time, ys, xs] for b in query["bands"]])
            if exact:
                np.testing.assert_array_equal(chip, expected)
            else:
                equal.append(np.isclose(chip, expected, equal_nan=True, rtol=0, atol=0))
    assert np.mean(equal) > 0.99


def test_labels_lie_inside_polygons_of_their_class(
    one_date: ai.ChipDataset, labels: ai.Labels
) -> None:
    """Labelled pixel centres are inside a polygon of that class (checked with shapely)."""
    frame = labels.frame.to_crs("EPSG:3006")
    checked = 0
    for index in range(len(one_date)):
        gbox = one_date.chip_geobox(index)
        _, y = one_date[index]
        rows, cols = np.nonzero(y != ai.IGNORE)
        for row, col in list(zip(rows, cols, strict=True))[::25]:
            east, north = gbox.affine * (col + 0.5, row + 0.5)
            name = one_date.classes[y[row, col]]
            polygons = frame.geometry[frame["class"] == name]
            assert polygons.contains(shapely.Point(east, north)).any(), (index, row, col)
            checked += 1
    assert checked > 20


def test_torch_dataloader_batches(one_date: ai.ChipDataset) -> None:
    torch = pytest.importorskip("torch", reason="torch is in the test extra and user image")
    from torch.utils.data import DataLoader

    x, y = next(iter(DataLoader(one_date, batch_size=4, shuffle=True)))
    assert isinstance(x, torch.Tensor) and x.shape == (4, 4, 16, 16) and x.dtype == torch.float32
    assert y.shape == (4, 16, 16) and y.dtype == torch.int64
    loss = torch.nn.CrossEntropyLoss(ignore_index=ai.IGNORE)(
        torch.nn.Conv2d(4, len(one_date.classes), 1)(x), y
    )
    assert torch.isfinite(loss)


def test_cache_serves_later_epochs_without_the_archive(
    dc, labels: ai.Labels, one_date: ai.ChipDataset, tmp_path: Path
) -> None:
    one_date.fill_cache()
    assert one_date.cache is not None and one_date.cache.cached() == len(one_date)
    stats = one_date.fit_normalisation(range(len(one_date)))
    again = ai.chips(
        labels,
        time=ONE_DATE,
        lon=LON,
        lat=LAT,
        size=16,
        block=128,
        cache=one_date.cache.path,
        dc=dc,
    )
    again._graph = {}  # any read from the archive now fails: only the cache can answer
    for index in range(len(again)):
        np.testing.assert_array_equal(again.read(index), one_date.read(index))
    assert again.stats == stats  # computed once, kept with the cache
    x, _ = again[0]
    raw = one_date.read(0)
    clear = ~np.isnan(raw[0])
    mean, std = stats.mean[0], stats.std[0]
    np.testing.assert_allclose(x[0][clear], (raw[0][clear] - mean) / std, rtol=1e-5)
    # another query's chips (other bands) replace the cache instead of mixing with it
    copy = tmp_path / "copy.zarr"
    shutil.copytree(one_date.cache.path, copy)
    other = ai.chips(
        labels,
        time=ONE_DATE,
        lon=LON,
        lat=LAT,
        size=16,
        block=128,
        bands=["red", "nir"],
        cache=copy,
        dc=dc,
    )
    assert other.cache is not None and other.cache.cached() == 0 and other.stats is None


def test_normalisation_uses_clear_pixels_only(one_date: ai.ChipDataset) -> None:
    stats = one_date.fit_normalisation(range(len(one_date)))
    pixels = np.concatenate([one_date.read(i).reshape(4, -1) for i in range(len(one_date))], 1)
    np.testing.assert_allclose(stats.mean, np.nanmean(pixels, axis=1), rtol=1e-6)
    np.testing.assert_allclose(stats.std, np.nanstd(pixels, axis=1), rtol=1e-4)


def test_tile_split_shares_no_pixel(one_date: ai.ChipDataset) -> None:
    train, test = ai.split_by_tile(one_date, test_fraction=0.3, seed=1)
    assert len(train) and len(test) and len(train) + len(test) == len(one_date)
    seen = {int(p) for i in train.indices for p in one_date.pixel_ids(i)}
    assert not seen & {int(p) for i in test.indices for p in one_date.pixel_ids(i)}
    # and no ground: the (y, x) of test chips never appear in train at any date
    ground = {(one_date.items[i].row, one_date.items[i].col) for i in train.indices}
    assert not ground & {(one_date.items[i].row, one_date.items[i].col) for i in test.indices}


def test_time_split_shares_no_pixel(dc, labels: ai.Labels) -> None:
    two = ai.chips(labels, time=TWO_DATES, lon=LON, lat=LAT, size=16, dc=dc)
    assert len(two.times) == 2
    train, test = ai.split_by_time(two, test_from="2026-07-20")
    train_times = {two.items[i].time for i in train.indices}
    test_times = {two.items[i].time for i in test.indices}
    assert train_times == {0} and test_times == {1}
    seen = {int(p) for i in train.indices for p in two.pixel_ids(i)}
    assert not seen & {int(p) for i in test.indices for p in two.pixel_ids(i)}
    with pytest.raises(ai.ChipError, match="leaves one side empty; the dates are"):
        ai.split_by_time(two, test_from="2027-01-01")


def test_pixels_table_for_per_pixel_models(one_date: ai.ChipDataset) -> None:
    features, classes = one_date.pixels()
    assert features.shape[1] == 4 and len(features) == len(classes) > 100
    assert not np.isnan(features).any() and set(np.unique(classes)) <= {0, 1, 2}


def test_bundled_labels_are_in_the_package() -> None:
    path = ai.bundled_labels("lulea")
    assert path.is_file() and (Path(path).parent / "README.md").is_file()
    with pytest.raises(ai.LabelError, match="no bundled labels for site 'mars'; there are: lulea"):
        ai.bundled_labels("mars")
