"""Benchmarks of the EO data layer (issue 3), one command:

    python benchmarks/data/run.py [--size 2400] [--search-sizes 10000,100000,1000000]

Writes benchmarks/results/data.json and data.md. Three parts:
1. load the same pixels (4 x 10 m bands of one L2A product, to EPSG:3006 at 10 m) with
   raw rasterio warp, the platform helper (hub.eo via datacube) and odc-stac, from the
   source JP2 and from the converted COGs; plus the bytes each format takes;
2. datasets indexed per second: `sdl data add` vs `datacube dataset add`, same documents;
3. bbox + time search latency (p50/p95) on synthetic indexes of growing size.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from hub.db.embedded import EmbeddedPostgres  # noqa: E402
from hub.settings import Settings, load_settings  # noqa: E402

BANDS = ["B02", "B03", "B04", "B08"]


def settings_for(data_dir: Path, database: str) -> Settings:
    return load_settings(overrides={"data_dir": str(data_dir), "database": {"name": database}})


def best_of(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), result


# -- 1. loading ---------------------------------------------------------------------------
def stac_item(doc: dict, files: dict[str, str]) -> dict:
    """A STAC item (proj extension) for odc-stac, from an eo3 document and its band files."""
    from odc.geo.geom import Geometry

    assets = {}
    for band in BANDS:
        grid = doc["grids"][doc["measurements"][band].get("grid", "default")]
        assets[band] = {
            "href": files[band],
            "roles": ["data"],
            "proj:shape": grid["shape"],
            "proj:transform": grid["transform"][:6],
        }
    footprint = Geometry(doc["geometry"], crs=doc["crs"]).to_crs("EPSG:4326")
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": ["https://stac-extensions.github.io/projection/v1.1.0/schema.json"],
        "id": doc["label"],
        "geometry": footprint.json,
        "bbox": list(footprint.boundingbox),
        "properties": {"datetime": doc["properties"]["datetime"], "proj:epsg": int(doc["crs"][5:])},
        "assets": assets,
    }


def raw_warp(item, gbox, bands: list[str]) -> dict:
    """The same pixels with plain rasterio: each band warped onto `gbox`, nearest."""
    import numpy as np
    import rasterio
    from rasterio.warp import Resampling, reproject

    out = {}
    for band in bands:
        with rasterio.open(item.files[band]) as src:
            dst = np.zeros(gbox.shape.yx, dtype="uint16")
            reproject(
                rasterio.band(src, 1),
                dst,
                dst_transform=gbox.transform,
                dst_crs=gbox.crs.wkt,
                src_nodata=0,
                dst_nodata=0,
                resampling=Resampling.nearest,
            )
            out[band] = dst
    return out


def bench_load(tmp: Path, size: int, repeat: int) -> dict:
    import odc.stac
    import pystac

    from hub import eo
    from hub.data import sample, synth
    from hub.data.convert import convert
    from hub.data.db import admin_url
    from hub.data.index import add, init_index
    from hub.data.safe import read_safe

    site = sample.SITES[0]
    scene = synth.make_scene(site.name, "2026-07-27", 208, size, site.water_share, 0.0, False)
    safe = sample.write_product(tmp / "archive", site, "2026-07-27", "S2B", "L2A", scene)
    jp2 = read_safe(safe)
    cog = convert(jp2, "cog")
    sources = {"jp2": (jp2, safe), "cog": (cog, Path(cog.location[7:]))}
    results: dict = {"size_px": size, "bands": BANDS, "repeat": repeat}
    for fmt, (item, path) in sources.items():
        settings = settings_for(tmp, f"bench_load_{fmt}")
        init_index(settings)
        assert add([path], settings).ok
        with admin_url(settings) as url:
            dc = eo.connect(url)
            area = area_of(item)

            def helper(dc=dc, area=area):
                return eo.load(
                    geometry=area, bands=BANDS, mask_clouds=False, dask_chunks=None, dc=dc
                )

            t_helper, ds = best_of(helper, repeat)
            gbox = ds.odc.geobox

            t_raw, arrays = best_of(
                lambda item=item, gbox=gbox: raw_warp(item, gbox, BANDS), repeat
            )
            stac = pystac.Item.from_dict(stac_item(item.doc, item.files))

            def with_odc_stac(stac=stac, gbox=gbox):
                return odc.stac.load(
                    [stac], bands=BANDS, geobox=gbox, resampling="nearest", chunks=None
                )

            t_stac, via_stac = best_of(with_odc_stac, repeat)
            same = min(
                min(
                    float((ds[b].values[0] == arrays[b]).mean()),
                    float((via_stac[b].values[0] == arrays[b]).mean()),
                )
                for b in BANDS
            )
            mpix = gbox.shape.x * gbox.shape.y * len(BANDS) / 1e6
            results[fmt] = {
                "output_mpix": round(mpix, 3),
                "raw_warp_mpix_s": round(mpix / t_raw, 2),
                "helper_mpix_s": round(mpix / t_helper, 2),
                "odc_stac_mpix_s": round(mpix / t_stac, 2),
                "helper_vs_raw": round(t_raw / t_helper, 3),
                "helper_vs_odc_stac": round(t_stac / t_helper, 3),
                "share_of_pixels_equal_to_raw": round(same, 4),
                "bytes_all_bands": sum(Path(f).stat().st_size for f in item.files.values()),
                "bytes_4_bands": sum(Path(item.files[b]).stat().st_size for b in BANDS),
            }
            dc.close()
    results["cog_vs_jp2_speed_helper"] = round(
        results["cog"]["helper_mpix_s"] / results["jp2"]["helper_mpix_s"], 2
    )
    results["cog_vs_jp2_speed_raw"] = round(
        results["cog"]["raw_warp_mpix_s"] / results["jp2"]["raw_warp_mpix_s"], 2
    )
    results["cog_vs_jp2_bytes"] = round(
        results["cog"]["bytes_all_bands"] / results["jp2"]["bytes_all_bands"], 3
    )
    return results


def area_of(item):
    from odc.geo.geom import Geometry

    return Geometry(item.doc["geometry"], crs=item.doc["crs"]).buffer(-100)


# -- 2. indexing rate -------------------------------------------------------------------
def bench_indexing(tmp: Path, copies: int) -> dict:
    import os
    import subprocess
    import uuid

    import yaml

    from hub.data.db import admin_url
    from hub.data.index import add, init_index
    from hub.data.safe import read_safe
    from hub.data.sample import generate

    docs_dir = tmp / "docs"
    docs_dir.mkdir()
    paths = []
    for safe in generate(tmp / "sample"):
        item = read_safe(safe)
        for i in range(copies):
            doc = json.loads(json.dumps(item.doc))
            doc["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{item.label}/{i}"))
            doc["label"] = f"{item.label}_copy{i}"
            for band, entry in doc["measurements"].items():
                entry["path"] = item.files[band]
            path = docs_dir / f"{doc['label']}.odc-metadata.yaml"
            path.write_text(yaml.safe_dump(doc, sort_keys=False))
            paths.append(path)
    result: dict = {"documents": len(paths)}
    for workers in (1, 2):
        settings = settings_for(tmp, f"bench_add_sdl_{workers}")
        init_index(settings)
        started = time.perf_counter()
        outcome = add(paths, settings, workers=workers)
        seconds = time.perf_counter() - started
        assert outcome.count("added") == len(paths), outcome.outcomes[:3]
        result[f"sdl_add_workers{workers}_datasets_s"] = round(len(paths) / seconds, 1)
    settings = settings_for(tmp, "bench_add_datacube")
    init_index(settings)
    with admin_url(settings) as url:
        env = {
            **os.environ,
            "ODC_ENVIRONMENT": "bench",
            "ODC_BENCH_DB_URL": url,
            "ODC_BENCH_INDEX_DRIVER": "postgres",
        }
        started = time.perf_counter()
        done = subprocess.run(
            ["datacube", "dataset", "add", "--no-verify-lineage", *map(str, paths)],
            env=env,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - started
    if done.returncode != 0:
        result["datacube_error"] = done.stderr[-500:]
    else:
        result["datacube_dataset_add_datasets_s"] = round(len(paths) / seconds, 1)
    result["note"] = (
        "sdl data add decodes every band of every product before indexing "
        "(truncation checks); datacube dataset add only reads the documents"
    )
    return result


# -- 3. search scaling ------------------------------------------------------------------
INSERT = """
INSERT INTO agdc.dataset (id, metadata_type_ref, dataset_type_ref, metadata, added_by)
SELECT md5('bench' || g)::uuid, :mdt, :product,
  jsonb_build_object(
    '$schema', 'https://schemas.opendatacube.org/dataset', 'id', md5('bench' || g)::uuid,
    'label', 'synthetic_' || g, 'product', jsonb_build_object('name', 's2_l2a'),
    'crs', 'epsg:32634',
    'properties', jsonb_build_object(
      'datetime', to_char(timestamptz '2015-07-01' + (g / :tiles) * :step * interval '1 second',
                          'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
      'eo:platform', 'sentinel-2b', 'eo:constellation', 'sentinel-2',
      'processing:level', 'L2A', 'eo:cloud_cover', (g::bigint * 7919) % 100,
      'odc:region_code', 'T' || (g % :tiles)),
    'extent', jsonb_build_object(
      'lat', jsonb_build_object('begin', 55 + ((g % :tiles) / 20) * 0.7,
                                'end', 55 + ((g % :tiles) / 20) * 0.7 + 1.0),
      'lon', jsonb_build_object('begin', 11 + ((g % :tiles) % 20) * 0.65,
                                'end', 11 + ((g % :tiles) % 20) * 0.65 + 2.0)))
  , 'bench'
FROM generate_series(:first, :last) AS g
"""


def bench_search(tmp: Path, sizes: list[int], queries: int) -> dict:
    import datetime as dt
    import random

    import sqlalchemy as sa
    from datacube.model import Range

    from hub.data.db import admin_url, connect
    from hub.data.index import init_index

    settings = settings_for(tmp, "bench_search")
    init_index(settings)
    tiles = 400  # 20 x 20 tiles of ~1 x 2 degrees over Sweden
    span = (dt.datetime(2026, 7, 1) - dt.datetime(2015, 7, 1)).total_seconds()
    out: dict = {"tiles": tiles, "queries": queries, "sizes": {}}
    with admin_url(settings) as url:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            mdt = conn.execute(sa.text("SELECT id FROM agdc.metadata_type WHERE name='eo3_sdl'"))
            mdt_id = mdt.scalar_one()
            product = conn.execute(sa.text("SELECT id FROM agdc.dataset_type WHERE name='s2_l2a'"))
            product_id = product.scalar_one()
        index = connect(url)
        done = 0
        for size in sorted(sizes):
            step = span / (size / tiles)
            started = time.perf_counter()
            with engine.begin() as conn:
                # re-spread the existing rows in time for this size, then add the rest
                conn.execute(sa.text("DELETE FROM agdc.dataset WHERE added_by = 'bench'"))
                for first in range(0, size, 100_000):
                    conn.execute(
                        sa.text(INSERT),
                        {
                            "mdt": mdt_id,
                            "product": product_id,
                            "tiles": tiles,
                            "step": step,
                            "first": first,
                            "last": min(size, first + 100_000) - 1,
                        },
                    )
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE agdc.dataset"))
            load_s = time.perf_counter() - started
            done = size
            rng = random.Random(size)
            latencies, hits = [], []
            for _ in range(queries):
                lat0, lon0 = rng.uniform(55.5, 68.5), rng.uniform(11.5, 23.5)
                start = dt.datetime(2015, 7, 1) + dt.timedelta(days=rng.uniform(0, 3900))
                query = {
                    "lat": Range(lat0, lat0 + 0.3),
                    "lon": Range(lon0, lon0 + 0.3),
                    "time": Range(start, start + dt.timedelta(days=90)),
                }
                t0 = time.perf_counter()
                found = list(index.datasets.search_returning(("id",), product="s2_l2a", **query))
                latencies.append((time.perf_counter() - t0) * 1000)
                hits.append(len(found))
            latencies.sort()
            out["sizes"][str(done)] = {
                "insert_and_analyze_s": round(load_s, 1),
                "p50_ms": round(latencies[len(latencies) // 2], 2),
                "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1], 2),
                "mean_hits": round(sum(hits) / len(hits), 1),
            }
            print(f"search at {size}: {out['sizes'][str(done)]}", file=sys.stderr)
        index.close()
        engine.dispose()
    out["indexes"] = (
        "datacube's own per-product GiST indexes on (lat, lon, time) and "
        "(time, lat, lon) ranges; nothing else was needed"
    )
    return out


def to_markdown(results: dict) -> str:
    """A short human-readable report next to the JSON, with the issue's targets."""
    lines = ["# EO data layer benchmark (issue 3)", ""]
    load = results.get("load")
    if load:
        lines += [
            f"Load {len(load['bands'])} x 10 m bands of one {load['size_px']} px L2A "
            "product to EPSG:3006 at 10 m (best of "
            f"{load['repeat']}); Mpix/s of output:",
            "",
            "| source | raw warp | helper | odc-stac | helper/raw (>=0.9) | "
            "helper/odc-stac (>=1.0) | bytes |",
            "|---|---|---|---|---|---|---|",
        ]
        for fmt in ("jp2", "cog"):
            r = load[fmt]
            lines.append(
                f"| {fmt} | {r['raw_warp_mpix_s']} | {r['helper_mpix_s']} | "
                f"{r['odc_stac_mpix_s']} | {r['helper_vs_raw']} | "
                f"{r['helper_vs_odc_stac']} | {r['bytes_all_bands']} |"
            )
        lines += [
            "",
            f"COG vs JP2: {load['cog_vs_jp2_speed_helper']}x faster via the helper "
            f"(target >= 3), {load['cog_vs_jp2_bytes']}x the bytes (target <= 1.3).",
            "",
        ]
    indexing = results.get("indexing")
    if indexing:
        lines += [
            f"Indexing {indexing['documents']} eo3 documents, datasets/s: "
            + ", ".join(f"{k} = {v}" for k, v in indexing.items() if k.endswith("_s")),
            "",
            indexing["note"],
            "",
        ]
    search = results.get("search")
    if search:
        lines += [
            "bbox (0.3 deg) + 90-day search, datacube `search_returning`:",
            "",
            "| datasets | p50 ms | p95 ms (target < 100 at 10^6) | mean hits |",
            "|---|---|---|---|",
        ]
        for size, r in search["sizes"].items():
            lines.append(f"| {size} | {r['p50_ms']} | {r['p95_ms']} | {r['mean_hits']} |")
        lines += ["", f"Indexes: {search['indexes']}.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2400, help="product width in 10 m px (x6)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--copies", type=int, default=5, help="documents per sample product")
    parser.add_argument("--search-sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--only", choices=["load", "index", "search"], action="append")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "data.json")
    args = parser.parse_args()
    parts = args.only or ["load", "index", "search"]
    tmp = Path(tempfile.mkdtemp(dir="/tmp", prefix="sdl-bench-"))
    tmp.chmod(0o755)
    results: dict = {"machine": {"cpus": __import__("os").cpu_count()}}
    with EmbeddedPostgres(tmp).ensure_running():
        if "load" in parts:
            results["load"] = bench_load(tmp, args.size, args.repeat)
            print(json.dumps(results["load"], indent=1), file=sys.stderr)
        if "index" in parts:
            results["indexing"] = bench_indexing(tmp, args.copies)
            print(json.dumps(results["indexing"], indent=1), file=sys.stderr)
        if "search" in parts:
            sizes = [int(s) for s in args.search_sizes.split(",")]
            results["search"] = bench_search(tmp, sizes, args.queries)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(to_markdown(results))
    print(f"results: {args.out}")
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
