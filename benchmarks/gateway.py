"""Gateway benchmark: cluster start latency and time to scale to N workers (local backend).

    python benchmarks/gateway.py [--runs 10] [--workers 4] [--out benchmarks/results/gateway.json]

Runs a real `sdl up` (hub, proxy, the embedded gateway service), starts one user's
workspace, and then, `--runs` times in a row, as that user through the hub token:

* start: `gateway.new_cluster()` until it returns (the cluster is RUNNING and the client
  is connected to its scheduler through the gateway's TLS proxy);
* scale: `cluster.scale(N)` until the scheduler reports N workers;
* stop: `cluster.shutdown()` until no process of the cluster is left.

Clusters run as the user's OS account (root) exactly as in production. Every run starts
from nothing (no warm scheduler), so the numbers include Python start-up of the
scheduler and each worker. p50/p95 use linear interpolation between closest ranks.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform as pyplatform
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.gateway.support import cluster_processes, gateway_as, server_environment  # noqa: E402
from tests.support.platform import SHARED_PASSWORD, HubClient, start_platform  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks."""
    return float(numpy.percentile(values, q * 100))


def summarize(values: list[float]) -> dict[str, Any]:
    return {
        "n": len(values),
        "p50_s": round(percentile(values, 0.50), 3),
        "p95_s": round(percentile(values, 0.95), 3),
        "min_s": round(min(values), 3),
        "max_s": round(max(values), 3),
        "all_s": [round(v, 3) for v in values],
    }


def one_run(gateway: Any, workers: int) -> dict[str, float]:
    t0 = time.perf_counter()
    cluster = gateway.new_cluster(shutdown_on_close=False)
    started = time.perf_counter() - t0
    client = cluster.get_client()
    t1 = time.perf_counter()
    cluster.scale(workers)
    client.wait_for_workers(workers, timeout=180)
    scaled = time.perf_counter() - t1
    client.close()
    name = cluster.name
    t2 = time.perf_counter()
    cluster.shutdown()
    while cluster_processes(name):
        time.sleep(0.05)
    stopped = time.perf_counter() - t2
    # dask_gateway's client deadlocks when a cluster's internal Gateway is garbage
    # collected on its own event-loop thread (its __del__ waits on that loop): close it
    # here and collect on this thread
    cluster.close()
    del cluster, client
    gc.collect()
    return {"start": started, "scale": scaled, "stop": stopped}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="measured runs (default 10)")
    parser.add_argument("--workers", type=int, default=4, help="scale target N (default 4)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/gateway.json")
    args = parser.parse_args(argv)
    totals = {
        "workers": args.workers,
        "clusters": 1,
        "cores": args.workers,
        "memory_gib": 2 * args.workers,
    }
    settings = {
        "auth": {"type": "shared-password"},  # users log in with SHARED_PASSWORD
        "hub": {"cull_idle_after": 0},
        "dask": {"user_limits": totals},
    }
    began = time.perf_counter()
    runs: list[dict[str, float]] = []
    gc.disable()  # see one_run: cycles are collected on this thread only
    with start_platform(settings) as platform:
        hub = HubClient(platform.url)
        hub.login("bench", SHARED_PASSWORD)
        hub.spawn("bench", {"profile": "small"})
        gateway = gateway_as(server_environment("bench", platform.data_dir), hub.new_token("bench"))
        one_run(gateway, args.workers)  # warm-up (disk caches, imports): not counted
        for i in range(args.runs):
            runs.append(one_run(gateway, args.workers))
            print(
                f"run {i + 1}/{args.runs}: "
                + ", ".join(f"{k} {v:.2f}s" for k, v in runs[-1].items())
            )
        gateway.close()
    report = {
        "benchmark": "gateway",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "kernel": pyplatform.platform(),
            "python": sys.version.split()[0],
            "load_average_1m_at_end": round(os.getloadavg()[0], 2),
            "versions": {
                p: version(p)
                for p in ("dask-gateway-server", "dask-gateway", "distributed", "jupyterhub")
            },
        },
        "parameters": {
            "runs": args.runs,
            "workers": args.workers,
            "backend": "SdlLocalBackend",
            "as_os_user": os.geteuid() == 0,
        },
        "cluster_start": summarize([r["start"] for r in runs]),
        "scale_to_n_workers": summarize([r["scale"] for r in runs]),
        "cluster_stop": summarize([r["stop"] for r in runs]),
        "total_runtime_s": round(time.perf_counter() - began, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    tmp.replace(args.out)
    summary = {
        k: {"p50_s": report[k]["p50_s"], "p95_s": report[k]["p95_s"]}
        for k in ("cluster_start", "scale_to_n_workers", "cluster_stop")
    }
    print(json.dumps(summary, indent=2))
    print(f"total {report['total_runtime_s']} s; results in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
