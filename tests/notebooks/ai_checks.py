"""Checks of the AI notebooks (14-16), merged into test_templates.CHECKS."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tests.notebooks.runner import Run

CLASSES = ["forest", "open land", "water"]


def _figures(run: Run, at_least: int) -> None:
    from tests.notebooks.test_templates import assert_figures

    assert_figures(run, at_least)


def _confusion(matrix: list[list[int]], accuracy: float, pixels: int) -> None:
    cm = np.asarray(matrix)
    assert cm.shape == (3, 3) and cm.sum() == pixels > 1000
    assert np.isclose(np.trace(cm) / cm.sum(), accuracy)  # the printed accuracy is the matrix's
    assert (cm.sum(axis=1) > 0).all()  # every class is in the test pixels


def check_14(run: Run, p: dict[str, Any]) -> None:
    _figures(run, 2)  # confusion matrix, map
    assert p["classes"] == CLASSES and p["shared"] == 0
    assert p["train_pixels"] > p["test_pixels"] > 1000
    _confusion(p["matrix"], p["accuracy"], p["test_pixels"])
    assert p["accuracy"] > 0.9
    assert p["cog_epsg"] == 3006
    assert p["model"] == "sklearn.ensemble._forest.RandomForestClassifier"
    assert p["data"]["product"] == "s2_l2a" and p["data"]["dates"] == ["2026-07-27"]
    assert 0.2 < p["shares"]["water"] < 0.6 and p["shares"]["forest"] > 0.2
    assert "reprojected to EPSG:3006" in run.text()  # the labels' CRS, said once


def check_15(run: Run, p: dict[str, Any]) -> None:
    _figures(run, 3)  # loss curve, confusion matrix, map
    assert p["device"] in ("cpu", "cuda")
    said = "training on the GPU" if p["device"] == "cuda" else "training on the CPU"
    assert said in run.text()
    assert p["losses"][-1] < p["losses"][0] / 3
    _confusion(p["matrix"], p["accuracy"], p["pixels"])
    assert p["accuracy"] > 0.85
    assert p["cog_epsg"] == 3006 and p["model"] == "torch.nn.modules.container.Sequential"
    assert p["stats_chips"] == p["train_chips"]  # normalised on the training chips only


def check_16(run: Run, p: dict[str, Any]) -> None:
    _figures(run, 1)
    assert p["workers"] == 2
    assert "/services/dask-gateway/clusters/" in p["dashboard_link"]
    assert p["same_map"] is True and p["cog_epsg"] == 3006
    assert p["map_shape"][0] > 500 and p["map_shape"][1] > 500  # the whole sample window
    assert p["classes_seen"] == [0, 1, 2]
    assert "clusters still running: 0" in run.text()


AI_CHECKS: dict[str, tuple[dict[str, str], Callable[[Run, dict[str, Any]], None]]] = {
    "14-land-cover-random-forest.ipynb": (
        {
            "classes": "list(data.classes)",
            "shared": "len(shared)",
            "train_pixels": "len(y_train)",
            "test_pixels": "len(y_test)",
            "matrix": "matrix.tolist()",
            "accuracy": "float(accuracy)",
            "cog_epsg": "cog_epsg",
            "model": "tags['SDL_MODEL']",
            "data": "__import__('json').loads(tags['SDL_DATA'])",
            "shares": "shares",
        },
        check_14,
    ),
    "15-cnn-on-chips.ipynb": (
        {
            "device": "device.type",
            "losses": "losses",
            "matrix": "matrix.tolist()",
            "accuracy": "float(accuracy)",
            "pixels": "len(truth)",
            "cog_epsg": "cog_epsg",
            "model": "tags['SDL_MODEL']",
            "stats_chips": "stats.chips",
            "train_chips": "len(train)",
        },
        check_15,
    ),
    "16-inference-at-scale.ipynb": (
        {
            "workers": "workers",
            "dashboard_link": "dashboard_link",
            "same_map": "same_map",
            "cog_epsg": "cog_epsg",
            "map_shape": "list(cluster_map.shape)",
            "classes_seen": "sorted(int(v) for v in np.unique(cluster_map) if v != ai.IGNORE)",
        },
        check_16,
    ),
}
