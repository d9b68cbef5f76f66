"""Synthetic Sentinel-2 scenes: land cover, season and clouds as plain numpy arrays.

Pure functions (no files): `sample.py` writes what these return. Values are realistic
enough for teaching — forest has high NIR, water is dark in the infrared, clouds are
bright everywhere and cast shadows — so NDVI, cloud masks and composites look right.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from hub.data.bands import SPECTRAL, bands_for

# Surface classes (index into SPECTRA) and their Sen2Cor SCL code
WATER, FOREST, OPEN, BARE = 0, 1, 2, 3
SCL_OF_CLASS = np.array([6, 4, 4, 5], dtype=np.uint8)

# Bottom-of-atmosphere reflectance x 10000 per class and band (order of SPECTRAL)
SPECTRA = np.array(
    [
        [400, 500, 600, 350, 300, 200, 180, 150, 140, 60, 5, 80, 60],  # water
        [250, 300, 550, 280, 900, 2200, 2700, 2900, 3000, 1000, 10, 1500, 700],  # conifer forest
        [300, 420, 720, 520, 1100, 2500, 3000, 3300, 3400, 1100, 10, 2200, 1200],  # bog, meadow
        [1200, 1300, 1500, 1700, 1900, 2100, 2200, 2300, 2350, 900, 20, 2800, 2300],  # rock, town
    ],
    dtype=np.float32,
)
CLOUD = np.array(
    [6000, 6500, 6700, 6800, 7000, 7100, 7200, 7300, 7300, 3000, 900, 5000, 3500], dtype=np.float32
)
# What the atmosphere adds at the top (L1C) and how much of the surface signal gets through
PATH_RADIANCE = np.array(
    [1100, 850, 600, 400, 350, 300, 280, 250, 240, 80, 0, 120, 60], dtype=np.float32
)
TRANSMITTANCE = np.array(
    [0.8, 0.85, 0.88, 0.9, 0.92, 0.93, 0.94, 0.95, 0.95, 0.5, 0.05, 0.96, 0.96], dtype=np.float32
)
RED_EDGE_AND_NIR = [4, 5, 6, 7, 8]  # bands that follow the vegetation's greenness


@dataclass(frozen=True)
class Scene:
    """One acquisition of one window, every band at 10 m (reduced later per band)."""

    boa: dict[str, np.ndarray]  # reflectance x 10000, float32, NaN outside the swath
    toa: dict[str, np.ndarray]
    scl: np.ndarray  # uint8 at 10 m
    aot: np.ndarray  # x 1000
    wvp: np.ndarray  # cm x 1000
    cloud_cover: float  # percent of valid pixels
    valid: np.ndarray  # bool at 10 m


def seed_of(*parts: object) -> int:
    """A stable seed from names (Python's hash() changes between runs)."""
    return zlib.crc32("/".join(map(str, parts)).encode())


def smooth_noise(rng: np.random.Generator, size: int, scales: tuple[int, ...]) -> np.ndarray:
    """Sum of bilinearly upsampled random grids: blobby fields in [0, 1]."""
    field = np.zeros((size, size), dtype=np.float32)
    for weight, cells in enumerate(scales, start=1):
        coarse = rng.random((cells + 1, cells + 1), dtype=np.float32)
        pos = np.linspace(0, cells, size, dtype=np.float32)
        i0 = np.minimum(pos.astype(int), cells - 1)
        f = pos - i0
        rows = coarse[i0] * (1 - f)[:, None] + coarse[i0 + 1] * f[:, None]
        field += (rows[:, i0] * (1 - f) + rows[:, i0 + 1] * f) / weight
    field -= field.min()
    return field / max(float(field.max()), 1e-6)


def land_cover(site: str, size: int, water_share: float) -> np.ndarray:
    """A fixed land-cover map for a site: lakes/sea, forest, bogs and bare ground."""
    rng = np.random.default_rng(seed_of("land", site))
    height = smooth_noise(rng, size, (3, 7, 19))
    wetness = smooth_noise(rng, size, (5, 13, 41))
    classes = np.full((size, size), FOREST, dtype=np.uint8)
    classes[wetness > 0.62] = OPEN
    classes[(height > 0.8) & (wetness < 0.45)] = BARE
    classes[height < np.quantile(height, water_share)] = WATER
    return classes


def greenness(day_of_year: int) -> float:
    """Boreal vegetation: greening in June, peak in mid-July, browning in September."""
    return float(0.7 + 0.3 * np.exp(-(((day_of_year - 200) / 40.0) ** 2)))


def make_scene(
    site: str,
    when: str,
    day_of_year: int,
    size: int,
    water_share: float,
    cloudiness: float,
    nodata_corner: bool,
) -> Scene:
    """Render one acquisition: surface, season, clouds with shadows, atmosphere."""
    classes = land_cover(site, size, water_share)
    rng = np.random.default_rng(seed_of("scene", site, when))
    surface = SPECTRA[classes]  # (y, x, band)
    surface[..., RED_EDGE_AND_NIR] *= greenness(day_of_year)
    vegetated = classes != WATER
    surface[..., 3] = np.where(vegetated, surface[..., 3] / greenness(day_of_year), surface[..., 3])
    texture = 1 + 0.06 * (smooth_noise(rng, size, (60, 120)) - 0.5)
    surface *= texture[..., None] * rng.normal(1, 0.02, (size, size, 1)).astype(np.float32)

    opacity = np.zeros((size, size), dtype=np.float32)
    if cloudiness > 0:
        field = smooth_noise(rng, size, (2, 5, 11))
        threshold = np.quantile(field, 1 - cloudiness)
        opacity = np.clip((field - threshold) / 0.08, 0, 1).astype(np.float32)
    shift = size // 12  # the sun stands in the south: shadows fall to the north-west
    shadow = np.zeros_like(opacity)
    shadow[:-shift, :-shift] = opacity[shift:, shift:]
    lit = surface * (1 - 0.6 * shadow[..., None])
    boa = lit * (1 - opacity[..., None]) + CLOUD * opacity[..., None]
    toa = boa * TRANSMITTANCE + PATH_RADIANCE

    scl = SCL_OF_CLASS[classes].copy()
    scl[shadow > 0.5] = 3
    scl[(opacity > 0.05) & (opacity <= 0.3)] = 10
    scl[(opacity > 0.3) & (opacity <= 0.7)] = 8
    scl[opacity > 0.7] = 9
    valid = np.ones((size, size), dtype=bool)
    if nodata_corner:  # the edge of the swath cuts the tile diagonally
        yy, xx = np.mgrid[0:size, 0:size]
        valid = xx + yy > size // 3
    scl[~valid] = 0
    boa[~valid] = np.nan
    toa[~valid] = np.nan
    cloud_cover = 100.0 * float((opacity[valid] > 0.3).mean()) if valid.any() else 0.0
    aot = 120 + 40 * smooth_noise(rng, size, (3,)) + 150 * opacity
    wvp = 1400 + 300 * smooth_noise(rng, size, (4,))
    return Scene(
        boa={name: boa[..., i] for i, name in enumerate(SPECTRAL)},
        toa={name: toa[..., i] for i, name in enumerate(SPECTRAL)},
        scl=scl,
        aot=aot,
        wvp=wvp,
        cloud_cover=round(cloud_cover, 2),
        valid=valid,
    )


def reduce(array: np.ndarray, factor: int, categorical: bool = False) -> np.ndarray:
    """Coarsen a 10 m array to 20 m / 60 m: block mean, or the top-left sample for classes."""
    if factor == 1:
        return array
    if categorical:
        return array[::factor, ::factor]
    h, w = array.shape
    blocks = array[: h - h % factor, : w - w % factor].reshape(
        h // factor, factor, w // factor, factor
    )
    return blocks.mean(axis=(1, 3))


def to_dn(reflectance: np.ndarray, offset: int) -> np.ndarray:
    """Reflectance x 10000 -> uint16 digital numbers (+offset since baseline 04.00; 0 = nodata)."""
    dn = np.nan_to_num(reflectance + offset, nan=0.0)
    return np.clip(np.rint(dn), 0, 65535).astype(np.uint16)


def band_arrays(scene: Scene, level: str, offset: int) -> dict[str, np.ndarray]:
    """Every band of the level at its native resolution, as the file will hold it."""
    out: dict[str, np.ndarray] = {}
    source = scene.toa if level == "L1C" else scene.boa
    for band in bands_for(level):
        factor = band.resolution // 10
        if band.name == "SCL":
            out[band.name] = reduce(scene.scl, factor, categorical=True)
        elif band.name in ("AOT", "WVP"):
            values = scene.aot if band.name == "AOT" else scene.wvp
            valid = reduce(scene.valid, factor, categorical=True)
            out[band.name] = np.where(valid, np.rint(reduce(values, factor)), 0).astype(np.uint16)
        else:
            out[band.name] = to_dn(reduce(source[band.name], factor), offset)
    return out
