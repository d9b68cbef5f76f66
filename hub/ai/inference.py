"""Apply a model chip by chip over an area and time; write the map as a COG with provenance.

    from hub import ai
    path = ai.predict_area(ai.Predictor(forest, classes=labels.classes),
                           lon=(22.1, 22.2), lat=(65.56, 65.6), time=("2026-07", "2026-08"),
                           bands=["blue", "green", "red", "nir"], out="landcover.tif",
                           client=cluster.get_client())   # or None: this kernel's threads

The input is the clear-sky median of the time range (clouds masked from SCL), in Dask
blocks of `chip` pixels; each block is one model call, so a Dask Gateway cluster's
workers predict in parallel. Pixels without a clear observation are IGNORE (255).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from hub.ai.cache import Stats
from hub.ai.labels import IGNORE
from hub.ai.source import load_reflectance

if TYPE_CHECKING:
    from datacube import Datacube


@dataclass(frozen=True)
class Predictor:
    """A model and how to feed it: scikit-learn per pixel, PyTorch per chip.

    `stats` standardise the input as in training (ChipDataset.stats); a PyTorch model
    takes (1, bands, h, w) and returns (1, classes, h, w) scores.
    """

    model: Any
    classes: tuple[str, ...]
    stats: Stats | None = None

    @property
    def kind(self) -> str:
        is_torch = type(self.model).__module__.startswith("torch")
        return "torch" if is_torch or hasattr(self.model, "state_dict") else "sklearn"

    def describe(self) -> str:
        return f"{type(self.model).__module__}.{type(self.model).__qualname__}"

    def digest(self) -> str:
        """sha256 of the pickled model: which weights made the map."""
        if self.kind == "torch":
            state = {k: v.cpu().numpy() for k, v in self.model.state_dict().items()}
            return hashlib.sha256(pickle.dumps(state)).hexdigest()
        return hashlib.sha256(pickle.dumps(self.model)).hexdigest()

    def __call__(self, block: np.ndarray) -> np.ndarray:
        """(bands, h, w) reflectance -> (h, w) uint8 class values, IGNORE where masked."""
        clear = ~np.isnan(block).any(axis=0)
        out = np.full(block.shape[1:], IGNORE, dtype="uint8")
        if not clear.any():
            return out
        x = self.stats.apply(block) if self.stats else np.nan_to_num(block, nan=0.0)
        if self.kind == "torch":
            import torch

            self.model.eval()
            device = next(self.model.parameters()).device
            with torch.no_grad():
                scores = self.model(torch.from_numpy(x[None]).to(device))
            predicted = scores.argmax(1)[0].cpu().numpy()
            out[clear] = predicted[clear]
        else:
            out[clear] = self.model.predict(x[:, clear].T)
        return out


def _predict_block(block: np.ndarray, predictor: Predictor) -> np.ndarray:
    return predictor(block.astype("float32"))


def predict_area(
    predictor: Predictor,
    *,
    lon: tuple[float, float],
    lat: tuple[float, float],
    time: str | tuple[str, str],
    bands: Sequence[str],
    out: str | Path,
    chip: int = 256,
    resolution: float = 10,
    level: str = "L2A",
    mission: str = "sentinel-2",
    client: Any = None,
    dc: Datacube | None = None,
) -> Path:
    """Predict every pixel of the area (EPSG:3006) and write a COG with provenance tags."""
    import dask.array as da
    import odc.geo.xr  # noqa: F401  (the .odc accessor)

    data = load_reflectance(
        lon,
        lat,
        time,
        bands=bands,
        mission=mission,
        level=level,
        crs="EPSG:3006",
        resolution=resolution,
        block=chip,
        dc=dc,
    )
    stacked = data[list(bands)].to_array("band").median("time", skipna=True)
    stacked = stacked.chunk({"band": -1, "y": chip, "x": chip})
    # dask's own typing of map_blocks differs between releases: called untyped here
    classes = cast(Any, da.map_blocks)(
        _predict_block, stacked.data, predictor, drop_axis=0, dtype="uint8"
    )
    if client is not None:  # a Dask Gateway (or any distributed) cluster's workers
        values = client.compute(classes).result()
    else:
        values = classes.compute(scheduler="threads")
    path = Path(out).expanduser()
    write_cog(values, data.odc.geobox, path, provenance(predictor, data, time))
    return path


def write_cog(values: np.ndarray, geobox: Any, path: Path, tags: dict[str, str]) -> None:
    """GDAL's COG driver (tiled, overviews, LAYOUT=COG) from an in-memory copy with tags."""
    import rasterio
    from rasterio.io import MemoryFile
    from rasterio.shutil import copy

    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {
        "driver": "GTiff",
        "width": values.shape[1],
        "height": values.shape[0],
        "count": 1,
        "dtype": "uint8",
        "crs": geobox.crs.to_wkt(),
        "transform": geobox.affine,
        "nodata": IGNORE,
    }
    with MemoryFile() as memory, memory.open(**profile) as staged:
        staged.write(values, 1)
        staged.update_tags(**tags)
        staged.set_band_description(1, "class (SDL_CLASSES)")
        tmp = path.with_name(f".{path.name}.tmp")
        with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True):
            copy(staged, tmp, driver="COG", COMPRESS="DEFLATE", OVERVIEW_RESAMPLING="NEAREST")
    tmp.replace(path)  # a reader never sees a half-written map


def provenance(predictor: Predictor, data: Any, time: str | tuple[str, str]) -> dict[str, str]:
    """What made the map: model and weights, the data it read, when it ran."""
    dates = [np.datetime_as_string(t, unit="D") for t in data.time.values]
    return {
        "SDL_MODEL": predictor.describe(),
        "SDL_MODEL_SHA256": predictor.digest(),
        "SDL_CLASSES": json.dumps({str(i): name for i, name in enumerate(predictor.classes)}),
        "SDL_NODATA_MEANS": "no clear observation in the time range",
        "SDL_DATA": json.dumps(
            {
                "product": data.attrs.get("product"),
                "bands": list(data.data_vars),
                "time": list(time) if isinstance(time, tuple | list) else time,
                "dates": dates,
                "composite": "median of clear pixels (SCL cloud mask), reflectance",
            }
        ),
        "SDL_CREATED": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "TIFFTAG_DATETIME": dt.datetime.now(dt.UTC).strftime("%Y:%m:%d %H:%M:%S"),
        "TIFFTAG_SOFTWARE": "space-data-lab hub.ai.predict_area",
    }
