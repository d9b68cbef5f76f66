"""Load benchmark: N users log in, spawn JupyterLab and run a cell, all at once, on `sdl up`.

    python benchmarks/load.py [--users 100] [--out benchmarks/results/load.json]

Each simulated user (one thread, all released together) does what a workshop's first
minute does in a browser: the login form, a spawn request for the default profile, waits
until the server answers through the proxy, starts a kernel and runs one cell
(`sum(range(10**6))`) over the kernel's websocket, through the proxy, checking the
result. It asks the hub every 2 s whether the server is ready (what the spawn page's
progress stream tells a browser, at less cost to a thread per user) and, like a browser,
gives no request a deadline shorter than the user's own. Every server keeps running until
every user is done, so the last users meet the full load of the first (the way a
workshop looks at 9:00).

Reported: per step and end to end (login → cell result) p50/p95/max, failures with their
reason (target: 0), peak memory, CPU seconds by program. Needs root (servers run as
their own OS accounts; the platform makes them at each user's first spawn, as in a real
first workshop, so `useradd` is part of the time). See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from spawn import (  # noqa: E402  (benchmarks/spawn.py: the same login and spawn steps)
    PROFILE,
    Sampler,
    form_login,
    machine_info,
    request_spawn,
    summarize,
    wait_polled_ready,
    wait_routed,
)

from hub.runtime import read_runtime  # noqa: E402
from tests.support.kernels import kernel_ws_url, run_cell  # noqa: E402
from tests.support.platform import HubClient, start_platform  # noqa: E402

DEFAULT_OUT = REPO / "benchmarks" / "results" / "load.json"
CELL = "sum(range(10**6))"
EXPECTED = str(sum(range(10**6)))


@dataclass
class UserRun:
    name: str
    ok: bool = False
    error: str = ""
    login_s: float | None = None
    ready_s: float | None = None  # the server answered through the proxy
    kernel_s: float | None = None  # a kernel was started
    cell_s: float | None = None  # the cell's result came back: the end-to-end time
    kernel_id: str = ""


def run_user(urls: tuple[str, str], name: str, timeout: float, start: threading.Barrier) -> UserRun:
    public_url, hub_url = urls
    run = UserRun(name)
    browser = HubClient(public_url)
    api = HubClient(hub_url)
    api.session = browser.session  # the same login cookies
    start.wait()
    t0 = time.monotonic()
    deadline = t0 + timeout
    try:
        form_login(browser, name)
        run.login_s = time.monotonic() - t0
        # a browser waits as long as it takes: no request gives up before the user does
        request_spawn(api, name, {"profile": PROFILE}, timeout)
        wait_polled_ready(api, name, deadline, every=2.0, patient=True)
        wait_routed(browser, api, name, deadline)
        run.ready_s = time.monotonic() - t0
        token = api.api(
            "POST", f"/users/{name}/tokens", json={"note": "load benchmark"}, timeout=timeout
        )
        token.raise_for_status()
        secret = token.json()["token"]
        headers = {"Authorization": f"token {secret}"}
        kernel = browser.session.post(
            f"{public_url}/user/{name}/api/kernels",
            json={"name": "python3"},
            headers=headers,
            timeout=max(deadline - time.monotonic(), 1),
        )
        kernel.raise_for_status()
        run.kernel_s = time.monotonic() - t0
        run.kernel_id = kernel.json()["id"]
        ws_url = kernel_ws_url(public_url, name, run.kernel_id)
        left = max(deadline - time.monotonic(), 1)
        result = asyncio.run(run_cell(ws_url, secret, CELL, left))
        if result != EXPECTED:
            raise RuntimeError(f"the cell answered {result!r}, not {EXPECTED}")
        run.cell_s = time.monotonic() - t0
        run.ok = True
    except Exception as exc:  # recorded as a failure, the others go on
        run.error = f"{type(exc).__name__}: {exc}{_answer_of(exc)}"[:600]
    return run


def _answer_of(exc: Exception) -> str:
    """What the server said with an HTTP error (whose answer it was, and why)."""
    response = getattr(exc, "response", None)
    body = getattr(response, "body", None) or getattr(response, "text", None) or b""
    if isinstance(body, bytes):
        body = body.decode(errors="replace")
    server = getattr(response, "headers", {}).get("Server", "") if response is not None else ""
    return f" (server {server!r}: {body[:300]!r})" if response is not None else ""


def lines_about(log: str, name: str, kernel_id: str, most: int = 60) -> list[str]:
    """The log lines that name this user (or its kernel), the last `most` of them."""
    keys = [name] + ([kernel_id] if kernel_id else [])
    return [line[:400] for line in log.splitlines() if any(k in line for k in keys)][-most:]


def measure(urls: tuple[str, str], names: list[str], timeout: float) -> dict[str, Any]:
    barrier = threading.Barrier(len(names))
    runs = [UserRun(n) for n in names]

    def work(index: int) -> None:
        runs[index] = run_user(urls, names[index], timeout, barrier)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(names))]
    started = time.monotonic()
    with Sampler().running() as sampler:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    ok = [r for r in runs if r.ok]
    return {
        "users": len(names),
        "wall_s": round(time.monotonic() - started, 3),
        "login_to_cell_result": summarize([r.cell_s for r in ok if r.cell_s is not None]),
        "login_to_ready": summarize([r.ready_s for r in ok if r.ready_s is not None]),
        "login": summarize([r.login_s for r in ok if r.login_s is not None]),
        "failures": [
            {"user": r.name, "kernel_id": r.kernel_id, "error": r.error} for r in runs if not r.ok
        ],
        "peak_extra_memory_mib": round(sampler.peak_used / 2**20),
        "mean_cpu_percent": round(sum(sampler.cpu) / len(sampler.cpu), 1) if sampler.cpu else None,
        "cpu_seconds_by_program": sampler.cpu_seconds_by_program(),
        "per_user": [asdict(r) for r in runs],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--timeout", type=int, default=900, help="per user, seconds")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    names = [f"load-{i:03d}" for i in range(args.users)]
    settings = {
        "auth": {"type": "shared-password"},
        "hub": {"spawn_timeout": args.timeout, "cull_idle_after": 0},
        # the benchmark measures the platform, not the quota budget's refusals
        "quotas": {"enabled": False},
    }
    with start_platform(settings, timeout=300) as running:
        hub_url = f"http://127.0.0.1:{read_runtime(running.data_dir).hub_port}"
        result = measure((running.url, hub_url), names, args.timeout)
        log = running.hub_log()
        proxy_log = (running.data_dir / "logs" / "proxy.log").read_text(errors="replace")
    result["hub_errors_in_log"] = log.count("[E ")
    # what went wrong, for the record: the platform's data dir is gone after the run
    result["hub_error_lines"] = [line for line in log.splitlines() if line.startswith("[E ")][:40]
    result["proxy_error_lines"] = [line for line in proxy_log.splitlines() if "[E " in line][:40]
    # each failure's own lines (its server's output goes to the hub's log too)
    for failure in result["failures"]:
        failure["log_lines"] = lines_about(log + proxy_log, failure["user"], failure["kernel_id"])
    report = {"machine": machine_info(), "cell": CELL, **result}
    report["target"] = "0 failures"
    report["met"] = not result["failures"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    e2e = result["login_to_cell_result"]
    print(
        f"{args.users} users: {len(result['failures'])} failures; login→cell result "
        f"p50 {e2e.get('p50_s')} s, p95 {e2e.get('p95_s')} s; peak memory "
        f"{result['peak_extra_memory_mib']} MiB; results in {args.out}"
    )
    return 0 if report["met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
