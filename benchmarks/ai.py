"""Chips per second from the index into a training loop (issue 18), one command:

    python benchmarks/ai.py [--size 32] [--epochs 2]

Writes benchmarks/results/ai.json and ai.md. On the sample cube (Luleå, the bundled
labels, four summer dates), in one run:
1. raw: plain rasterio window reads of the same chips (each band and SCL warped onto the
   chip's EPSG:3006 grid with WarpedVRT, nearest; clouds masked, reflectance computed
   by hand), fed to the same loop;
2. cold: `hub.ai.chips` with an empty Zarr cache, through torch's DataLoader;
3. cache: the next epochs, from the cache (a cache under 512 MB is read whole into
   memory at its first use: hub.ai.cache.MEMORY_MIRROR_BYTES); and, for comparison, the
   same epoch reading every chip from Zarr on its own (no memory copy).
Each path runs two loops: batches only (the DataLoader's batches moved to the device:
the data path the targets are about) and with a small CNN's forward and backward pass
per batch (2 cores, torch threads 2: what a training loop sees, where the model's step,
the same for every path, narrows the ratios). Targets, on the data path: cold >= 0.8x
raw, cache >= 5x cold. Pixels of raw and hub.ai are compared: the share that are equal.
On a GPU machine the same loop runs on CUDA, with the GPU's utilisation sampled by
nvidia-smi during the cached epochs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hub.db.embedded import EmbeddedPostgres  # noqa: E402
from hub.settings import load_settings  # noqa: E402

TIME = ("2026-06-01", "2026-08-31")
SCL_INVALID = (0, 1, 3, 8, 9, 10)


def index_sample(tmp: Path):
    from hub.data import sample
    from hub.data.index import add, init_index

    settings = load_settings(overrides={"data_dir": str(tmp)})
    init_index(settings)
    out = settings.archive / "sample"
    sample.generate(out)
    assert add([out], settings, workers=2).ok
    return settings


def raw_chip(files: dict[str, str], offset: float, gbox, bands: list[str]) -> np.ndarray:
    """One chip by hand: every band and SCL warped onto the chip's grid, then masked."""
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.vrt import WarpedVRT

    ny, nx = gbox.shape.yx

    def read(path: str) -> np.ndarray:
        with (
            rasterio.open(path) as src,
            WarpedVRT(
                src,
                crs="EPSG:3006",
                transform=gbox.affine,
                width=nx,
                height=ny,
                resampling=Resampling.nearest,
            ) as vrt,
        ):
            return vrt.read(1)

    scl = read(files["scl"])
    clear = ~np.isin(scl, SCL_INVALID)
    out = np.empty((len(bands), ny, nx), dtype="float32")
    for i, band in enumerate(bands):
        dn = read(files[band]).astype("float32")
        out[i] = np.where(clear & (dn != 0), (dn + offset) / 10000.0, np.nan)
    return out


def band_files(dc, dataset, bands: list[str]) -> dict[str, str]:
    from datacube.utils.uris import uri_resolve

    from hub.eo import resolve_bands

    names = resolve_bands(dataset.product, [*bands, "scl"])
    base = dataset.uri
    return {
        b: uri_resolve(base, dataset.measurements[m]["path"]).removeprefix("file://")
        for b, m in names.items()
    }


class Net:
    """A small fully convolutional net: what the notebooks train."""

    def __new__(cls, bands: int, classes: int):
        import torch.nn as nn

        return nn.Sequential(
            nn.Conv2d(bands, 16, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(16, 16, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(16, classes, 1),
        )


def run_epoch(loader, model, optimiser, device) -> tuple[float, int]:
    """One pass: batches to the device, and with a model its forward and backward pass."""
    import torch

    loss_fn = torch.nn.CrossEntropyLoss(ignore_index=255)
    started, count = time.perf_counter(), 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        if model is not None:
            optimiser.zero_grad()
            loss = loss_fn(model(x), y)
            if torch.isfinite(loss):  # a batch of only cloudy pixels has nothing to learn
                loss.backward()
                optimiser.step()
        count += len(x)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started, count


class RawChips:
    """The same items as a ChipDataset, read with plain rasterio (the baseline)."""

    def __init__(self, dataset, files_per_time, offsets) -> None:
        self.dataset, self.files, self.offsets = dataset, files_per_time, offsets

    def __len__(self) -> int:
        return len(self.dataset)

    def raw(self, index: int) -> np.ndarray:
        item = self.dataset.items[index]
        return raw_chip(
            self.files[item.time],
            self.offsets[item.time],
            self.dataset.chip_geobox(index),
            list(self.dataset.spec.bands),
        )

    def __getitem__(self, index: int):
        from hub.ai.labels import IGNORE

        x = self.raw(index)
        item = self.dataset.items[index]
        y = self.dataset._labels_of(item.row, item.col).astype("int64")
        y[np.isnan(x).any(axis=0)] = IGNORE
        return np.nan_to_num(x, nan=0.0), y


class GpuSampler:
    """nvidia-smi's utilisation every 0.2 s while the cached epochs run."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            out = subprocess.run(
                ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"],
                capture_output=True,
                text=True,
            )
            if out.returncode == 0 and out.stdout.strip():
                self.samples.append(float(out.stdout.split()[0]))
            self._stop.wait(0.2)

    def __enter__(self) -> GpuSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def bench(url: str, tmp: Path, size: int, epochs: int, batch: int) -> dict:
    import torch
    from torch.utils.data import DataLoader

    from hub import ai, eo

    torch.set_num_threads(2)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dc = eo.connect(url)
    labels = ai.read_labels(ai.bundled_labels("lulea"))
    cache = tmp / "chips.zarr"
    data = ai.chips(labels, time=TIME, size=size, dc=dc)
    bands = list(data.spec.bands)
    west, south, east, north = labels.bounds_lonlat()
    found = dc.find_datasets(product="s2_l2a", time=TIME, x=(west, east), y=(south, north))
    by_day = {np.datetime64(ds.center_time.replace(tzinfo=None), "D"): ds for ds in found}
    days = [np.datetime64(t, "D") for t in data.times]
    files = [band_files(dc, by_day[d], bands) for d in days]
    offsets = [float(by_day[d].metadata_doc["properties"].get("s2:add_offset", 0)) for d in days]
    raw = RawChips(data, files, offsets)

    def loop(dataset, with_model: bool) -> tuple[float, int]:
        torch.manual_seed(0)
        model = Net(len(bands), len(data.classes)).to(device) if with_model else None
        optimiser = torch.optim.Adam(model.parameters(), lr=1e-3) if model else None
        loader = DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=0)
        return run_epoch(loader, model, optimiser, device)

    # equal pixels: the same chips through both paths (before the timed runs: warm files)
    sample_ids = list(range(0, len(data), max(1, len(data) // 20)))
    equal = [
        np.mean(np.isclose(raw.raw(i), data.read(i), equal_nan=True, rtol=0, atol=1e-6))
        for i in sample_ids
    ]
    result: dict = {
        "device": str(device),
        "torch": torch.__version__,
        "chips": len(data),
        "chip_px": size,
        "bands": bands,
        "time_slices": len(data.times),
        "batch": batch,
        "pixels_equal_share": round(float(np.mean(equal)), 4),
        "targets": {"cold_vs_raw": 0.8, "cache_vs_cold": 5},
    }
    sampler = None
    for kind, with_model in (("loader", False), ("cnn", True)):
        shutil.rmtree(cache, ignore_errors=True)
        data = ai.chips(labels, time=TIME, size=size, cache=cache, dc=dc)
        raw_s, raw_n = loop(RawChips(data, files, offsets), with_model)
        cold_s, cold_n = loop(data, with_model)
        if with_model and device.type == "cuda":
            sampler = GpuSampler().__enter__()
        cache_s = min(loop(data, with_model)[0] for _ in range(epochs))
        if sampler:
            sampler.__exit__()
        per_chip = ai.chips(labels, time=TIME, size=size, cache=cache, dc=dc)
        assert per_chip.cache is not None and per_chip.cache.cached() == len(data)
        per_chip.cache._mirrored = False  # every chip from Zarr on its own
        per_chip_s, _ = loop(per_chip, with_model)
        rates = {
            "raw_chips_per_s": round(raw_n / raw_s, 1),
            "cold_chips_per_s": round(cold_n / cold_s, 1),
            "cache_chips_per_s": round(len(data) / cache_s, 1),
            "cache_per_chip_zarr_chips_per_s": round(len(data) / per_chip_s, 1),
        }
        rates["cold_vs_raw"] = round(rates["cold_chips_per_s"] / rates["raw_chips_per_s"], 2)
        rates["cache_vs_cold"] = round(rates["cache_chips_per_s"] / rates["cold_chips_per_s"], 2)
        result[kind] = rates
    result["cache_mb"] = round(
        sum(f.stat().st_size for f in cache.rglob("*") if f.is_file()) / 1e6, 1
    )
    if sampler:
        result["gpu_utilisation_percent"] = {
            "mean": round(float(np.mean(sampler.samples)), 1) if sampler.samples else None,
            "max": max(sampler.samples, default=None),
            "samples": len(sampler.samples),
        }
    loader = result["loader"]
    result["met"] = loader["cold_vs_raw"] >= 0.8 and loader["cache_vs_cold"] >= 5
    return result


def to_markdown(r: dict) -> str:
    lines = [
        f"# hub.ai chips into a training loop ({r['device']}, torch {r['torch']})",
        "",
        f"{r['chips']} chips of {r['chip_px']} px, bands {', '.join(r['bands'])}, "
        f"{r['time_slices']} time slices, batch {r['batch']}, shuffled, DataLoader with "
        "num_workers=0, one run on 2 cores shared with other work.",
        "",
        "| path | loop: batches only (chips/s) | ratio | loop: small CNN step (chips/s) "
        "| ratio | target |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    a, b = r["loader"], r["cnn"]
    lines += [
        f"| raw rasterio window reads | {a['raw_chips_per_s']} | — | {b['raw_chips_per_s']} "
        "| — | — |",
        f"| hub.ai cold (archive → Zarr cache) | {a['cold_chips_per_s']} | "
        f"{a['cold_vs_raw']}x raw | {b['cold_chips_per_s']} | {b['cold_vs_raw']}x raw | ≥ 0.8x |",
        f"| hub.ai from the cache | {a['cache_chips_per_s']} | {a['cache_vs_cold']}x cold | "
        f"{b['cache_chips_per_s']} | {b['cache_vs_cold']}x cold | ≥ 5x |",
        f"| (cache read chip by chip from Zarr) | {a['cache_per_chip_zarr_chips_per_s']} | — | "
        f"{b['cache_per_chip_zarr_chips_per_s']} | — | — |",
        "",
        f"Pixels equal between raw and hub.ai: {100 * r['pixels_equal_share']:.2f} %. "
        f"Cache on disk: {r['cache_mb']} MB. Targets (judged on the data path, batches only: "
        f"the model's step costs every path the same): met = {r['met']}.",
    ]
    if "gpu_utilisation_percent" in r:
        g = r["gpu_utilisation_percent"]
        lines.append(f"GPU utilisation during cached epochs: mean {g['mean']} %, max {g['max']} %.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=32, help="chip size in pixels")
    parser.add_argument("--epochs", type=int, default=2, help="cached epochs (best counts)")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "ai.json")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sdl-bench-ai-", dir="/tmp"))
    tmp.chmod(0o755)
    try:
        with EmbeddedPostgres(tmp).ensure_running():
            settings = index_sample(tmp)
            from hub.data.db import admin_url

            with admin_url(settings) as url:
                result = bench(url, tmp, args.size, args.epochs, args.batch)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(to_markdown(result) + "\n")
    print(to_markdown(result))
    sys.exit(0 if result["met"] else 1)


if __name__ == "__main__":
    main()
