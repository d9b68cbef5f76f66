"""`sdl data sync` throughput against local servers, and its overhead over curl (issue 16):

    python benchmarks/data/sync.py [--products 7] [--workers 2] [--rounds 5]

Writes benchmarks/results/sync.json. The servers are the sync tests' own: a real STAC API
(`rustac serve`, tests.support.stac_server.rustac_api) over items whose assets a local
threaded HTTP server with Range support serves (`AssetHost`). The products are real ESA
products (tests/data/real: their metadata as ESA wrote it) rebuilt with full-size bands
(`tests.support.real_products.rebuild`: lossless JP2 on the grid the metadata declares,
the fixtures' thumbnails upsampled, or a coarse random field), served as SAFE zips (CDSE's
shape) and, for L1C products, every other one as per-band JP2 assets (Element84's shape),
each file with `file:size` and `file:checksum`, which the sync verifies before indexing.

Measured, in one run, `--rounds` times (medians reported), each round into a fresh
archive folder and index database (the embedded PostgreSQL, as the tests use):
- the sync (`hub.data.sync.sync`, what `sdl data sync` calls): its total time, bytes
  downloaded, MB/s and products/min; the split: search and plan (until the first asset
  request), the download window (first asset request to last byte served, seen by the
  asset host), and indexing (`hub.data.index.add`, timed by wrapping it; the sync indexes
  each product as its download completes, while the others download);
- curl (subprocess, one `curl` per product fetching its files in turn, as many at once as
  the sync's workers) of the same asset URLs into a temp dir, its window seen by the same
  host; overhead = sync download window / curl window - 1 (target <= 10 %), and the whole
  sync (search, download, index) / curl window - 1, labelled as such;
- then a sync that finds nothing new: its time.
The asset host runs in a process of its own (`HostProcess`), so that serving shares no
GIL with the sync; the STAC API is a process anyway. Rebuilding the products (JP2
encoding, ~2 min for the 7 on 2 cores) comes first and is not part of any measure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402

from hub.db.embedded import EmbeddedPostgres  # noqa: E402
from hub.settings import Settings, load_settings  # noqa: E402

TARGET = 0.10  # sync download time over curl's, at most 10 % more
COLLECTION = "sentinel-2-l1c"
SINCE = "2015-06-01"


def pool() -> list[Path]:
    """Real products that rebuild and index, the L1C ones first (they can be served per
    band); the antimeridian tiles (zone 1) and one of the twins are left out."""
    from tests.support.real_products import SAFES, ZIPS

    safes = [s for s in SAFES if "_T01" not in s.name]
    return [
        *ZIPS,
        *(s for s in safes if "MSIL1C" in s.name),
        *(s for s in safes if "L2A" in s.name),
    ]


class Timeline:
    """Every asset request's start and end (perf_counter) as the asset host saw them."""

    def __init__(self, host: Any) -> None:
        self.spans: list[tuple[float, float]] = []
        self._lock = threading.Lock()
        serve: Callable[[Any], None] = host._get

        def timed(handler: Any) -> None:  # the host's own handler, timed around
            started = time.perf_counter()
            try:
                serve(handler)
            finally:
                with self._lock:
                    self.spans.append((started, time.perf_counter()))

        host._get = timed

    def take(self) -> tuple[float, float, int] | None:
        """(first start, last end, requests) since the last take; None if no request."""
        with self._lock:
            spans, self.spans = self.spans, []
        if not spans:
            return None
        return min(s for s, _ in spans), max(e for _, e in spans), len(spans)


def _host_main(root: Path, conn: Connection) -> None:
    from tests.support.stac_server import AssetHost

    host = AssetHost(root)
    timeline = Timeline(host)
    with host:
        conn.send(host.url)
        while conn.recv() == "take":
            conn.send(timeline.take())


class HostProcess:
    """The tests' AssetHost in a process of its own, so that serving does not share the
    GIL with the sync it serves (nor with its indexing); perf_counter is CLOCK_MONOTONIC,
    one clock for both processes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._conn, child = multiprocessing.Pipe()
        self._process = multiprocessing.get_context("fork").Process(
            target=_host_main, args=(root, child), daemon=True
        )

    def href(self, path: Path) -> str:
        return f"{self.url}/{path.relative_to(self.root).as_posix()}"

    def take(self) -> tuple[float, float, int] | None:
        self._conn.send("take")
        return cast(tuple[float, float, int] | None, self._conn.recv())

    def __enter__(self) -> HostProcess:
        self._process.start()
        self.url = str(self._conn.recv())
        return self

    def __exit__(self, *exc: object) -> None:
        self._conn.send("stop")
        self._process.join(timeout=10)


@contextlib.contextmanager
def timed_add() -> Iterator[list[float]]:
    """`hub.data.index.add` wrapped (the sync imports it at each call): its durations."""
    import hub.data.index as index

    durations: list[float] = []
    add = index.add

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return add(*args, **kwargs)
        finally:
            durations.append(time.perf_counter() - started)

    index.add = timed
    try:
        yield durations
    finally:
        index.add = add


def serve_products(count: int, root: Path, host: Any) -> tuple[list[dict[str, Any]], float]:
    """Rebuild `count` real products under `root` and their items (hrefs on `host`)."""
    from tests.support.real_products import rebuild
    from tests.support.stac_items import band_item, zip_item, zip_safe

    chosen = pool()[:count]
    if len(chosen) < count:
        raise SystemExit(f"--products {count}: only {len(chosen)} real products rebuild here")
    started = time.perf_counter()
    with ThreadPoolExecutor(2) as workers:  # GDAL's JP2 writer frees the GIL
        safes = list(
            workers.map(lambda k: rebuild(chosen[k], root / f"p{k}", seed=k), range(count))
        )
    items = []
    for k, safe in enumerate(safes):
        if "MSIL1C" in safe.name and k % 2 == 1:
            items.append(band_item(safe, safe, host, COLLECTION))
        else:
            served = zip_safe(safe, root)
            items.append(zip_item(safe, served, host, COLLECTION))
            shutil.rmtree(safe)
    return items, time.perf_counter() - started


def run_sync(settings: Settings, opts: Any, host: HostProcess) -> dict[str, Any]:
    from hub.data.sync import sync

    host.take()
    with timed_add() as index_s:
        started = time.perf_counter()
        result = sync(settings, opts, console=Console(stderr=True))
        ended = time.perf_counter()
    total = ended - started
    window = host.take()
    out: dict[str, Any] = {
        "total_s": round(total, 2),
        "found": result.found,
        "added": result.count("added"),
        "skipped": result.count("skipped"),
        "rejected": [f"{o.name}: {o.reason}" for o in result.outcomes if o.status == "rejected"],
        "downloaded_bytes": result.downloaded,
        "asset_requests": window[2] if window else 0,
    }
    if window and result.downloaded:
        first, last, _ = window
        mb = result.downloaded / 1e6
        out |= {
            "search_and_plan_s": round(first - started, 2),
            "download_window_s": round(last - first, 3),
            "index_s_sum": round(sum(index_s), 2),
            "index_after_last_byte_s": round(ended - last, 2),
            "mb_s_total": round(mb / total, 1),
            "mb_s_download": round(mb / (last - first), 1),
            "products_per_min": round(out["added"] / total * 60, 1),
        }
    return out


def run_curl(
    curl: str, jobs: list[list[str]], workers: int, host: HostProcess, tmp: Path
) -> dict[str, Any]:
    """One curl per product (its files in turn, one connection), `workers` at once."""
    into = Path(tempfile.mkdtemp(dir=tmp, prefix="curl-"))

    def fetch(k: int) -> int:
        args = [curl, "--silent", "--show-error", "--fail"]
        for n, url in enumerate(jobs[k]):
            args += ["-o", str(into / f"{k}-{n}"), url]
        return subprocess.run(args, capture_output=True, text=True).returncode

    host.take()
    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as threads:
        codes = list(threads.map(fetch, range(len(jobs))))
    wall = time.perf_counter() - started
    if any(codes):
        raise SystemExit(f"curl failed (exit codes {codes})")
    size = sum(f.stat().st_size for f in into.iterdir())
    shutil.rmtree(into)
    window = host.take()
    assert window is not None
    first, last, requests = window
    return {
        "wall_s": round(wall, 3),
        "window_s": round(last - first, 3),
        "bytes": size,
        "mb_s": round(size / 1e6 / (last - first), 1),
        "asset_requests": requests,
    }


def measure(args: argparse.Namespace, curl: str, tmp: Path) -> dict[str, Any]:
    """Rebuild and serve the products, then per round a sync into a fresh index database
    and archive folder and a curl of the same files; then a sync that finds nothing new."""
    from hub.data.index_schema import init_index
    from hub.data.sync import options
    from hub.data.sync_plan import plan_item
    from tests.support.stac_server import rustac_api

    data_dir = tmp / "platform"
    data_dir.mkdir()
    served = tmp / "served"
    served.mkdir()
    served.chmod(0o755)
    rounds: list[dict[str, Any]] = []
    with EmbeddedPostgres(data_dir).ensure_running(), HostProcess(served) as host:
        items, prepare_s = serve_products(args.products, served, host)
        feed = served / "items.json"
        feed.write_text(json.dumps({"type": "FeatureCollection", "features": items}))
        aoi = served / "aoi.geojson"
        shapes = [{"type": "Feature", "properties": {}, "geometry": i["geometry"]} for i in items]
        aoi.write_text(json.dumps({"type": "FeatureCollection", "features": shapes}))
        plans = [plan_item(item, COLLECTION) for item in items]
        products = [
            {"name": p.name, "shape": p.shape, "files": len(p.files), "bytes": p.size}
            for p in plans
        ]
        jobs = [[remote.href for remote in p.files.values()] for p in plans]
        with rustac_api(feed) as api:
            for k in range(args.rounds):
                settings = load_settings(
                    overrides={"data_dir": str(data_dir), "database": {"name": f"sync{k}"}}
                )
                init_index(settings)
                given = {"workers": args.workers} if args.workers else {}
                opts = options(
                    settings,
                    stac_url=api,
                    collections=[COLLECTION],
                    aoi=aoi,
                    since=SINCE,
                    folder=f"sync{k}",
                    **given,
                )
                synced = run_sync(settings, opts, host)
                if synced["added"] != len(items) or synced["rejected"]:
                    raise SystemExit(f"the sync did not add every product: {json.dumps(synced)}")
                fetched = run_curl(curl, jobs, opts.workers, host, tmp)
                rounds.append({"sync": synced, "curl": fetched})
                print(f"round {k}: {json.dumps(rounds[-1])}", file=sys.stderr)
            again = run_sync(settings, opts, host)
    sync_s = statistics.median(r["sync"]["download_window_s"] for r in rounds)
    total_s = statistics.median(r["sync"]["total_s"] for r in rounds)
    curl_s = statistics.median(r["curl"]["window_s"] for r in rounds)
    size = sum(p["bytes"] or 0 for p in products)
    return {
        "prepare_s": round(prepare_s, 1),
        "workers": opts.workers,
        "products": products,
        "bytes": size,
        "rounds": rounds,
        "median": {
            "sync_total_s": total_s,
            "sync_download_window_s": sync_s,
            "sync_index_s_sum": statistics.median(r["sync"]["index_s_sum"] for r in rounds),
            "curl_window_s": curl_s,
            "sync_mb_s_total": round(size / 1e6 / total_s, 1),
            "sync_mb_s_download": round(size / 1e6 / sync_s, 1),
            "curl_mb_s": round(size / 1e6 / curl_s, 1),
            "sync_products_per_min": round(len(products) / total_s * 60, 1),
        },
        "overhead_download": round(sync_s / curl_s - 1, 3),
        "overhead_download_met": sync_s / curl_s - 1 <= TARGET,
        "overhead_whole_sync_incl_search_and_index": round(total_s / curl_s - 1, 3),
        "second_sync_nothing_new": again,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=7)
    parser.add_argument("--workers", type=int, help="the sync's workers (default: its own)")
    parser.add_argument("--rounds", type=int, default=5, help="sync + curl rounds (medians)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    curl = shutil.which("curl")
    if curl is None:
        print("curl is not installed: the overhead is measured against it", file=sys.stderr)
        sys.exit(2)
    version = subprocess.run([curl, "--version"], capture_output=True, text=True).stdout
    with tempfile.TemporaryDirectory(dir="/tmp", prefix="sdl-bench-sync-") as name:
        tmp = Path(name)
        tmp.chmod(0o755)  # the embedded PostgreSQL's own user enters it
        runs = measure(args, curl, tmp)
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "curl_version": version.splitlines()[0],
        "target_overhead": TARGET,
        **runs,
    }
    print(json.dumps(result, indent=2))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "sync.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
