"""AI on the archive: training chips from the index, labels, splits, inference.

    from hub import ai
    labels = ai.read_labels(ai.bundled_labels("lulea"))
    data = ai.chips(labels, time=("2026-06", "2026-08"), size=32, cache="~/chips")
    train, test = ai.split_by_tile(data, test_fraction=0.3)
    data.fit_normalisation(train)         # computed once, stored with the cache
    x, y = train[0]                        # (bands, size, size) float32, (size, size) int64

Nothing here imports torch: a dataset is a `torch.utils.data.Dataset` by protocol
(`__len__`, `__getitem__` giving numpy arrays, which the DataLoader turns into tensors),
so the hub side (no torch) and the user image (torch) share the code.
"""

from __future__ import annotations

from hub.ai.chips import ChipDataset, ChipError, ChipSpec, chips
from hub.ai.inference import Predictor, predict_area
from hub.ai.labels import IGNORE, LabelError, Labels, bundled_labels, read_labels
from hub.ai.splits import ChipSubset, split_by_tile, split_by_time

__all__ = [
    "IGNORE",
    "ChipDataset",
    "ChipError",
    "ChipSpec",
    "ChipSubset",
    "LabelError",
    "Labels",
    "Predictor",
    "bundled_labels",
    "chips",
    "predict_area",
    "read_labels",
    "split_by_tile",
    "split_by_time",
]
