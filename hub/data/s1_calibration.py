"""Sentinel-1 GRD digital numbers -> sigma0 with thermal noise removed (ESA's formulas).

    sigma0 = (DN^2 - N) / A^2

A is the sigmaNought calibration LUT and N the thermal noise power: the range noise LUT
times, from IPF 2.9 on, the azimuth noise LUT of the sub-swath block a pixel lies in.
The LUTs are given on sparse lines and pixels; each is interpolated linearly along the
pixels of its own line, then linearly between lines (ESA's "bilinear" recommendation).
Negative results (noise larger than the signal, over calm water) become 0; DN 0 (the
swath's no-data border) becomes NaN. Rows are processed in blocks on threads: numpy
releases the GIL, so both cores work and no full-size temporary is held.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from hub.data.s1_safe import AzimuthBlock, Polarisation, Vector

BLOCK_LINES = 512


class LineLut:
    """A LUT given on some lines: full rows per vector, interpolated between lines."""

    def __init__(self, vectors: Sequence[Vector], samples: int) -> None:
        ordered = sorted(vectors, key=lambda v: v.line)
        columns = np.arange(samples, dtype=np.float64)
        self.lines = np.array([v.line for v in ordered], dtype=np.float64)
        self.rows = np.stack(
            [np.interp(columns, v.pixels, v.values).astype(np.float32) for v in ordered]
        )

    def block(self, first: int, count: int) -> np.ndarray:
        """The LUT on image lines first .. first+count-1, every sample (float32)."""
        lines = np.arange(first, first + count, dtype=np.float64)
        if len(self.lines) == 1:
            return np.broadcast_to(self.rows[0], (count, self.rows.shape[1])).copy()
        upper = np.clip(np.searchsorted(self.lines, lines, side="right"), 1, len(self.lines) - 1)
        lower = upper - 1
        span = self.lines[upper] - self.lines[lower]
        weight = np.clip((lines - self.lines[lower]) / span, 0.0, 1.0).astype(np.float32)
        out = self.rows[lower] * (1 - weight)[:, None]
        out += self.rows[upper] * weight[:, None]
        return out


def azimuth_factor(
    blocks: Sequence[AzimuthBlock], first: int, count: int, samples: int
) -> np.ndarray:
    """The azimuth noise LUT on lines first..first+count-1 (1 where no block covers)."""
    factor = np.ones((count, samples), dtype=np.float32)
    lines = np.arange(first, first + count, dtype=np.float64)
    for block in blocks:
        rows = (lines >= block.first_line) & (lines <= block.last_line)
        if not rows.any():
            continue
        values = np.interp(lines[rows], block.lines, block.values).astype(np.float32)
        cols = slice(block.first_sample, block.last_sample + 1)
        factor[np.flatnonzero(rows), cols] = values[:, None]
    return factor


def sigma0(dn: np.ndarray, pol: Polarisation, threads: int = 2) -> np.ndarray:
    """Calibrated, noise-removed sigma0 (linear, float32) of a whole measurement."""
    lines, samples = dn.shape
    calibration = LineLut(pol.calibration, samples)
    noise = LineLut(pol.noise_range, samples)
    out = np.empty((lines, samples), dtype=np.float32)

    def one(first: int) -> None:
        count = min(BLOCK_LINES, lines - first)
        block = dn[first : first + count].astype(np.float32)
        border = block == 0
        np.square(block, out=block)
        power = noise.block(first, count)
        if pol.noise_azimuth:
            power *= azimuth_factor(pol.noise_azimuth, first, count, samples)
        block -= power
        np.maximum(block, 0.0, out=block)
        amplitude = calibration.block(first, count)
        block /= np.square(amplitude, out=amplitude)
        block[border] = np.nan
        out[first : first + count] = block

    with ThreadPoolExecutor(max(1, threads)) as pool:
        list(pool.map(one, range(0, lines, BLOCK_LINES)))
    return out
