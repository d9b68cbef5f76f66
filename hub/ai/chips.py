"""Fixed-size training chips from the index, with labels rasterised on the same grid.

`chips(labels, time=...)` loads the labels' area lazily with `hub.eo.load` (reflectance,
clouds masked from the L2A scene classification, EPSG:3006 at 10 m by default) in Dask
chunks of exactly one chip, so reading chip i reads only its own pixels. Each item is
one chip at one time slice: `(x, y)` with x float32 (bands, size, size) and y int64
(size, size), IGNORE where no polygon lies or the pixel is cloudy.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from hub import eo
from hub.ai.cache import ChipCache, Stats
from hub.ai.labels import IGNORE, LabelError, Labels, rasterise
from hub.ai.source import load_reflectance
from hub.errors import SdlError

if TYPE_CHECKING:
    import xarray as xr
    from datacube import Datacube
    from odc.geo.geobox import GeoBox


class ChipError(SdlError, ValueError):
    """Chips that cannot be cut as asked; the message says what would work."""


@dataclass(frozen=True)
class ChipSpec:
    """What a chip holds: bands, grid, time range and where the data comes from."""

    bands: tuple[str, ...] = ("blue", "green", "red", "nir")
    size: int = 32  # pixels on each side
    resolution: float = 10
    crs: str = "EPSG:3006"
    time: tuple[str, str] | None = None
    mission: str = "sentinel-2"
    level: str = "L2A"
    mask_clouds: bool = True
    block: int = 0  # pixels per Dask chunk side, a multiple of size (0: about 512)

    @property
    def block_px(self) -> int:
        """Chips are read a block at a time: each band file is decoded once per block."""
        return self.block or self.size * max(1, 512 // self.size)


@dataclass(frozen=True)
class Item:
    """One training example: chip (row, col) of the grid at time slice `time`."""

    time: int
    row: int
    col: int


class ChipDataset:
    """A map-style dataset (torch.utils.data.Dataset by protocol) of labelled chips."""

    def __init__(
        self,
        data: xr.Dataset,
        labels: Labels,
        spec: ChipSpec,
        *,
        cache: str | Path | None = None,
        min_labelled: int = 1,
    ) -> None:
        import odc.geo.xr  # noqa: F401  (the .odc accessor)

        self.spec = spec
        self.data = data
        self.labels = labels
        self.classes = labels.classes
        self.geobox: GeoBox = data.odc.geobox
        ny, nx = self.geobox.shape.yx
        size = spec.size
        if size > ny or size > nx:
            raise ChipError(
                f"chip size {size} px ({size * spec.resolution:g} m) is larger than the area "
                f"({nx} x {ny} px at {spec.resolution:g} m); use size <= {min(nx, ny)} "
                "or a larger area"
            )
        self.label_raster = rasterise(labels, self.geobox)
        self.rows, self.cols = ny // size, nx // size
        self.times = data.time.values
        labelled = [
            (r, c)
            for r in range(self.rows)
            for c in range(self.cols)
            if np.count_nonzero(self._labels_of(r, c) != IGNORE) >= min_labelled
        ]
        if not labelled:
            raise LabelError(f"{labels.source}: no chip of {size} px holds a labelled pixel")
        self.items = [Item(t, r, c) for t in range(len(self.times)) for r, c in labelled]
        if spec.block_px % size:
            raise ChipError(f"block={spec.block} must be a multiple of the chip size {size}")
        self._graph, self._names = _chip_graph(data, spec.bands)
        self._last: tuple[tuple[int, int, int], np.ndarray] | None = None  # block in memory
        per_block = spec.block_px // size
        self._members: dict[tuple[int, int, int], list[int]] = {}
        for n, i in enumerate(self.items):
            self._members.setdefault((i.time, i.row // per_block, i.col // per_block), []).append(n)
        self.cache = (
            ChipCache(cache, self.key(), len(self.items), len(spec.bands), size)
            if cache is not None
            else None
        )
        self.stats: Stats | None = self.cache.stats() if self.cache else None

    # -- the Dataset protocol ----------------------------------------------------------
    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        x = self.read(index)
        item = self.items[index]
        y = self._labels_of(item.row, item.col).astype("int64")
        y[np.isnan(x).any(axis=0)] = IGNORE  # clouds, no data: nothing to learn there
        x = self.stats.apply(x) if self.stats is not None else np.nan_to_num(x, nan=0.0)
        return x, y

    # -- reading -----------------------------------------------------------------------
    def read(self, index: int) -> np.ndarray:
        """Chip `index` as reflectance (bands, size, size), NaN where masked: cache first.

        A chip not cached yet is read with the rest of its block (every chip of that block
        and time slice goes into the cache at once): one decode of each band file per
        block instead of one per chip.
        """
        if self.cache is not None and (hit := self.cache.get(index)) is not None:
            return hit
        item = self.items[index]
        per_block = self.spec.block_px // self.spec.size
        where = (item.time, item.row // per_block, item.col // per_block)
        if self._last is None or self._last[0] != where:
            self._last = (where, self._read_block(*where))
        block = self._last[1]
        if self.cache is not None:
            for other in self._block_members(where):
                if self.cache.get(other) is None:
                    self.cache.put(other, self._cut(block, other))
        return self._cut(block, index)

    def _read_block(self, time: int, block_row: int, block_col: int) -> np.ndarray:
        from dask.optimization import cull
        from dask.threaded import get

        keys = [(name, time, block_row, block_col) for name in self._names]
        # only this block's tasks, on threads (not a Dask Gateway client a notebook may
        # hold: a block is a small job)
        needed, _ = cast(Any, cull)(self._graph, keys)  # typed in some dask releases only
        return np.stack([part[0] for part in get(needed, keys)]).astype("float32")

    def _block_members(self, where: tuple[int, int, int]) -> list[int]:
        return self._members.get(where, [])

    def _cut(self, block: np.ndarray, index: int) -> np.ndarray:
        item, size = self.items[index], self.spec.size
        per_block = self.spec.block_px // size
        y0, x0 = (item.row % per_block) * size, (item.col % per_block) * size
        return block[:, y0 : y0 + size, x0 : x0 + size].copy()

    def fill_cache(self, indices: Iterable[int] | None = None) -> int:
        """Read every chip not cached yet (the cold epoch, without training); returns count."""
        count = 0
        for index in range(len(self)) if indices is None else indices:
            self.read(index)
            count += 1
        return count

    def fit_normalisation(self, subset: Iterable[int] | Any = None) -> Stats:
        """Per-band mean/std over the clear pixels of `subset` (the training split).

        Computed once: kept with the cache and used by every later `__getitem__`.
        """
        indices = list(getattr(subset, "indices", subset) or range(len(self)))
        digest = hashlib.sha256(json.dumps(indices).encode()).hexdigest()[:16]
        if self.stats is not None and self.stats.fitted_on == digest:
            return self.stats
        bands = len(self.spec.bands)
        total, squares, counts = np.zeros(bands), np.zeros(bands), np.zeros(bands)
        for index in indices:
            chip = self.read(index).reshape(bands, -1).astype("float64")
            clear = ~np.isnan(chip)
            total += np.where(clear, chip, 0).sum(axis=1)
            squares += np.where(clear, chip**2, 0).sum(axis=1)
            counts += clear.sum(axis=1)
        if not counts.all():
            raise ChipError("the chips to normalise on are all cloudy or empty")
        mean = total / counts
        std = np.sqrt(np.maximum(squares / counts - mean**2, 1e-12))
        self.stats = Stats(tuple(mean.tolist()), tuple(std.tolist()), len(indices), digest)
        if self.cache is not None:
            self.cache.keep_stats(self.stats)
        return self.stats

    # -- pixels, for per-pixel models (random forest) -------------------------------------
    def pixels(self, subset: Iterable[int] | Any = None) -> tuple[np.ndarray, np.ndarray]:
        """(X, y) of every labelled clear pixel: X (n, bands) reflectance, y (n,) int64."""
        indices = list(getattr(subset, "indices", subset) or range(len(self)))
        xs, ys = [], []
        for index in indices:
            chip = self.read(index)
            item = self.items[index]
            labels = self._labels_of(item.row, item.col)
            keep = (labels != IGNORE) & ~np.isnan(chip).any(axis=0)
            xs.append(chip[:, keep].T)
            ys.append(labels[keep].astype("int64"))
        return np.concatenate(xs), np.concatenate(ys)

    # -- where a chip lies ------------------------------------------------------------------
    def chip_geobox(self, index: int) -> GeoBox:
        item = self.items[index]
        ys, xs = self._window(item.row, item.col)
        return self.geobox[ys, xs]

    def pixel_ids(self, index: int) -> np.ndarray:
        """Flat ids (time, y, x) of a chip's pixels: train and test must never share one."""
        item = self.items[index]
        ny, nx = self.geobox.shape.yx
        yy, xx = np.mgrid[self._window(item.row, item.col)]
        return ((item.time * ny + yy) * nx + xx).ravel()

    def key(self) -> str:
        """What the cache must have been made for: spec, grid, time slices and chips."""
        described = {
            "spec": asdict(self.spec),
            "geobox": [str(self.geobox.crs), list(self.geobox.affine)[:6], self.geobox.shape.yx],
            "times": [str(t) for t in self.times],
            "items": [(i.time, i.row, i.col) for i in self.items],
        }
        return hashlib.sha256(json.dumps(described, default=str).encode()).hexdigest()

    def _window(self, row: int, col: int) -> tuple[slice, slice]:
        size = self.spec.size
        return slice(row * size, (row + 1) * size), slice(col * size, (col + 1) * size)

    def _labels_of(self, row: int, col: int) -> np.ndarray:
        return self.label_raster[self._window(row, col)]


def _chip_graph(data: xr.Dataset, bands: Sequence[str]) -> tuple[dict[Any, Any], list[str]]:
    """The load's task graph, optimised once; chunk (t, row, col) of a band is a block.

    Optimising the whole graph for every chip would cost more than reading the chip.
    """
    from dask.base import optimize

    arrays = [data[band].data for band in bands]
    optimised = cast(Any, optimize)(*arrays)  # typed in some dask releases only
    graph: dict[Any, Any] = {}
    for array in optimised:
        graph.update(array.__dask_graph__())
    return graph, [array.name for array in optimised]


def chips(
    labels: Labels,
    *,
    time: str | tuple[str, str] | None = None,
    bands: Sequence[str] = ChipSpec.bands,
    size: int = ChipSpec.size,
    resolution: float = ChipSpec.resolution,
    crs: str = ChipSpec.crs,
    mission: str = ChipSpec.mission,
    level: str = ChipSpec.level,
    mask_clouds: bool = True,
    lon: tuple[float, float] | None = None,
    lat: tuple[float, float] | None = None,
    cache: str | Path | None = None,
    min_labelled: int = 1,
    block: int = 0,
    dc: Datacube | None = None,
) -> ChipDataset:
    """Labelled chips over the labels' area (or lon/lat) and time, lazily from the index."""
    if lon is None or lat is None:
        west, south, east, north = labels.bounds_lonlat()
        lon, lat = (west, east), (south, north)
    times = (time, time) if isinstance(time, str) else time
    spec = ChipSpec(tuple(bands), size, resolution, crs, times, mission, level, mask_clouds, block)
    try:
        data = load_reflectance(
            lon,
            lat,
            time,
            bands=bands,
            mission=mission,
            level=level,
            crs=crs,
            resolution=resolution,
            block=spec.block_px,
            mask_clouds=mask_clouds,
            dc=dc,
        )
    except eo.QueryError as error:
        if "no " in str(error) and "datasets for" in str(error):
            raise LabelError(f"{labels.source} lies outside the data: {error}") from error
        raise
    return ChipDataset(data, labels, spec, cache=cache, min_labelled=min_labelled)
