"""Sentinel-1 GRD ingest against GDAL's own GCP warp (issue 17), one command:

    python benchmarks/data/sentinel1.py [--factor 1] [--crs EPSG:32631]

Writes benchmarks/results/sentinel1.json and sentinel1.md. The product is the real IW
GRDH product of tests/data/real/sentinel-1 (26144 x 16676 px per polarisation, its own
geolocation grid, calibration and noise annotations) with measurement TIFFs rebuilt on
that grid (tests/support/s1_products.rebuild); `--factor N` reduces it N-fold per axis.

Measured in the same run, per product (both polarisations):
1. our ingest: `s1_ingest.build` (read, sigma0 with noise removed, TPS geocoding onto a
   10 m grid, float32 COG);
2. GDAL alone: `gdalwarp -tps` of each measurement onto the same grid, same COG options
   (only warp and write: no calibration).
The target is a speed ratio (GDAL seconds / ours) of at least 0.8.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from hub.data.s1_ingest import COG_OPTIONS, read_s1, target_geobox  # noqa: E402
from hub.data.s1_safe import read_product  # noqa: E402
from hub.settings.sentinel1 import Sentinel1Grid  # noqa: E402
from tests.support.s1_products import IW, files_of, rebuild  # noqa: E402


def gdalwarp(source: Path, target: Path, crs: str, bounds: tuple[float, ...], res: float) -> float:
    options = [f"{k}={v}" for k, v in COG_OPTIONS.items() if k != "driver"]
    creation = [part for option in [*options, "NUM_THREADS=ALL_CPUS"] for part in ("-co", option)]
    warp = ["-tps", "-t_srs", crs, "-te", *map(str, bounds), "-tr", str(res), str(res)]
    pixels = ["-r", "bilinear", "-ot", "Float32", "-srcnodata", "0", "-dstnodata", "nan"]
    threads = ["-multi", "-wo", "NUM_THREADS=ALL_CPUS"]
    command = ["gdalwarp", "-q", "-overwrite", *warp, *pixels, *threads, "-of", "COG"]
    command += [*creation, str(source), str(target)]
    started = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factor", type=int, default=1, help="reduce the product N-fold")
    parser.add_argument("--crs", default="EPSG:32631", help="target grid (UTM 31N: France)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    if shutil.which("gdalwarp") is None:
        print("gdalwarp not found (apt-get install gdal-bin)", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="sdl-bench-s1-"))
    try:
        started = time.perf_counter()
        safe = rebuild(IW, tmp, factor=args.factor)
        rebuild_s = time.perf_counter() - started
        product = read_product(safe)
        first = next(iter(product.polarisations.values()))
        res = 10.0 * args.factor
        grid = Sentinel1Grid(crs=args.crs, iw_resolution=res)
        gbox = target_geobox(first, args.crs, res)
        bounds = gbox.boundingbox
        item = read_s1(safe, grid)
        started = time.perf_counter()
        built = item.build(item) if item.build else item
        ours = time.perf_counter() - started
        gdal = 0.0
        for pol in product.polarisations:
            gdal += gdalwarp(
                files_of(safe, "measurement", pol),
                tmp / f"gdal_{pol}.tif",
                args.crs,
                (bounds.left, bounds.bottom, bounds.right, bounds.top),
                res,
            )
        result = {
            "product": product.name,
            "factor": args.factor,
            "pixels_per_polarisation": [first.lines, first.samples],
            "polarisations": list(product.polarisations),
            "output_grid": [*gbox.shape.yx, res, args.crs],
            "rebuild_s": round(rebuild_s, 1),
            "ours_s": round(ours, 1),
            "gdalwarp_tps_s": round(gdal, 1),
            "speed_ratio": round(gdal / ours, 2),
            "target": 0.8,
            "files": sorted(Path(p).name for p in built.files.values()),
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "sentinel1.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "sentinel1.md").write_text(
        "# Sentinel-1 GRD ingest vs gdalwarp -tps\n\n"
        f"{result['product']} at 1/{args.factor} per axis: {first.lines} x {first.samples} px "
        f"per polarisation, {len(product.polarisations)} polarisations, onto "
        f"{gbox.shape.y} x {gbox.shape.x} px at {res:g} m in {args.crs}.\n\n"
        "| measure | seconds |\n| --- | --- |\n"
        f"| our ingest (sigma0, noise removal, TPS geocoding, COG) | {result['ours_s']} |\n"
        f"| gdalwarp -tps + COG of the same measurements | {result['gdalwarp_tps_s']} |\n"
        f"| speed ratio (GDAL / ours; target >= 0.8) | {result['speed_ratio']} |\n"
    )
    print(json.dumps(result, indent=2))
    return 0 if result["speed_ratio"] >= 0.8 else 1


if __name__ == "__main__":
    sys.exit(main())
