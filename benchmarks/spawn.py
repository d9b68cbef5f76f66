"""Spawn benchmark: N users log in and start JupyterLab at once, platform vs plain hub.

    python benchmarks/spawn.py [--users 20] [--rounds 1] [--out benchmarks/results/spawn.json]

Each simulated user (one thread) logs in through the hub's login form, asks for a server
through the REST API (as the spawn form does) and waits, on the hub's progress event
stream, until the server is ready and answers through the proxy. "login→ready" is the
time from the login request to that first answer.

Two setups are measured, alternating when --rounds > 1:

* platform: the real `sdl up` (tests/support/platform.py), SdlLocalSpawner with every
  hook on (profile check, home preparation, cgroup limits, ODC database login, workspace
  bootstrap), PostgreSQL and the idle culler running beside it;
* baseline: plain JupyterHub with the stock LocalProcessSpawner and the same single-user
  program (benchmarks/baseline_jupyterhub_config.py).

Both run every server as its own OS account (`sdl-bench-NN`, created before either run,
so neither pays for `useradd`; its one-time cost is measured separately). Before each
measured round one warm-up user spawns alone (not counted), so disk caches do not favour
whichever setup runs second. Needs root (servers switch to their OS users).
See benchmarks/README.md for why this comparison and how to read the numbers.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform as pyplatform
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy
import psutil
import requests
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from hub.accounts import ensure_user_account, home_folder, os_username  # noqa: E402
from hub.netutil import free_port  # noqa: E402
from hub.ossetup import ensure_system_user, make_traversable  # noqa: E402
from hub.runtime import read_runtime  # noqa: E402
from tests.support.platform import (  # noqa: E402
    SHARED_PASSWORD,
    HubClient,
    account_prefix,
    make_data_dir,
    start_platform,
)

BASELINE_CONFIG = Path(__file__).resolve().parent / "baseline_jupyterhub_config.py"
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "spawn.json"
PROFILE = "small"  # the platform's default profile, what most users start
TARGET_OVERHEAD = 0.05
_ENFORCED = re.compile(r"\] \[(\S+?)\] (?:Enforced: |[^\n]*: enforced \()")
_TOOK = re.compile(r"User (\S+?):? took ([\d.]+) seconds to start")


# -- one simulated user ------------------------------------------------------------------
@dataclass
class UserResult:
    name: str
    ok: bool = False
    error: str = ""
    login_s: float | None = None  # login form posted, session cookie set
    requested_s: float | None = None  # POST /users/<name>/server answered
    hub_ready_s: float | None = None  # progress stream said ready
    ready_s: float | None = None  # the server answered through the proxy: login→ready


def form_login(client: HubClient, name: str) -> None:
    """The login form, as a browser posts it; the redirect is not followed.

    (Following it would open /hub/spawn, which on a hub without a spawn form starts a
    server on its own: the API request below would then find one already pending.)
    """
    login_url = f"{client.base_url}/hub/login"
    client.session.get(login_url, timeout=60).raise_for_status()
    response = client.session.post(
        login_url,
        data={"username": name, "password": SHARED_PASSWORD, "_xsrf": client.xsrf},
        allow_redirects=False,
        timeout=120,
    )
    if response.status_code != 302 or "/hub/login" in response.headers.get("Location", ""):
        raise RuntimeError(f"login refused: HTTP {response.status_code} {response.text[:200]}")


def wait_progress_ready(client: HubClient, name: str, deadline: float) -> None:
    """Follow the spawn progress event stream (what the spawn-pending page shows)."""
    url = f"{client.base_url}/hub/api/users/{name}/server/progress"
    with client.session.get(url, stream=True, timeout=(30, 60)) as response:
        response.raise_for_status()
        for line in response.iter_lines(decode_unicode=True):
            if time.monotonic() > deadline:
                raise TimeoutError("not ready before the spawn timeout")
            if not line or not line.startswith("data:"):
                continue
            event = json.loads(line[5:])
            if event.get("ready"):
                return
            if event.get("failed"):
                raise RuntimeError(f"spawn failed: {event.get('message')}")
    raise RuntimeError("progress stream ended without a ready event")


def wait_routed(browser: HubClient, api: HubClient, name: str, deadline: float) -> None:
    """The first answer of the server itself, through the proxy (its /api version page).

    Fails fast when the server is gone although the hub called it ready, or when the
    route keeps answering 404 (another user's server behind it: a port collision).
    """
    url = f"{browser.base_url}/user/{name}/api"
    last, since = "", time.monotonic()
    while time.monotonic() < deadline:
        try:
            response = browser.session.get(url, allow_redirects=False, timeout=30)
            if response.status_code == 200 and "version" in response.text:
                return
            last = f"HTTP {response.status_code} {response.headers.get('Location', '')}"
        except requests.RequestException as exc:
            last = str(exc)
        if time.monotonic() - since > 5:
            server = api.api("GET", f"/users/{name}", timeout=60).json()["servers"].get("")
            if not server:
                raise RuntimeError(
                    f"server stopped after the hub reported it ready; proxy answered {last}"
                )
            if last.startswith("HTTP 404"):
                raise RuntimeError(
                    "the proxy route answers 404: another server is behind it (port collision?)"
                )
            since = time.monotonic()
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer: {last}")


def request_spawn(api: HubClient, name: str, options: dict[str, Any], timeout: float) -> None:
    """Ask for the user's server, waiting for the answer as long as the user would."""
    response = api.api("POST", f"/users/{name}/server", json=options, timeout=timeout)
    if response.status_code not in (201, 202):
        raise RuntimeError(f"spawn refused: HTTP {response.status_code} {response.text[:300]}")


def wait_polled_ready(
    api: HubClient, name: str, deadline: float, every: float = 1.0, patient: bool = False
) -> None:
    """Ask the hub every `every` s whether the server is ready; each question waits 60 s,
    or (`patient`, as a browser) until the deadline."""
    while time.monotonic() < deadline:
        wait = max(deadline - time.monotonic(), 1) if patient else 60
        user = api.api("GET", f"/users/{name}", timeout=wait).json()
        server = user.get("servers", {}).get("")
        if server and server.get("ready"):
            return
        if not server:
            raise RuntimeError("spawn failed: the server is gone (see the hub log)")
        time.sleep(every)
    raise TimeoutError("not ready before the spawn timeout")


def run_user(
    urls: tuple[str, str],
    name: str,
    options: dict[str, Any],
    timeout: float,
    start: threading.Barrier,
    client: str,
) -> UserResult:
    """One user: login form → spawn request → ready → first answer through the proxy.

    urls = (public URL, hub URL). client "poll": spawn request and readiness polls go
    straight to the hub's own port; "sse": everything through the proxy, following the
    progress event stream as the spawn-pending page does.
    """
    public_url, hub_url = urls
    result = UserResult(name)
    browser = HubClient(public_url)
    api = browser
    if client == "poll":
        api = HubClient(hub_url)
        api.session = browser.session  # the same login cookies
    start.wait()
    t0 = time.monotonic()
    deadline = t0 + timeout
    try:
        form_login(browser, name)
        result.login_s = time.monotonic() - t0
        request_spawn(api, name, options, timeout)
        result.requested_s = time.monotonic() - t0
        if client == "poll":
            wait_polled_ready(api, name, deadline)
        else:
            wait_progress_ready(browser, name, deadline)
        result.hub_ready_s = time.monotonic() - t0
        wait_routed(browser, api, name, deadline)
        result.ready_s = time.monotonic() - t0
        result.ok = True
    except Exception as exc:  # recorded as a failure, the others go on
        result.error = f"{type(exc).__name__}: {exc}"
    return result


# which program a process is, for CPU accounting (first match wins)
_CATEGORIES = (
    ("single-user servers", ("jupyterhub-singleuser", "hub.workspace")),
    ("proxy", ("hub.proxy", "configurable-http-proxy", "configurable_http_proxy")),
    ("postgres", ("postgres",)),
    ("dask gateway", ("hub.gateway", "dask-gateway", "dask_gateway")),
    ("quota service", ("hub.quotas",)),
    ("workshops service", ("hub.workshops",)),
    ("idle culler", ("jupyterhub_idle_culler",)),
    ("hub", ("jupyterhub",)),
)


def category(cmdline: list[str]) -> str:
    joined = " ".join(cmdline)
    for name, markers in _CATEGORIES:
        if any(marker in joined for marker in markers):
            return name
    return f"other: {Path(cmdline[0]).name}" if cmdline else "other: kernel threads"


@dataclass
class Sampler:
    """Peak memory, mean CPU load, and CPU-seconds per program while users spawn.

    CPU time is sampled per process every `interval`: processes that live shorter than
    that (a `du`, a `useradd`) are missed, in both setups alike.
    """

    interval: float = 0.5
    peak_used: int = 0
    cpu: list[float] = field(default_factory=list)
    _first: dict[tuple[int, float], float] = field(default_factory=dict)
    _last: dict[tuple[int, float], tuple[str, float]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def sample_processes(self, first: bool) -> None:
        me = os.getpid()
        for proc in psutil.process_iter(["pid", "create_time", "cmdline", "cpu_times"]):
            info = proc.info
            if info["pid"] == me or info["cpu_times"] is None:
                continue
            key = (info["pid"], info["create_time"])
            used = info["cpu_times"].user + info["cpu_times"].system
            if first:
                self._first[key] = used
            self._last[key] = (category(info["cmdline"] or []), used)

    def cpu_seconds_by_program(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for key, (name, used) in self._last.items():
            totals[name] = totals.get(name, 0.0) + used - self._first.get(key, 0.0)
        return {name: round(value, 2) for name, value in sorted(totals.items()) if value >= 0.01}

    def run(self) -> None:
        psutil.cpu_percent()
        while not self._stop.wait(self.interval):
            self.peak_used = max(self.peak_used, psutil.virtual_memory().used)
            self.cpu.append(psutil.cpu_percent())
            self.sample_processes(first=False)

    @contextlib.contextmanager
    def running(self) -> Iterator[Sampler]:
        before = psutil.virtual_memory().used
        self.sample_processes(first=True)
        thread = threading.Thread(target=self.run, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()
            self.sample_processes(first=False)
            self.peak_used = max(self.peak_used - before, 0)


def measure(
    setup: str,
    urls: tuple[str, str],
    names: list[str],
    warmup: str,
    options: dict,
    timeout: float,
    client: str,
) -> dict[str, Any]:
    """One warm-up spawn, then every user at once; per-user results and a summary."""
    load_before = [round(x, 2) for x in os.getloadavg()]
    other_hubs = (
        sum(
            1
            for p in psutil.process_iter(["cmdline"])
            if "jupyterhub" in " ".join(p.info["cmdline"] or [])
            and "-f" in (p.info["cmdline"] or [])
        )
        - 1
    )
    warm = run_user(urls, warmup, options, timeout, threading.Barrier(1), client)
    if not warm.ok:
        raise RuntimeError(f"{setup}: the warm-up spawn failed: {warm.error}")
    barrier = threading.Barrier(len(names))
    results: list[UserResult] = [UserResult(n) for n in names]

    def work(index: int) -> None:
        results[index] = run_user(urls, names[index], options, timeout, barrier, client)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(names))]
    started = time.monotonic()
    with Sampler().running() as sampler:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    wall = time.monotonic() - started
    ok = [r.ready_s for r in results if r.ok and r.ready_s is not None]
    return {
        "setup": setup,
        "load_average_before": load_before,
        "other_hubs_on_machine": max(other_hubs, 0),
        "warmup_ready_s": round(warm.ready_s or 0, 3),
        "wall_s": round(wall, 3),
        "summary": summarize(ok),
        "failures": [{"user": r.name, "error": r.error} for r in results if not r.ok],
        "peak_extra_memory_mib": round(sampler.peak_used / 2**20),
        "mean_cpu_percent": round(sum(sampler.cpu) / len(sampler.cpu), 1) if sampler.cpu else None,
        "cpu_seconds_by_program": sampler.cpu_seconds_by_program(),
        "users": [asdict(r) for r in results],
    }


# -- numbers -------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks."""
    return float(numpy.percentile(values, q * 100))


def summarize(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50_s": round(percentile(values, 0.50), 3),
        "p95_s": round(percentile(values, 0.95), 3),
        "mean_s": round(sum(values) / len(values), 3),
        "min_s": round(min(values), 3),
        "max_s": round(max(values), 3),
    }


def hub_reported(log_text: str, names: list[str]) -> dict[str, Any]:
    """JupyterHub's own "User x took N seconds to start" lines for the measured users."""
    wanted = set(names)
    took = [float(s) for user, s in _TOOK.findall(log_text) if user in wanted]
    return summarize(took)


_STAMP = r"\[\w (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) JupyterHub [^\]]*\] "
_OAUTH = re.compile(_STAMP + r"Creating oauth client jupyterhub-user-(\S+)")
_STARTING = re.compile(_STAMP + r"\[(\S+?)\] Starting JupyterLab")


def hook_seconds(log_text: str, names: list[str]) -> dict[str, Any]:
    """Platform hooks in the hub: "Creating oauth client" → "[user] Starting JupyterLab"."""

    def stamps(pattern: re.Pattern[str]) -> dict[str, dt.datetime]:
        return {user: dt.datetime.fromisoformat(when) for when, user in pattern.findall(log_text)}

    began, started = stamps(_OAUTH), stamps(_STARTING)
    took = [(started[n] - began[n]).total_seconds() for n in names if n in began and n in started]
    return summarize(took)


_HOOKS = re.compile(r"\[(\S+?)\] spawn hooks took (.*)")
_HOOK = re.compile(r"(\w+) ([\d.]+) s")


def each_hook_seconds(log_text: str, names: list[str]) -> dict[str, Any]:
    """The spawner's own timing of each hook ("[user] spawn hooks took quota 0.1 s, ...")."""
    per_hook: dict[str, list[float]] = {}
    for user, hooks in _HOOKS.findall(log_text):
        if user in names:
            for hook, seconds in _HOOK.findall(hooks):
                per_hook.setdefault(hook, []).append(float(seconds))
    return {hook: summarize(values) for hook, values in per_hook.items()}


_ANY_STAMP = r"\[\w (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) (?:JupyterHub|ServerApp)[^\]]*\] "
_ANY_OAUTH = re.compile(_ANY_STAMP + r"Creating oauth client jupyterhub-user-(\S+)")
_LISTENING = re.compile(_ANY_STAMP + r"http://127\.0\.0\.1:\d+/user/([^/]+)/lab\?token")


def listen_seconds(log_text: str, names: list[str]) -> dict[str, Any]:
    """Both setups: "Creating oauth client" → the server's "running at" line, per user."""
    began = {u: dt.datetime.fromisoformat(t) for t, u in _ANY_OAUTH.findall(log_text)}
    up = {u: dt.datetime.fromisoformat(t) for t, u in _LISTENING.findall(log_text)}
    return summarize([(up[n] - began[n]).total_seconds() for n in names if n in began and n in up])


def machine_info() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    cgroup = "v2" if Path("/sys/fs/cgroup/cgroup.controllers").exists() else "v1"
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "memory_total_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "memory_available_gib": round(psutil.virtual_memory().available / 2**30, 1),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "kernel": pyplatform.platform(),
        "cgroup_hierarchy": cgroup,
        "python": sys.version.split()[0],
        "versions": {
            pkg: version(pkg)
            for pkg in ("jupyterhub", "jupyterlab", "jupyter_server", "configurable-http-proxy")
        },
    }


# -- accounts ------------------------------------------------------------------------------
def prepare_accounts(names: list[str]) -> dict[str, Any]:
    """OS accounts for every simulated user, made before either setup runs.

    The platform would create them on a user's very first spawn; that one-time cost is
    timed here and reported on its own, so it does not tilt the comparison.
    """
    made, seconds = 0, 0.0
    for name in names:
        account = os_username(name)
        t0 = time.monotonic()
        try:
            import pwd

            pwd.getpwnam(account)
        except KeyError:
            ensure_system_user(account, home=Path("/nonexistent"))
            made += 1
            seconds += time.monotonic() - t0
    make_traversable(Path(sys.executable).resolve().parent)
    return {
        "accounts_created_now": made,
        "useradd_mean_s": round(seconds / made, 3) if made else None,
        "note": "one-time cost per user, paid by the platform on a user's first spawn ever; "
        "not in the login→ready numbers (accounts exist before both setups run)",
    }


def platform_accounts(data_dir: Path, names: list[str]) -> None:
    """The platform's own accounts for these users, made as its first spawns would make
    them (an account belongs to the platform whose data dir holds its home), so that the
    platform does not pay for `useradd` in the measured spawns either."""
    prefix = account_prefix(data_dir)
    for name in names:
        home = data_dir / "homes" / home_folder(name)
        ensure_user_account(os_username(name, prefix), name, home)


def point_homes(names: list[str], homes: Path) -> None:
    """Give the stock spawner what it expects: each account's home in /etc/passwd."""
    homes.mkdir(parents=True, exist_ok=True)
    homes.chmod(0o711)
    for name in names:
        account = os_username(name)
        home = homes / name
        home.mkdir(exist_ok=True)
        shutil.chown(home, account, account)
        home.chmod(0o700)
        subprocess.run(["usermod", "--home", str(home), account], check=True, capture_output=True)


# -- the two setups ------------------------------------------------------------------------
def run_platform(
    names: list[str], warmup: str, timeout: int, client: str, overrides: dict | None = None
) -> dict[str, Any]:
    overrides = overrides or {}
    settings = {
        # the baseline's login: one shared password (first-use would add a bcrypt per login)
        "auth": {"type": "shared-password", **overrides.get("auth", {})},
        **{k: v for k, v in overrides.items() if k != "auth"},
        "hub": {**overrides.get("hub", {}), "spawn_timeout": timeout},
    }
    data_dir = make_data_dir()
    platform_accounts(data_dir, [*names, warmup])
    t0 = time.monotonic()
    with start_platform(settings, data_dir=data_dir, timeout=300) as running:
        startup = time.monotonic() - t0
        hub_url = f"http://127.0.0.1:{read_runtime(running.data_dir).hub_port}"
        urls = (running.url, hub_url)
        result = measure("platform", urls, names, warmup, {"profile": PROFILE}, timeout, client)
        log = running.hub_log()
    result["startup_s"] = round(startup, 3)
    result["hub_reported_start"] = hub_reported(log, names)
    result["oauth_client_to_server_listening"] = listen_seconds(log, names)
    result["port_collisions"] = log.count("could not be started because port")
    result["hook_seconds_in_hub"] = hook_seconds(log, names)
    result["each_hook_seconds"] = each_hook_seconds(log, names)
    result["hooks_seen_in_hub_log"] = {
        "odc_login_made": log.count("Open Data Cube: read-only database login"),
        "odc_not_configured": log.count("Open Data Cube is not configured"),
        "users_with_cgroup_limits": len(set(_ENFORCED.findall(log))),
        "workspace_bootstrap": log.count("[sdl-workspace] linked ~/shared"),
    }
    if result["hooks_seen_in_hub_log"]["odc_not_configured"]:
        match = re.search(r"Open Data Cube is not configured: (.*)", log)
        result["odc_error"] = match.group(1)[:300] if match else ""
    result["data_dir"] = str(running.data_dir)
    return result


@contextlib.contextmanager
def baseline_hub(names: list[str], timeout: int) -> Iterator[tuple[tuple[str, str], Path]]:
    state = make_data_dir("sdl-bench-baseline-")
    point_homes(names, state / "homes")
    port = free_port()
    env = {
        **os.environ,
        "BENCH_PORT": str(port),
        "BENCH_HUB_PORT": str(free_port()),
        "BENCH_PROXY_API_PORT": str(free_port()),
        "BENCH_SHARED_PASSWORD": SHARED_PASSWORD,
        "BENCH_SPAWN_TIMEOUT": str(timeout),
        "BENCH_STATE_DIR": str(state),
    }
    log_path = state / "hub.log"
    with log_path.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(BASELINE_CONFIG)],
            cwd=state,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    hub_url = f"http://127.0.0.1:{env['BENCH_HUB_PORT']}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"baseline hub exited ({proc.returncode}): {log_path}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{url}/hub/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"baseline hub not healthy after 120 s: {log_path}")
            time.sleep(0.2)
        yield (url, hub_url), state
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(90)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the proxy it started, if still there
        reap(state)


def reap(state: Path) -> None:
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error, OSError):
            if proc.environ().get("SDL_BENCH_BASELINE") == str(state):
                proc.kill()


def run_baseline(names: list[str], warmup: str, timeout: int, client: str) -> dict[str, Any]:
    # stock LocalProcessSpawner: hub user name = OS account name
    accounts = [os_username(n) for n in names]
    warm_account = os_username(warmup)
    t0 = time.monotonic()
    with baseline_hub([*names, warmup], timeout) as (urls, state):
        startup = time.monotonic() - t0
        result = measure("baseline", urls, accounts, warm_account, {}, timeout, client)
        log = (state / "hub.log").read_text(errors="replace")
    result["startup_s"] = round(startup, 3)
    result["hub_reported_start"] = hub_reported(log, accounts)
    result["oauth_client_to_server_listening"] = listen_seconds(log, accounts)
    result["port_collisions"] = log.count("could not be started because port")
    result["data_dir"] = str(state)
    return result


# -- main ----------------------------------------------------------------------------------
def compare(runs: list[dict[str, Any]]) -> dict[str, Any]:
    pooled: dict[str, list[float]] = {"platform": [], "baseline": []}
    hub_side: dict[str, list[float]] = {"platform": [], "baseline": []}
    failures = {"platform": 0, "baseline": 0}
    for run in runs:
        pooled[run["setup"]] += [u["ready_s"] for u in run["users"] if u["ok"]]
        failures[run["setup"]] += len(run["failures"])
        hub_side[run["setup"]].append(run["hub_reported_start"].get("p50_s") or 0)
    summary = {setup: summarize(values) for setup, values in pooled.items()}
    out: dict[str, Any] = {"login_to_ready": summary, "failures": failures}
    if summary["platform"]["n"] and summary["baseline"]["n"]:
        for key in ("p50_s", "p95_s", "mean_s"):
            ratio = summary["platform"][key] / summary["baseline"][key]
            out[f"{key[:-2]}_ratio"] = round(ratio, 3)
        out["overhead_p50_percent"] = round((out["p50_ratio"] - 1) * 100, 1)
        out["target"] = f"platform hooks add < {TARGET_OVERHEAD:.0%} (p50), 0 failures"
        out["target_met"] = bool(
            out["p50_ratio"] < 1 + TARGET_OVERHEAD and not any(failures.values())
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20, help="concurrent users (default 20)")
    parser.add_argument(
        "--rounds", type=int, default=2, help="baseline+platform pairs, order alternating"
    )
    parser.add_argument(
        "--client",
        choices=("poll", "sse"),
        default="poll",
        help="poll: spawn request and readiness polls straight to the hub (default); "
        "sse: all through the proxy with the progress event stream, as browsers do",
    )
    parser.add_argument("--spawn-timeout", type=int, default=300, help="seconds per spawn")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results JSON")
    parser.add_argument(
        "--platform-settings",
        type=Path,
        help="YAML settings for the platform run (e.g. to switch a service off and see "
        "what it costs); default: the platform's defaults",
    )
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        parser.exit(2, "needs root: every server runs as its own OS account (sdl-bench-NN)\n")

    began = time.monotonic()
    names = [f"bench-{i:02d}" for i in range(args.users)]
    warmup = "bench-warm"
    report: dict[str, Any] = {
        "benchmark": "spawn",
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
        "machine": machine_info(),
        "parameters": {
            "users": args.users,
            "rounds": args.rounds,
            "client": args.client,
            "profile": PROFILE,
            "spawn_timeout_s": args.spawn_timeout,
        },
        "accounts": prepare_accounts([*names, warmup]),
        "runs": [],
    }
    overrides = yaml.safe_load(args.platform_settings.read_text()) if args.platform_settings else {}
    report["parameters"]["platform_settings"] = overrides

    def platform(*a: Any) -> dict[str, Any]:
        return run_platform(*a, overrides=overrides)

    for round_no in range(1, args.rounds + 1):
        order = (run_baseline, platform) if round_no % 2 else (platform, run_baseline)
        for runner in order:
            setup = "platform" if runner is platform else "baseline"
            print(f"round {round_no}: {setup} with {args.users} users ...", flush=True)
            run = runner(names, warmup, args.spawn_timeout, args.client)
            run["round"] = round_no
            report["runs"].append(run)
            s = run["summary"]
            print(
                f"  login→ready p50 {s.get('p50_s')} s, p95 {s.get('p95_s')} s, "
                f"max {s.get('max_s')} s, failures {len(run['failures'])}, "
                f"wall {run['wall_s']} s",
                flush=True,
            )
            print(f"  CPU-s by program: {run['cpu_seconds_by_program']}", flush=True)
            for hook, summary in run.get("each_hook_seconds", {}).items():
                print(
                    f"  hook {hook}: p50 {summary.get('p50_s')} s, max {summary.get('max_s')} s",
                    flush=True,
                )
            for failure in run["failures"][:5]:
                print(f"    {failure['user']}: {failure['error']}", flush=True)
    report["comparison"] = compare(report["runs"])
    report["total_runtime_s"] = round(time.monotonic() - began, 1)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    tmp.replace(args.out)
    c = report["comparison"]
    print(json.dumps({k: v for k, v in c.items()}, indent=2))
    print(f"total {report['total_runtime_s']} s; results in {args.out}")
    return 0 if c.get("target_met") else 1


if __name__ == "__main__":
    sys.exit(main())
