"""The on-disk chip cache: a Zarr group beside the notebook, one chunk per chip.

The first epoch reads the archive and writes each chip here; later epochs (and later
sessions) read the chip back instead. A cache made for another query (bands, grid,
time slices, chips) is replaced, not mixed: its `key` says what it holds. The
normalisation statistics live in the group's attributes, next to the chips they
describe.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Stats:
    """Per-band mean and standard deviation over the clear pixels of some chips."""

    mean: tuple[float, ...]
    std: tuple[float, ...]
    chips: int  # how many chips they were computed from
    fitted_on: str  # a digest of which chips

    def apply(self, x: np.ndarray) -> np.ndarray:
        """(bands, y, x) reflectance -> standardised, NaN (cloud, no data) as 0."""
        mean = np.asarray(self.mean, dtype="float32")[:, None, None]
        std = np.asarray(self.std, dtype="float32")[:, None, None]
        return np.nan_to_num((x - mean) / std, nan=0.0).astype("float32")


#: a cache up to this size is also held in memory once read (one read of the whole array
#: instead of one Zarr read per chip, which costs milliseconds each)
MEMORY_MIRROR_BYTES = 512 * 2**20


class ChipCache:
    """Chips as float32 (count, bands, size, size), written on first read."""

    def __init__(self, path: str | Path, key: str, count: int, bands: int, size: int) -> None:
        import zarr

        self.path = Path(path).expanduser()
        root = zarr.open_group(str(self.path), mode="a")
        if root.attrs.get("key") != key:  # another query's chips: start again
            root = zarr.open_group(str(self.path), mode="w")
            root.attrs["key"] = key
        self._root = root
        self.x = root.require_array(
            "x",
            shape=(count, bands, size, size),
            chunks=(1, bands, size, size),
            dtype="float32",
            fill_value=float("nan"),
        )
        # one chunk per flag: DataLoader workers write different chips at the same time
        self.done = root.require_array("done", shape=(count,), chunks=(1,), dtype="bool")
        # read once: a flag read per chip would cost as much as the chip. A chip another
        # process cached meanwhile is read again from the archive here, which is harmless.
        self._done = np.asarray(self.done[:])
        self._mirrored = count * bands * size * size * 4 <= MEMORY_MIRROR_BYTES
        self._mirror: np.ndarray | None = None

    def get(self, index: int) -> np.ndarray | None:
        if not self._done[index]:
            return None
        if not self._mirrored:
            return np.asarray(self.x[index])
        if self._mirror is None:
            self._mirror = np.asarray(self.x[:])
        return self._mirror[index].copy()

    def put(self, index: int, chip: np.ndarray) -> None:
        self.x[index] = chip
        self.done[index] = True  # after the chip: a reader never sees a half-written one
        self._done[index] = True
        if self._mirror is not None:
            self._mirror[index] = chip

    def cached(self) -> int:
        return int(np.count_nonzero(self.done[:]))

    def stats(self) -> Stats | None:
        found: Any = self._root.attrs.get("stats")
        if not found:
            return None
        return Stats(
            tuple(found["mean"]), tuple(found["std"]), int(found["chips"]), found["fitted_on"]
        )

    def keep_stats(self, stats: Stats) -> None:
        self._root.attrs["stats"] = json.loads(json.dumps(stats.__dict__))
