"""Sentinel-3 ingest benchmark (issue 17), one command:

    python benchmarks/data/sentinel3.py [--scale 1.0] [--repeat 1]

Writes benchmarks/results/sentinel3.json and sentinel3.md. One full-size OLCI EFR
product (4865 x 4091 pixels, 21 radiance bands and the quality flags; `--scale` shrinks
both sides) written as ESA writes it (`hub.data.s3_write`), over southern Sweden, then:
1. our ingest: `read_sen3` + the regridding `sdl data add` runs (satpy reads, pyresample
   nearest neighbour onto EPSG:3006 at 300 m, one COG per band);
2. GDAL's own geolocation-array warp of the same product in the same run: `gdalwarp
   -geoloc -r near` of a VRT of the 21 radiance bands (scale applied, Float32) and one of
   the flags, onto the same grid, written as COGs with the same compression.
Target: GDAL's time / ours >= 0.8.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
from pyproj import CRS

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from hub.data.s3_products import EFR, OLCI_WAVELENGTHS  # noqa: E402
from hub.data.s3_write import ManifestFacts, manifest_xml, packed, write_nc  # noqa: E402
from hub.data.sentinel3 import read_sen3  # noqa: E402
from hub.settings.sentinel3 import Sentinel3Grid  # noqa: E402

ROWS, COLS = 4091, 4865
NAME = (
    "S3A_OL_1_EFR____20260702T095812_20260702T100112_20260702T115812_0180_141_022_1980_LN1_O_NT_004"
)


def write_product(out: Path, rows: int, cols: int) -> Path:
    """A full-size EFR over southern Sweden: a rotated 300 m grid, smooth band values."""
    from pyproj import Transformer

    folder = out / f"{NAME}.SEN3"
    folder.mkdir(parents=True)
    cx, cy = Transformer.from_crs(4326, 3006, always_xy=True).transform(15.0, 62.0)
    heading = math.radians(-13)
    r, c = np.mgrid[0:rows, 0:cols].astype("float64")
    across, along = (c - cols / 2) * 300.0, (r - rows / 2) * 300.0
    x = cx + across * math.cos(heading) + along * math.sin(heading)
    y = cy + across * math.sin(heading) - along * math.cos(heading)
    lon, lat = Transformer.from_crs(3006, 4326, always_xy=True).transform(x, y)
    lat_v, lat_p = packed(lat, "latlon")
    lon_v, lon_p = packed(lon, "latlon")
    write_nc(
        folder / "geo_coordinates.nc",
        {
            "latitude": (lat_v, lat_p | {"standard_name": "latitude"}),
            "longitude": (lon_v, lon_p | {"standard_name": "longitude"}),
        },
    )
    texture = (np.sin(x / 2100) * np.cos(y / 1700)).astype("float32")
    del x, y, r, c, across, along
    files = ["geo_coordinates.nc"]
    for i, code in enumerate(OLCI_WAVELENGTHS):
        values, packing = packed(40 + 3 * i + 20 * texture, "radiance")
        write_nc(folder / f"{code}_radiance.nc", {f"{code}_radiance": (values, packing)})
        files.append(f"{code}_radiance.nc")
    flags = np.where(texture > 0.5, 1 << 29, 1 << 31).astype("uint32")
    write_nc(folder / "qualityFlags.nc", {"quality_flags": (flags, {})})
    write_nc(
        folder / "instrument_data.nc", {"detector_index": (np.zeros((rows, cols), "int16"), {})}
    )
    files += ["qualityFlags.nc", "instrument_data.nc"]
    start = dt.datetime(2026, 7, 2, 9, 58, 12, tzinfo=dt.UTC)
    edge = [(0, 0), (0, cols - 1), (rows - 1, cols - 1), (rows - 1, 0), (0, 0)]
    facts = ManifestFacts(
        NAME,
        EFR,
        "A",
        "NT",
        "004",
        start,
        start + dt.timedelta(seconds=180),
        start + dt.timedelta(hours=2),
        43014,
        22,
        "descending",
        1980,
        [(float(lat[a, b]), float(lon[a, b])) for a, b in edge],
        (rows, cols),
    )
    (folder / "xfdumanifest.xml").write_text(manifest_xml(facts, folder, sorted(files)))
    return folder


def ours(product: Path) -> tuple[float, dict[str, object]]:
    started = time.perf_counter()
    item = read_sen3(product, Sentinel3Grid())
    assert item.build is not None
    built = item.build(item)
    seconds = time.perf_counter() - started
    return seconds, built.doc["grids"]["default"]


def vrt(product: Path, bands: list[tuple[str, str, float, float]], dtype: str, out: Path) -> Path:
    """A VRT of (file, variable, scale, offset) bands with the product's geolocation."""
    geo = product / "geo_coordinates.nc"
    parts = []
    for name, axis in (("lon", "longitude"), ("lat", "latitude")):
        src = f'NETCDF:"{geo}":{axis}'
        info = subprocess.run(["gdalinfo", "-json", src], capture_output=True, check=True)
        size = json.loads(info.stdout)["size"]
        parts.append((name, src, size))
    w, h = parts[0][2]
    for name, src, _ in parts:  # GDAL's geolocation arrays take no scale_factor: apply it
        (out / f"{name}.vrt").write_text(
            f'<VRTDataset rasterXSize="{w}" rasterYSize="{h}">'
            '<VRTRasterBand dataType="Float64" band="1">'
            f"<ComplexSource><SourceFilename>{src}</SourceFilename><SourceBand>1</SourceBand>"
            f"<ScaleRatio>1e-6</ScaleRatio></ComplexSource></VRTRasterBand></VRTDataset>"
        )
    meta = (
        '<Metadata domain="GEOLOCATION">'
        f'<MDI key="X_DATASET">{out / "lon.vrt"}</MDI><MDI key="X_BAND">1</MDI>'
        f'<MDI key="Y_DATASET">{out / "lat.vrt"}</MDI><MDI key="Y_BAND">1</MDI>'
        '<MDI key="PIXEL_OFFSET">0</MDI><MDI key="LINE_OFFSET">0</MDI>'
        '<MDI key="PIXEL_STEP">1</MDI><MDI key="LINE_STEP">1</MDI>'
        f'<MDI key="SRS">{escape(CRS.from_epsg(4326).to_wkt())}</MDI></Metadata>'
    )
    body = "".join(
        f'<VRTRasterBand dataType="{dtype}" band="{i + 1}"><ComplexSource>'
        f'<SourceFilename>NETCDF:"{product / file}":{var}</SourceFilename>'
        f"<SourceBand>1</SourceBand><ScaleOffset>{offset}</ScaleOffset>"
        f"<ScaleRatio>{scale}</ScaleRatio></ComplexSource></VRTRasterBand>"
        for i, (file, var, scale, offset) in enumerate(bands)
    )
    path = out / f"bands_{dtype}.vrt"
    path.write_text(f'<VRTDataset rasterXSize="{w}" rasterYSize="{h}">{meta}{body}</VRTDataset>')
    return path


def gdal(product: Path, grid: dict[str, object], out: Path) -> float:
    transform = grid["transform"]
    shape = grid["shape"]
    assert isinstance(transform, list) and isinstance(shape, list)
    left, top, res = transform[2], transform[5], transform[0]
    extent = [left, top - shape[0] * res, left + shape[1] * res, top]
    radiance = [(f"{c}_radiance.nc", f"{c}_radiance", 0.01, 0.0) for c in OLCI_WAVELENGTHS]
    flag_nodata = str(EFR.flags_band.nodata)
    jobs = [
        (vrt(product, radiance, "Float32", out), "Float32", "nan"),
        (
            vrt(product, [("qualityFlags.nc", "quality_flags", 1, 0)], "UInt32", out),
            "UInt32",
            flag_nodata,
        ),
    ]
    started = time.perf_counter()
    for source, dtype, nodata in jobs:
        subprocess.run(
            [
                "gdalwarp",
                "-q",
                "-overwrite",
                "-geoloc",
                "-r",
                "near",
                "-t_srs",
                "EPSG:3006",
                "-tr",
                str(res),
                str(res),
                "-te",
                *map(str, extent),
                "-ot",
                dtype,
                "-multi",
                "-wo",
                "NUM_THREADS=ALL_CPUS",
                "-of",
                "COG",
                "-co",
                "COMPRESS=ZSTD",
                "-co",
                f"PREDICTOR={'YES' if dtype == 'Float32' else 'NO'}",
                "-dstnodata",
                nodata,
                "-co",
                "BLOCKSIZE=512",
                "-co",
                "NUM_THREADS=ALL_CPUS",
                str(source),
                str(out / f"gdal_{dtype}.tif"),
            ],
            check=True,
        )
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="shrink both sides (0.1: quick)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "sentinel3")
    args = parser.parse_args()
    rows, cols = round(ROWS * args.scale), round(COLS * args.scale)
    runs = []
    with tempfile.TemporaryDirectory(prefix="sdl-s3-bench-") as tmp:
        started = time.perf_counter()
        product = write_product(Path(tmp), rows, cols)
        written = time.perf_counter() - started
        for _ in range(args.repeat):
            shutil.rmtree(
                next(Path(tmp).glob("*_cog_3006"), Path(tmp) / "none"), ignore_errors=True
            )
            ours_s, grid = ours(product)
            scratch = Path(tmp) / "gdal"
            shutil.rmtree(scratch, ignore_errors=True)
            scratch.mkdir()
            gdal_s = gdal(product, grid, scratch)
            runs.append({"ours_s": round(ours_s, 2), "gdal_s": round(gdal_s, 2)})
    ours_best = min(r["ours_s"] for r in runs)
    gdal_best = min(r["gdal_s"] for r in runs)
    result = {
        "product": f"OLCI EFR {cols} x {rows} px, 21 radiance bands + quality flags",
        "target_grid": f"EPSG:3006, 300 m, {grid['shape'][1]} x {grid['shape'][0]} px",
        "write_product_s": round(written, 1),
        "runs": runs,
        "ours_s": ours_best,
        "gdal_geoloc_warp_s": gdal_best,
        "speed_ratio_gdal_over_ours": round(gdal_best / ours_best, 2),
        "target": ">= 0.8",
        "machine": f"{__import__('os').cpu_count()} cores, shared with other work",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    md = [
        "# Sentinel-3 ingest benchmark",
        "",
        "| measure | result | target |",
        "| --- | --- | --- |",
        f"| {result['product']} to {result['target_grid']}: ours (satpy + pyresample + COGs) | "
        f"{ours_best:.1f} s | — |",
        "| GDAL's own `gdalwarp -geoloc -r near` of the same, same COG options | "
        f"{gdal_best:.1f} s | — |",
        f"| speed ratio (GDAL / ours) | **{result['speed_ratio_gdal_over_ours']}** | ≥ 0.8 |",
        "",
    ]
    args.out.with_suffix(".md").write_text("\n".join(md))
    print(json.dumps(result, indent=2))
    return 0 if gdal_best / ours_best >= 0.8 else 1


if __name__ == "__main__":
    raise SystemExit(main())
