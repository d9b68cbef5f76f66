"""Archive-scale benchmark (issue 12), one command:

    python benchmarks/data/archive.py [--products 4] [--repeat 2]

Writes benchmarks/results/archive.json and archive.md. Full-size 10980 px products:
real ESA metadata from tests/data/real/ with bands rebuilt on the grids it declares
(tests/support/real_products.rebuild). Measures:
1. seconds per product to index without conversion (`sdl data add`, 1 worker);
2. `--convert cog --crs EPSG:3006` against a plain GDAL warp + COG write of the same
   bands (rasterio's WarpedVRT copied by the COG driver, same creation options);
3. parallel efficiency of the backfill on a 2-worker Dask cluster (`add(dask=...)`,
   with `--convert cog` so each product is seconds of work);
4. the projected time to backfill the lab's archive (3.6 TB L1C + 7.3 TB L2A), with the
   product sizes ESA's manifests list for the real fixtures;
5. `eo.load` from JP2 against a raw rasterio warp of the same pixels.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from statistics import mean

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.data.run import raw_warp  # noqa: E402
from hub.db.embedded import EmbeddedPostgres  # noqa: E402
from hub.settings import Settings, load_settings  # noqa: E402
from tests.support.real_products import REAL, SAFES, ZIPS, rebuild  # noqa: E402

LAB_ARCHIVE_TB = {"L1C": 3.6, "L2A": 7.3}
SVALBARD = next(p for p in SAFES if "T33XWJ" in p.name)  # near 15 E: SWEREF 99 TM's meridian
LOAD_BANDS = ["B02", "B03", "B04", "B08"]


def settings_for(data_dir: Path, database: str) -> Settings:
    return load_settings(overrides={"data_dir": str(data_dir), "database": {"name": database}})


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def fresh_index(tmp: Path, name: str) -> Settings:
    from hub.data.index import init_index

    settings = settings_for(tmp, name)
    init_index(settings)
    return settings


def bench_index(tmp: Path, products: list[Path]) -> dict:
    from hub.data.index import add

    settings = fresh_index(tmp, "bench_archive_index")
    seconds, result = timed(lambda: add(products, settings, workers=1))
    assert result.ok, [o.reason for o in result.outcomes if o.status == "rejected"]
    return {
        "products": len(products),
        "seconds_per_product": round(seconds / len(products), 2),
        "target_seconds_per_product_per_core": 3.0,
    }


def gdal_plain_cog(files: dict[str, str], out: Path, crs: str) -> None:
    """What GDAL alone does: warp each band (VRT) and write it with the COG driver."""
    import rasterio
    from rasterio.shutil import copy as rio_copy
    from rasterio.vrt import WarpedVRT
    from rasterio.warp import Resampling

    from hub.data.convert import COG_OPTIONS

    out.mkdir(parents=True, exist_ok=True)
    for band, path in files.items():
        resampling = Resampling.nearest if band == "SCL" else Resampling.bilinear
        with rasterio.open(path) as src:
            res = abs(src.transform.a)
            with WarpedVRT(src, crs=crs, resampling=resampling, resolution=res, nodata=0) as vrt:
                rio_copy(vrt, out / f"{band}.tif", **COG_OPTIONS)


def bench_convert(tmp: Path, product: Path, repeat: int) -> dict:
    from hub.data.convert import convert
    from hub.data.safe import read_safe

    item = read_safe(product)
    ours, plain = [], []
    for i in range(repeat):
        seconds, converted = timed(lambda: convert(item, "cog", "EPSG:3006"))
        ours.append(seconds)
        cogs = sum(Path(f).stat().st_size for f in converted.files.values())
        shutil.rmtree(Path(next(iter(converted.files.values()))).parent)
        seconds, _ = timed(lambda i=i: gdal_plain_cog(item.files, tmp / f"gdal-{i}", "EPSG:3006"))
        plain.append(seconds)
        gdal_bytes = sum(p.stat().st_size for p in (tmp / f"gdal-{i}").glob("*.tif"))
        shutil.rmtree(tmp / f"gdal-{i}")
    jp2 = sum(Path(f).stat().st_size for f in item.files.values())
    return {
        "product": product.name,
        "bands": len(item.files),
        "sdl_convert_s": round(min(ours), 2),
        "gdal_warp_cog_s": round(min(plain), 2),
        "speed_vs_gdal": round(min(plain) / min(ours), 3),
        "target_speed_vs_gdal": 0.8,
        "bytes_cog": cogs,
        "bytes_gdal_cog": gdal_bytes,
        "bytes_source_jp2": jp2,
        "note": "bands are rebuilt (coarse blocks), so bytes here say little about real "
        "scenes; data.md has COG/JP2 bytes on the sample's realistic scene",
    }


def bench_dask(tmp: Path, products: list[Path]) -> dict:
    from distributed import LocalCluster

    from hub.data.index import add

    seconds = {}
    for workers in (1, 2):
        settings = fresh_index(tmp, f"bench_archive_dask{workers}")
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True) as cluster:
            address = cluster.scheduler_address
            # with --convert cog: seconds of work per product, so the split is what counts
            elapsed, result = timed(
                lambda s=settings, a=address: add(products, s, dask=a, convert="cog")
            )
            for outcome in result.outcomes:  # the copies go again for the next run
                shutil.rmtree(Path(outcome.source).parent / f"{outcome.label}_cog", True)
            assert result.ok, [o.reason for o in result.outcomes if o.status == "rejected"]
        seconds[workers] = elapsed
    return {
        "products": len(products),
        "seconds_1_worker": round(seconds[1], 2),
        "seconds_2_workers": round(seconds[2], 2),
        "parallel_efficiency": round(seconds[1] / (2 * seconds[2]), 3),
        "target_parallel_efficiency": 0.8,
    }


def product_bytes(product: Path) -> int:
    """The size of the real product, as its manifest.safe lists every file."""
    if product.is_dir():
        text = (product / "manifest.safe").read_text()
    else:
        import zipfile

        with zipfile.ZipFile(product) as archive:
            name = next(n for n in archive.namelist() if n.endswith("/manifest.safe"))
            text = archive.read(name).decode()
    return sum(int(size) for size in re.findall(r'size="(\d+)"', text))


def projection(seconds_per_product: float, efficiency: float) -> dict:
    sizes: dict[str, list[int]] = {"L1C": [], "L2A": []}
    for product in ZIPS + SAFES:
        sizes["L1C" if "MSIL1C" in product.name else "L2A"].append(product_bytes(product))
    counts = {level: int(tb * 1e12 / mean(sizes[level])) for level, tb in LAB_ARCHIVE_TB.items()}
    total = sum(counts.values())
    hours = {
        str(cores): round(total * seconds_per_product / (cores * max(efficiency, 0.01)) / 3600, 1)
        for cores in (2, 16, 64)
    }
    return {
        "mean_product_gb": {k: round(mean(v) / 1e9, 3) for k, v in sizes.items()},
        "products_in_archive": counts,
        "hours_to_index_on_cores": hours,
    }


def bench_load(tmp: Path, product: Path, repeat: int) -> dict:
    from odc.geo.geom import box

    from hub import eo
    from hub.data.db import admin_url
    from hub.data.index import add
    from hub.data.safe import read_safe

    settings = fresh_index(tmp, "bench_archive_load")
    assert add([product], settings).ok
    item = read_safe(product)
    from shapely.geometry import shape

    centre = shape(item.doc["geometry"]).representative_point()  # inside the data
    x, y = round(centre.x, -1), round(centre.y, -1)
    area = box(x - 10_000, y - 10_000, x + 10_000, y + 10_000, item.doc["crs"])
    with admin_url(settings) as url:
        dc = eo.connect(url)
        query = {"geometry": area, "bands": LOAD_BANDS, "mask_clouds": False}
        helper = [timed(lambda: eo.load(**query, dask_chunks=None, dc=dc)) for _ in range(repeat)]
        t_helper, data = min(helper, key=lambda pair: pair[0])
        gbox = data.odc.geobox

        runs = (timed(lambda: raw_warp(item, gbox, LOAD_BANDS)) for _ in range(repeat))
        t_raw, arrays = min(runs, key=lambda pair: pair[0])
        same = min(float((data[b].values[0] == arrays[b]).mean()) for b in LOAD_BANDS)
        dc.close()
    mpix = gbox.shape.x * gbox.shape.y * len(LOAD_BANDS) / 1e6
    return {
        "output_mpix": round(mpix, 2),
        "helper_s": round(t_helper, 2),
        "raw_warp_s": round(t_raw, 2),
        "helper_vs_raw": round(t_raw / t_helper, 3),
        "target_helper_vs_raw": 0.9,
        "share_of_pixels_equal_to_raw": round(same, 4),
    }


def to_markdown(results: dict) -> str:
    idx, conv, dask, proj, load = (
        results[k] for k in ("index", "convert", "dask", "projection", "load")
    )
    hours = ", ".join(f"{h} h on {c} cores" for c, h in proj["hours_to_index_on_cores"].items())
    return "\n".join(
        [
            "# Archive-scale benchmark (issue 12)",
            "",
            f"Full-size products (10980 px at 10 m): real ESA metadata from `{REAL.name}/`, "
            "bands rebuilt on the declared grids. 2 cores.",
            "",
            "| measure | result | target |",
            "|---|---|---|",
            f"| index without conversion, s per product (1 worker) | "
            f"{idx['seconds_per_product']} | < 3 |",
            f"| `--convert cog --crs EPSG:3006` vs GDAL warp + COG (speed ratio) | "
            f"{conv['speed_vs_gdal']} ({conv['sdl_convert_s']} s vs "
            f"{conv['gdal_warp_cog_s']} s, {conv['bands']} bands) | >= 0.8 |",
            f"| backfill (`--convert cog`) parallel efficiency, 2 Dask workers | "
            f"{dask['parallel_efficiency']} "
            f"({dask['seconds_1_worker']} s vs {dask['seconds_2_workers']} s, "
            f"{dask['products']} products) | >= 0.8 |",
            f"| `eo.load` from JP2 vs raw rasterio warp | {load['helper_vs_raw']} "
            f"({load['helper_s']} s vs {load['raw_warp_s']} s, {load['output_mpix']} Mpix, "
            f"{load['share_of_pixels_equal_to_raw']:.2%} of pixels equal) | >= 0.9 |",
            "",
            f"Projected time to index the lab's archive ({proj['products_in_archive']} "
            f"products at the fixtures' mean sizes {proj['mean_product_gb']} GB): {hours}.",
            "",
            f"Bytes: {conv['note']}.",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=4, help="full-size products to rebuild")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results" / "archive.json"
    )
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sdl-bench-archive-", dir="/tmp"))
    tmp.chmod(0o755)
    try:
        sources = [SVALBARD, *ZIPS][: args.products]
        products = [rebuild(p, tmp / f"p{i}", seed=i) for i, p in enumerate(sources)]
        with EmbeddedPostgres(tmp).ensure_running():
            results = {"index": bench_index(tmp, products)}
            results["convert"] = bench_convert(tmp, products[0], args.repeat)
            results["dask"] = bench_dask(tmp, products)
            results["projection"] = projection(
                results["index"]["seconds_per_product"], results["dask"]["parallel_efficiency"]
            )
            results["load"] = bench_load(tmp, products[0], args.repeat)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(to_markdown(results) + "\n")
    print(to_markdown(results))


if __name__ == "__main__":
    main()
