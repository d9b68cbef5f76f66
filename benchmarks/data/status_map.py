"""The archive status map's render time on an index of 10^5 datasets (issue 16), one command:

    python benchmarks/data/status_map.py [--datasets 100000] [--tiles 250] [--repeat 3]

Writes benchmarks/results/status_map.json and status_map.md. Target: < 2 s for what a
browser asks the service for when it opens the page: the HTML (`GET /services/archive/`,
the server-rendered table) and the GeoJSON the page's script then fetches
(`GET api/tiles`). Both are timed as the handlers compute them (the status document,
then `page.status_page` / `json.dumps`), without the HTTP and OAuth hops, which do not
grow with the index. Measured: datacube's `search_returning` on every request (the
service before this benchmark); the service's `StatusSource` (hub.archive.index_rows) on
its first request after start (it reads every row; the service does this in the
background when it starts), on the first request after a sync added 200 datasets (it
reads only those and recomputes the tiles they touch), cached, and for a one-year range
not asked for before (rows in memory, every tile's feature computed).

The index: a real datacube index (`sdl data init`, the sample cube added through
`sdl data add`), then filled to `--datasets` rows with SQL COPY into the tables datacube
itself uses (agdc.dataset, agdc.dataset_location): datacube's Python API adds ~20
datasets/s here (hours for 10^5). Each row is one of the sample's real eo3 documents
(the L1C and L2A of one acquisition, as indexed) with a new id, label, sensing time,
MGRS code, platform, relative orbit, cloud cover and footprint: `--tiles` tiles laid out
109.8 km apart (an MGRS tile's size), each with products every 5 days (S2A and S2B
alternating, two relative orbits), L1C and L2A of each acquisition; every acquisition's
footprint is its own (a corner cut by the swath edge, different each time).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from hub.db.embedded import EmbeddedPostgres  # noqa: E402
from hub.settings import Settings, load_settings  # noqa: E402

TILE_M = 109_800.0
REVISIT_DAYS = 5  # two satellites
TARGET_S = 2.0
LETTERS = "ABCDEFGHJKLMNPQRSTUV"  # MGRS 100 km letters (no I, O)


def _shift(geometry: dict[str, Any], dx: float, dy: float, trim: float) -> dict[str, Any]:
    """The footprint's box moved by (dx, dy) m, its north-east corner cut by `trim` m (as
    the swath edge cuts a tile's valid data)."""
    ring = geometry["coordinates"][0]
    xs, ys = [x + dx for x, _ in ring], [y + dy for _, y in ring]
    w, s, e, n = min(xs), min(ys), max(xs), max(ys)
    corner = [[e, n - trim], [e - trim, n]] if trim else [[e, n]]
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], *corner, [w, n], [w, s]]]}


def templates(engine: sa.Engine) -> dict[str, tuple[int, int, dict[str, Any]]]:
    """The L1C and L2A documents of one real indexed acquisition, with their type refs."""
    by_acquisition: dict[tuple[str, str], dict[str, tuple[int, int, dict[str, Any]]]] = {}
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT metadata_type_ref, dataset_type_ref, metadata FROM agdc.dataset")
        )
        for meta_ref, type_ref, doc in rows:
            props = doc["properties"]
            key = (props["odc:region_code"], props["datetime"])
            by_acquisition.setdefault(key, {})[props["processing:level"]] = (
                meta_ref,
                type_ref,
                doc,
            )
    return next(levels for _, levels in sorted(by_acquisition.items()) if len(levels) == 2)


def fill(engine: sa.Engine, total: int, tiles: int, first: int = 0) -> float:
    """COPY rows until the index holds `total` datasets, the acquisitions of each tile
    numbered from `first`; seconds taken."""
    with engine.connect() as conn:
        held = conn.execute(sa.text("SELECT count(*) FROM agdc.dataset")).scalar_one()
    docs = templates(engine)
    per_tile = max(1, -(-(total - held) // (2 * tiles)))  # ceil: the last tiles get fewer
    start = datetime(2024, 1, 1, 10, 30, tzinfo=UTC)
    data, locations = io.StringIO(), io.StringIO()
    made = 0
    for t in range(tiles):
        code = f"33V{LETTERS[t // len(LETTERS) % len(LETTERS)]}{LETTERS[t % len(LETTERS)]}"
        dx, dy = (t % 16) * TILE_M, (t // 16) * TILE_M
        for i in range(first, first + per_tile):
            if made >= total - held:
                break
            when = start + timedelta(days=REVISIT_DAYS * i, minutes=t % 7)
            platform = "sentinel-2a" if i % 2 == 0 else "sentinel-2b"
            orbit = 22 + 100 * (i % 4 // 2)  # two relative orbits over each tile
            cloud = round((i * 37 + t * 11) % 1000 / 10, 1)
            trim = float((i * 131) % 3000)  # each acquisition its own footprint
            for level, (meta_ref, type_ref, template) in sorted(docs.items()):
                doc = copy.deepcopy(template)
                doc["id"] = str(uuid.uuid4())
                stamp = when.strftime("%Y%m%dT%H%M%S")
                doc["label"] = f"S2{platform[-1].upper()}_MSI{level}_{stamp}_R{orbit:03d}_T{code}"
                props = doc["properties"]
                props.update(
                    {
                        "datetime": when.isoformat().replace("+00:00", "Z"),
                        "odc:region_code": code,
                        "eo:platform": platform,
                        "sat:relative_orbit": orbit,
                        "eo:cloud_cover": cloud,
                    }
                )
                projection = doc["grid_spatial"]["projection"]
                projection["valid_data"] = _shift(projection["valid_data"], dx, dy, trim)
                doc["geometry"] = projection["valid_data"]
                body = json.dumps(doc).replace("\\", "\\\\")
                data.write(f"{doc['id']}\t{meta_ref}\t{type_ref}\t{body}\n")
                locations.write(f"{doc['id']}\tfile\t///archive/{doc['label']}.SAFE/MTD.xml\n")
                made += 1
    started = time.perf_counter()
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cursor:
            data.seek(0)
            cursor.copy_expert(
                "COPY agdc.dataset (id, metadata_type_ref, dataset_type_ref, metadata) FROM STDIN",
                data,
            )
            locations.seek(0)
            cursor.copy_expert(
                "COPY agdc.dataset_location (dataset_ref, uri_scheme, uri_body) FROM STDIN",
                locations,
            )
            cursor.execute("ANALYZE agdc.dataset")
        raw.commit()
    finally:
        raw.close()
    return time.perf_counter() - started


def render_once(status: Callable[[], dict[str, Any]]) -> dict[str, float]:
    """What the page's two requests cost: the HTML (with its table), then the GeoJSON."""
    from hub.archive import page

    timings = {}
    started = time.perf_counter()
    document = status()
    html = page.status_page(document, "/services/archive/", "/hub/home", "xsrf")
    timings["html_s"] = time.perf_counter() - started
    started = time.perf_counter()
    body = json.dumps(status())
    timings["json_s"] = time.perf_counter() - started
    timings["html_kb"], timings["json_kb"] = len(html) / 1024, len(body) / 1024
    timings["tiles"] = len(document["features"])
    timings["products"] = document["products"]
    return timings


def summary(label: str, runs: list[dict[str, float]]) -> dict[str, Any]:
    first = runs[0]
    return {
        "implementation": label,
        "tiles": first["tiles"],
        "products": first["products"],
        "html_kb": round(first["html_kb"], 1),
        "json_kb": round(first["json_kb"], 1),
        "first_html_s": round(first["html_s"], 3),
        "first_json_s": round(first["json_s"], 3),
        "html_s_median": round(statistics.median(r["html_s"] for r in runs), 3),
        "json_s_median": round(statistics.median(r["json_s"] for r in runs), 3),
        "repeat": len(runs),
    }


SYNC_TILES, SYNC_ACQUISITIONS = 50, 2  # what one daily sync adds: 200 datasets


def measure(settings: Settings, repeat: int, tiles: int) -> list[dict[str, Any]]:
    """The page's two requests: with datacube's API on every request (the service before
    this benchmark); with the service's StatusSource: right after its start (it reads
    every row), after a sync added datasets (it reads only those), cached, and for a
    time range not asked for before."""
    from hub.archive.index_rows import StatusSource
    from hub.archive.status import tile_status
    from hub.data.db import admin_url, connect

    results = []
    with admin_url(settings) as url:
        index = connect(url)
        try:
            runs = [render_once(lambda: tile_status(index)) for _ in range(max(1, repeat // 2))]
        finally:
            index.close()
        results.append(summary("datacube search_returning, every request (before)", runs))
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            held = conn.execute(sa.text("SELECT count(*) FROM agdc.dataset")).scalar_one()
        starts, syncs = [], []
        for k in range(repeat):
            source = StatusSource(url, recheck_s=0)  # every request looks at the index
            starts.append(render_once(source.status))
            # a sync: new acquisitions of SYNC_TILES tiles, L1C and L2A
            held += 2 * SYNC_TILES * SYNC_ACQUISITIONS
            fill(engine, held, SYNC_TILES, first=400 + k * SYNC_ACQUISITIONS)
            syncs.append(render_once(source.status))
            if k < repeat - 1:
                source.close()
        engine.dispose()
        results.append(summary("StatusSource, first request after the service starts", starts))
        results.append(
            summary(
                f"StatusSource, first request after a sync added "
                f"{2 * SYNC_TILES * SYNC_ACQUISITIONS} datasets",
                syncs,
            )
        )
        results.append(
            summary("StatusSource, cached", [render_once(source.status) for _ in range(repeat)])
        )
        ranges = [(date(2024, 1 + k, 1), date(2025, 1 + k, 1)) for k in range(repeat)]
        results.append(
            summary(
                "StatusSource, a one-year range not asked for before",
                [render_once(lambda r=r: source.status(*r)) for r in ranges],
            )
        )
        source.close()
    return results


def build_index(data_dir: Path, datasets: int, tiles: int) -> tuple[Settings, dict[str, Any]]:
    from hub.data import sample
    from hub.data.db import admin_url
    from hub.data.index import add, init_index

    settings = load_settings(overrides={"data_dir": str(data_dir)})
    init_index(settings)
    out = settings.archive / "sample"
    sample.generate(out)
    result = add([out], settings, workers=2)
    assert result.ok, "the sample cube did not index"
    with admin_url(settings) as url:
        engine = sa.create_engine(url)
        copy_s = fill(engine, datasets, tiles)
        with engine.connect() as conn:
            held = conn.execute(sa.text("SELECT count(*) FROM agdc.dataset")).scalar_one()
        engine.dispose()
    return settings, {"datasets": held, "copy_s": round(copy_s, 1)}


def write_results(result: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "status_map.json").write_text(json.dumps(result, indent=2) + "\n")
    index = result["index"]
    copied = f" in {index['copy_s']} s" if index.get("copy_s") else ""
    lines = [
        "# Archive status map: render time (issue 16)",
        "",
        f"`python benchmarks/data/status_map.py` on {result['machine']}, {result['date']}.",
        f"Index: {index['datasets']} datasets (sample cube via `sdl data add`, the rest by SQL "
        f"COPY{copied}), {result['runs'][0]['tiles']} tiles. Target < {TARGET_S} s.",
        "",
        "| implementation | first HTML s | first JSON s | median HTML s | median JSON s | HTML kB | JSON kB |",  # noqa: E501
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for run in result["runs"]:
        lines.append(
            f"| {run['implementation']} | {run['first_html_s']} | {run['first_json_s']} | "
            f"{run['html_s_median']} | {run['json_s_median']} | {run['html_kb']} | {run['json_kb']} |"  # noqa: E501
        )
    (out / "status_map.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=100_000)
    parser.add_argument("--tiles", type=int, default=250)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument(
        "--keep",
        type=Path,
        help="Data dir to build the index in and keep; an index already there is reused "
        "(each run adds its syncs' datasets to it).",
    )
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        if args.keep:
            data_dir = args.keep
            data_dir.mkdir(parents=True, exist_ok=True)
        else:
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(dir="/tmp")))
        data_dir.chmod(0o755)  # the embedded PostgreSQL's own user enters it
        reuse = (data_dir / "postgres").is_dir()
        stack.enter_context(EmbeddedPostgres(data_dir).ensure_running())
        if reuse:
            settings = load_settings(overrides={"data_dir": str(data_dir)})
            index = {"datasets": held(settings), "copy_s": None, "reused": str(data_dir)}
        else:
            settings, index = build_index(data_dir, args.datasets, args.tiles)
        runs = measure(settings, args.repeat, args.tiles)
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "target_s": TARGET_S,
        "index": index,
        "runs": runs,
    }
    print(json.dumps(result, indent=2))
    write_results(result, args.out)


def held(settings: Settings) -> int:
    from hub.data.db import admin_url

    with admin_url(settings) as url:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            count = conn.execute(sa.text("SELECT count(*) FROM agdc.dataset")).scalar_one()
        engine.dispose()
    return int(count)


if __name__ == "__main__":
    main()
