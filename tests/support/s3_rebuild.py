"""Real Sentinel-3 products rebuilt with measurement files, for end-to-end tests.

The public test copies (stactools-packages/sentinel3) keep ESA's real xfdumanifest.xml
but their netCDF files are empty shells (global attributes, no variables). The swath's
geolocation is rebuilt from the product's own footprint (the manifest's gml:posList):
its four corners and four edges span the swath as a Coons patch (bilinearly blended
edges) in an azimuthal projection centred on it. A crop of that swath at the
product's own pixel spacing is written (`s3_write`), with band values that encode the
swath pixel's row and column, so a regridded pixel tells where it came from.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import xarray as xr
from pyproj import Transformer

from hub.data.s3_meta import parse_manifest
from hub.data.s3_products import S3Product, product_for
from hub.data.s3_write import write_measurements


def _centre(lat: np.ndarray, lon: np.ndarray) -> tuple[float, float]:
    """Mean direction of the ring's points (works across the antimeridian and poles)."""
    la, lo = np.radians(lat), np.radians(lon)
    x, y, z = (np.cos(la) * np.cos(lo)).mean(), (np.cos(la) * np.sin(lo)).mean(), np.sin(la).mean()
    return float(np.degrees(np.arctan2(z, np.hypot(x, y)))), float(np.degrees(np.arctan2(y, x)))


def _resample_edge(points: np.ndarray, n: int) -> np.ndarray:
    """n points along a polyline, evenly by arc length."""
    step = np.r_[0, np.cumsum(np.hypot(*np.diff(points, axis=0).T))]
    at = np.linspace(0, step[-1], n)
    return np.c_[np.interp(at, step, points[:, 0]), np.interp(at, step, points[:, 1])]


def swath_from_footprint(
    footprint: list[tuple[float, float]], shape: tuple[int, int], window: tuple[slice, slice]
) -> tuple[Transformer, np.ndarray, np.ndarray]:
    """Projected x, y of the pixels in `window` of the (rows, columns) swath that the
    footprint outlines (the whole swath would be some 20 M points)."""
    ring = np.array(footprint[:-1] if footprint[0] == footprint[-1] else footprint)
    lat0, lon0 = _centre(ring[:, 0], ring[:, 1])
    to_plane = Transformer.from_crs(
        "EPSG:4326", f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +units=m", always_xy=True
    )
    xy = np.c_[to_plane.transform(ring[:, 1], ring[:, 0])]
    before, after = xy - np.roll(xy, 1, axis=0), np.roll(xy, -1, axis=0) - xy
    turn = np.abs(
        np.arctan2(
            before[:, 0] * after[:, 1] - before[:, 1] * after[:, 0], (before * after).sum(axis=1)
        )
    )
    corners = sorted(np.argsort(turn)[-4:])
    edges = [
        np.r_[xy[a : b + 1]] if b > a else np.r_[xy[a:], xy[: b + 1]]
        for a, b in zip(corners, [*corners[1:], corners[0]], strict=True)
    ]
    lengths = [float(np.hypot(*np.diff(e, axis=0).T).sum()) for e in edges]
    rows, cols = shape
    # the pair of opposite edges whose length fits the columns runs across the track
    if abs((lengths[0] + lengths[2]) / (lengths[1] + lengths[3]) - cols / rows) > abs(
        (lengths[1] + lengths[3]) / (lengths[0] + lengths[2]) - cols / rows
    ):
        edges = edges[1:] + edges[:1]
    top = _resample_edge(edges[0], cols)
    right = _resample_edge(edges[1], rows)
    bottom = _resample_edge(edges[2][::-1], cols)
    left = _resample_edge(edges[3][::-1], rows)
    corner = {"tl": top[0], "tr": top[-1], "bl": bottom[0], "br": bottom[-1]}
    rs, cs = window
    top, bottom, left, right = top[cs], bottom[cs], left[rs], right[rs]
    u = np.linspace(0, 1, cols)[cs][None, :, None]
    v = np.linspace(0, 1, rows)[rs][:, None, None]
    patch = (
        (1 - v) * top[None]
        + v * bottom[None]
        + (1 - u) * left[:, None]
        + u * right[:, None]
        - ((1 - u) * (1 - v) * corner["tl"] + u * (1 - v) * corner["tr"])
        - ((1 - u) * v * corner["bl"] + u * v * corner["br"])
    )
    return to_plane, patch[..., 0], patch[..., 1]


def rebuild(real: Path, out: Path, crop: int = 160) -> Path:
    """Copy a real product's manifest into `out` and write a `crop` x `crop` swath crop
    from the middle of its footprint: every band's file, the geolocation file with the
    real one's global attributes. Values: radiance/reflectance encode (row, col)."""
    manifest = parse_manifest((real / "xfdumanifest.xml").read_bytes(), str(real))
    product: S3Product = product_for(manifest.product_type, str(real))
    target = out / real.name
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    shutil.copy(real / "xfdumanifest.xml", target / "xfdumanifest.xml")
    rows, cols = manifest.shape
    r0, c0 = rows // 2 - crop // 2, cols // 2 - crop // 2
    window = (slice(r0, r0 + crop), slice(c0, c0 + crop))
    to_plane, x, y = swath_from_footprint(manifest.footprint, manifest.shape, window)
    lon, lat = to_plane.transform(x, y, direction="INVERSE")
    values = pixel_codes(product, crop)
    with xr.open_dataset(real / product.geolocation, engine="h5netcdf") as shell:
        attrs = dict(shell.attrs)
    write_measurements(target, product, np.asarray(lat), np.asarray(lon), values, attrs)
    return target


def pixel_codes(product: S3Product, size: int) -> dict[str, np.ndarray]:
    """The flags band holds the pixel's number + 2 (row * size + col + 2: never a product's
    flag nodata); the others smooth ramps in range of their packing."""
    rows, cols = np.mgrid[0:size, 0:size]
    values: dict[str, np.ndarray] = {}
    for i, band in enumerate(product.bands):
        if band.flags:
            values[band.name] = (rows * size + cols + 2).astype(band.dtype)
        elif band.calibration == "reflectance":
            values[band.name] = (0.01 + 1e-4 * rows + 1e-6 * cols).astype("float64")
        else:
            values[band.name] = (1.0 + rows + cols / 1000 + i).astype("float64")
    return values
