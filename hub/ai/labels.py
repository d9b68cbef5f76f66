"""Label polygons (GeoJSON, GeoPackage, anything GDAL reads) and their raster on a grid."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hub.errors import SdlError

if TYPE_CHECKING:
    from odc.geo.geobox import GeoBox

#: label value of pixels no polygon covers (and of cloudy pixels in chips): the
#: `ignore_index` of torch's CrossEntropyLoss
IGNORE = 255
_said: set[tuple[str, str, str]] = set()  # (source, from, to): each reprojection said once


class LabelError(SdlError, ValueError):
    """Labels that cannot be used as asked; the message says what to change."""


class LabelCRSWarning(UserWarning):
    """Labels were reprojected to the data's CRS."""


@dataclass(frozen=True)
class Labels:
    """Polygons with a class each; `classes[i]` is the name of label value i."""

    frame: Any  # geopandas.GeoDataFrame, columns `class` and `geometry`
    classes: tuple[str, ...]
    source: str

    @property
    def crs(self) -> str:
        return str(self.frame.crs)

    def bounds_lonlat(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) in degrees."""
        west, south, east, north = self.frame.to_crs(4326).total_bounds
        return float(west), float(south), float(east), float(north)


def bundled_labels(site: str = "lulea") -> Path:
    """The hand-drawn land-cover polygons shipped for a sample site (see their README)."""
    folder = resources.files("hub.ai") / "labels"
    path = Path(str(folder / f"{site}.geojson"))
    if not path.is_file():
        have = sorted(p.stem for p in Path(str(folder)).glob("*.geojson"))
        raise LabelError(f"no bundled labels for site {site!r}; there are: {', '.join(have)}")
    return path


def read_labels(
    source: str | Path | Any,
    *,
    class_field: str = "class",
    classes: Sequence[str] | None = None,
    layer: str | None = None,
) -> Labels:
    """Read polygons with a class attribute; `classes` fixes the order of label values.

    Every class in `classes` must have polygons, and every polygon's class must be in it.
    """
    import geopandas as gpd

    if isinstance(source, gpd.GeoDataFrame):
        frame, name = source, "labels (a GeoDataFrame)"
    else:
        path = Path(source).expanduser()
        if not path.exists():
            raise LabelError(f"{path}: no such labels file")
        frame = gpd.read_file(path, layer=layer, engine="pyogrio")
        name = path.name
    if frame.crs is None:
        raise LabelError(f"{name} has no CRS; set one (e.g. frame.set_crs('EPSG:4326'))")
    if class_field not in frame.columns:
        fields = ", ".join(c for c in frame.columns if c != "geometry")
        raise LabelError(f"{name} has no field {class_field!r}; its fields are: {fields}")
    frame = frame[~(frame.geometry.is_empty | frame.geometry.isna())]
    kinds = set(frame.geom_type)
    if not kinds <= {"Polygon", "MultiPolygon"}:
        raise LabelError(f"{name}: labels must be polygons, found {', '.join(sorted(kinds))}")
    found = frame[class_field].astype(str)
    order = tuple(classes) if classes is not None else tuple(sorted(set(found)))
    if len(order) > IGNORE:
        raise LabelError(f"{name}: at most {IGNORE} classes, found {len(order)}")
    empty = [c for c in order if c not in set(found)]
    if empty:
        raise LabelError(
            f"{name}: class {', '.join(map(repr, empty))} has no polygons; "
            f"it has: {', '.join(sorted(set(found)))} (drop it from classes= or draw some)"
        )
    unknown = sorted(set(found) - set(order))
    if unknown:
        raise LabelError(f"{name}: polygons of {unknown} are not in classes={list(order)}")
    out = gpd.GeoDataFrame({"class": found.values}, geometry=frame.geometry.values, crs=frame.crs)
    return Labels(out, order, name)


def rasterise(labels: Labels, geobox: GeoBox) -> np.ndarray:
    """Label values on `geobox`'s pixels (IGNORE where no polygon); later polygons win.

    Labels in another CRS are reprojected (said once per source); labels that miss the
    grid, and classes that cover no pixel of it, are errors.
    """
    from pyproj import CRS
    from rasterio.features import rasterize
    from shapely.geometry import box

    if geobox.crs is None:
        raise LabelError("the data's grid has no CRS: labels cannot be placed on it")
    epsg = geobox.crs.epsg
    target = f"EPSG:{epsg}" if epsg else geobox.crs.to_wkt()
    frame = labels.frame
    if CRS.from_user_input(frame.crs) != CRS.from_user_input(target):
        key = (labels.source, str(frame.crs), target)
        if key not in _said:
            _said.add(key)
            warnings.warn(
                f"{labels.source} is in {frame.crs.to_string()}; reprojected to {target}, "
                "the data's grid",
                LabelCRSWarning,
                stacklevel=4,  # the caller of chips()
            )
        frame = frame.to_crs(target)
    extent = box(*geobox.extent.boundingbox)
    inside = frame.geometry.intersects(extent)
    if not inside.any():
        west, south, east, north = labels.bounds_lonlat()
        data = geobox.extent.to_crs("EPSG:4326").boundingbox
        raise LabelError(
            f"{labels.source} lies outside the data: labels span lon {west:.4f}..{east:.4f}, "
            f"lat {south:.4f}..{north:.4f}; the data lon {data.left:.4f}..{data.right:.4f}, "
            f"lat {data.bottom:.4f}..{data.top:.4f}"
        )
    codes = {name: i for i, name in enumerate(labels.classes)}
    chosen = frame[inside]
    shapes = [(g, codes[c]) for g, c in zip(chosen.geometry, chosen["class"], strict=True)]
    raster = rasterize(
        shapes, out_shape=geobox.shape.yx, transform=geobox.affine, fill=IGNORE, dtype="uint8"
    )
    counts = np.bincount(raster.ravel(), minlength=IGNORE + 1)
    empty = [name for name, i in codes.items() if counts[i] == 0]
    if empty:
        raise LabelError(
            f"{labels.source}: class {', '.join(map(repr, empty))} covers no pixel of the "
            f"data's grid at {abs(geobox.resolution.x):g} m (outside the area, or smaller than "
            "a pixel); draw larger polygons there or leave the class out"
        )
    return raster
