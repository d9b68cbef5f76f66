"""Inference over an area: a model applied block by block, on threads or a Dask cluster,
written as a COG in EPSG:3006 with its provenance in the GeoTIFF tags."""

from __future__ import annotations

import datetime as dt
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio

from hub import ai
from hub.ai.labels import LabelCRSWarning, rasterise

LON, LAT = (22.10, 22.16), (65.575, 65.60)
TIME = ("2026-07-20", "2026-07-31")
BANDS = ["blue", "green", "red", "nir"]


@pytest.fixture(scope="module")
def trained(dc):
    from sklearn.ensemble import RandomForestClassifier

    labels = ai.read_labels(ai.bundled_labels())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LabelCRSWarning)
        data = ai.chips(labels, time=TIME, lon=LON, lat=LAT, size=16, dc=dc)
    features, classes = data.pixels()
    forest = RandomForestClassifier(n_estimators=20, random_state=0, n_jobs=1)
    return labels, forest.fit(features, classes)


def predict(dc, trained, out: Path, **kwargs) -> Path:
    labels, model = trained
    return ai.predict_area(
        ai.Predictor(model, labels.classes),
        lon=LON,
        lat=LAT,
        time=TIME,
        bands=BANDS,
        out=out,
        chip=64,
        dc=dc,
        **kwargs,
    )


def test_a_cog_in_sweref_with_provenance(dc, trained, tmp_path: Path) -> None:
    labels, _ = trained
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    path = predict(dc, trained, tmp_path / "map.tif")
    with rasterio.open(path) as cog:
        assert cog.crs.to_epsg() == 3006 and cog.dtypes == ("uint8",)
        assert cog.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert cog.nodata == ai.IGNORE
        tags = cog.tags()
        values = cog.read(1)
    assert tags["SDL_MODEL"] == "sklearn.ensemble._forest.RandomForestClassifier"
    assert len(tags["SDL_MODEL_SHA256"]) == 64
    assert json.loads(tags["SDL_CLASSES"]) == {str(i): c for i, c in enumerate(labels.classes)}
    data = json.loads(tags["SDL_DATA"])
    assert data["product"] == "s2_l2a" and data["bands"] == BANDS and data["dates"]
    assert dt.datetime.fromisoformat(tags["SDL_CREATED"]) >= before
    assert set(np.unique(values)) <= {*range(len(labels.classes)), ai.IGNORE}


def test_the_map_agrees_with_the_labels(dc, trained, tmp_path: Path) -> None:
    """Where a polygon lies, the map says its class (a model trained on those pixels)."""
    from odc.geo.geobox import GeoBox

    labels, _ = trained
    path = predict(dc, trained, tmp_path / "map.tif")
    with rasterio.open(path) as cog:
        values = cog.read(1)
        grid = GeoBox(cog.shape, cog.transform, cog.crs.to_wkt())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LabelCRSWarning)
        truth = rasterise(labels, grid)
    where = (truth != ai.IGNORE) & (values != ai.IGNORE)
    assert where.sum() > 1000
    assert (values[where] == truth[where]).mean() > 0.9


def test_on_a_dask_cluster_the_same_map(dc, trained, tmp_path: Path) -> None:
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        remote = predict(dc, trained, tmp_path / "cluster.tif", client=client)
        assert sum(client.run(lambda: 1).values()) == 2  # two worker processes answered
    local = predict(dc, trained, tmp_path / "local.tif")
    with rasterio.open(remote) as a, rasterio.open(local) as b:
        np.testing.assert_array_equal(a.read(1), b.read(1))


def test_a_torch_model_chip_by_chip(dc, trained, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch", reason="torch is in the test extra and user image")
    labels, _ = trained
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(4, 8, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(8, len(labels.classes), 1),
    )
    stats = ai.cache.Stats((0.04, 0.06, 0.04, 0.2), (0.01, 0.01, 0.01, 0.1), 1, "test")
    path = ai.predict_area(
        ai.Predictor(net, labels.classes, stats),
        lon=LON,
        lat=LAT,
        time=TIME,
        bands=BANDS,
        out=tmp_path / "cnn.tif",
        chip=64,
        dc=dc,
    )
    with rasterio.open(path) as cog:
        assert cog.tags()["SDL_MODEL"] == "torch.nn.modules.container.Sequential"
        assert cog.crs.to_epsg() == 3006
        values = cog.read(1)
    assert set(np.unique(values)) <= {*range(len(labels.classes)), ai.IGNORE}
    assert (values != ai.IGNORE).mean() > 0.5
