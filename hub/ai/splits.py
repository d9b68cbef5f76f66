"""Train/test splits that never share a pixel: by chip position (tile) or by time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from hub.ai.chips import ChipError

if TYPE_CHECKING:
    from hub.ai.chips import ChipDataset


class ChipSubset:
    """Some items of a ChipDataset (torch's Subset, without torch)."""

    def __init__(self, dataset: ChipDataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = list(indices)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        return self.dataset[self.indices[index]]


def split_by_tile(
    dataset: ChipDataset, test_fraction: float = 0.3, seed: int = 0
) -> tuple[ChipSubset, ChipSubset]:
    """Chip positions drawn at random into test; every time slice of a position with it.

    Chips do not overlap, so the two sides share no ground, at any date.
    """
    positions = sorted({(i.row, i.col) for i in dataset.items})
    if len(positions) < 2:
        raise ChipError(
            f"one chip position only ({dataset.spec.size} px): a tile split needs two; "
            "use smaller chips, a larger area or split_by_time"
        )
    rng = np.random.default_rng(seed)
    count = min(max(1, round(test_fraction * len(positions))), len(positions) - 1)
    chosen = {positions[i] for i in rng.choice(len(positions), count, replace=False)}
    test = [n for n, i in enumerate(dataset.items) if (i.row, i.col) in chosen]
    train = [n for n, i in enumerate(dataset.items) if (i.row, i.col) not in chosen]
    return ChipSubset(dataset, train), ChipSubset(dataset, test)


def split_by_time(
    dataset: ChipDataset, test_from: str | np.datetime64
) -> tuple[ChipSubset, ChipSubset]:
    """Time slices before `test_from` train, the rest test (a model meets a later season)."""
    cut = np.datetime64(str(test_from), "ns")
    late = {t for t, when in enumerate(dataset.times) if when >= cut}
    if not late or len(late) == len(dataset.times):
        dates = ", ".join(np.datetime_as_string(dataset.times, unit="D"))
        raise ChipError(f"test_from={test_from} leaves one side empty; the dates are: {dates}")
    train = [n for n, i in enumerate(dataset.items) if i.time not in late]
    test = [n for n, i in enumerate(dataset.items) if i.time in late]
    return ChipSubset(dataset, train), ChipSubset(dataset, test)
