"""Run `sdl up` as a real subprocess for tests, and talk to it like a browser would."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import requests
import yaml

from hub.accounts import os_username
from hub.runtime import read_runtime

ADMIN_PASSWORD = "admin-password-for-tests-0123456789abcdef"  # >= 32 characters
SHARED_PASSWORD = "workshop-password"


def make_data_dir(prefix: str = "sdl-test-") -> Path:
    """A data dir other OS users can traverse (pytest's tmp_path is under a 0700 folder)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    return path


@dataclass
class RunningPlatform:
    url: str
    data_dir: Path
    proc: subprocess.Popen[str]
    log_path: Path
    os_user_prefix: str = "sdl-"

    def account(self, username: str) -> str:
        """The OS account this platform gives `username`."""
        return os_username(username, self.os_user_prefix)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def hub_log(self) -> str:
        return (self.data_dir / "logs" / "hub.log").read_text(errors="replace")

    def gateway_log(self) -> str:
        return (self.data_dir / "logs" / "gateway.log").read_text(errors="replace")


def server_process(name: str, data_dir: Path) -> psutil.Process:
    """The running single-user server of `name` on the platform of `data_dir` (other
    platforms may run on this machine), found by its environment."""
    for proc in psutil.process_iter():
        try:
            env = proc.environ()
        except (psutil.Error, OSError):
            continue
        ours = env.get("SDL_ARCHIVE_DIR") == str(data_dir / "archive")
        if ours and env.get("JUPYTERHUB_USER") == name and "ODC_DEFAULT_DB_URL" in env:
            return proc
    raise AssertionError(f"no server of {name}")


def account_prefix(data_dir: Path) -> str:
    """OS accounts of one test platform's own: an account belongs to the platform whose
    homes it owns, and many test platforms run on one machine with the same user names.
    The same for the same data dir, so a restarted platform finds its accounts again."""
    return f"t{hashlib.sha256(str(data_dir).encode()).hexdigest()[:5]}-"


def write_settings(data_dir: Path, settings: dict[str, Any]) -> Path:
    path = data_dir / "settings.yaml"
    path.touch(mode=0o600)  # may hold secrets: never readable by workspace users
    path.write_text(yaml.safe_dump(settings))
    return path


@contextlib.contextmanager
def start_platform(
    settings: dict[str, Any] | None = None,
    data_dir: Path | None = None,
    timeout: float = 180,
    extra_args: tuple[str, ...] = ("--no-sample",),
    env: dict[str, str] | None = None,
    port: int | None = None,
    run_as: str | None = None,
) -> Iterator[RunningPlatform]:
    """`sdl up` on a fresh data dir and free port; stopped (SIGINT) when the block ends.

    `run_as` names an OS account to run it as (from root), for the non-root fallback.
    """
    data_dir = data_dir or make_data_dir()
    # 0: sdl up binds a free port itself and says which in its runtime file (a number
    # picked here could be taken by another process before sdl up binds it)
    port = port or 0
    settings = dict(settings or {})
    settings["hub"] = {"os_user_prefix": account_prefix(data_dir), **settings.get("hub", {})}
    config = write_settings(data_dir, settings)
    prefix: list[str] = []
    if run_as:
        prefix = ["runuser", "-u", run_as, "--"]
        for path in (data_dir, config):
            shutil.chown(path, run_as, run_as)
    log_path = data_dir / "sdl-up.out"
    command = [
        *prefix,
        sys.executable,
        "-m",
        "hub.cli",
        "up",
        "--config",
        str(config),
        "--data-dir",
        str(data_dir),
        "--port",
        str(port),
        "--ip",
        "127.0.0.1",
        *extra_args,
    ]
    run_env = {
        **os.environ,
        "SDL_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "SDL_SHARED_PASSWORD": SHARED_PASSWORD,
        **(env or {}),
    }
    with log_path.open("w") as out:
        proc = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            env=run_env,
            start_new_session=True,
        )
    platform = RunningPlatform(
        f"http://127.0.0.1:{port}", data_dir, proc, log_path, settings["hub"]["os_user_prefix"]
    )
    try:
        _wait_up(platform, timeout)
        platform.url = f"http://127.0.0.1:{read_runtime(data_dir).public_port}"
        yield platform
    finally:
        stop_platform(platform)


def stop_platform(platform: RunningPlatform, timeout: float = 90) -> int:
    if platform.proc.poll() is None:
        # the whole group: with run_as, `runuser` and `sdl up` below it both get Ctrl-C
        os.killpg(platform.proc.pid, signal.SIGINT)
        try:
            platform.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(platform.proc.pid, signal.SIGKILL)
            platform.proc.wait()
    return platform.proc.returncode


def _wait_up(platform: RunningPlatform, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if platform.proc.poll() is not None:
            raise RuntimeError(f"sdl up exited with {platform.proc.returncode}:\n{platform.log()}")
        if "is up:" in platform.log():
            return
        time.sleep(0.2)
    raise RuntimeError(f"sdl up not ready after {timeout}s:\n{platform.log()}")


class HubClient:
    """A logged-in browser session: cookies, XSRF token, and the hub's REST API."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()

    def login(self, username: str, password: str) -> requests.Response:
        login_url = f"{self.base_url}/hub/login"
        self.session.get(login_url, timeout=30)  # sets the _xsrf cookie
        xsrf = self.session.cookies.get("_xsrf", "")
        return self.session.post(
            login_url,
            data={"username": username, "password": password, "_xsrf": xsrf},
            timeout=60,
            allow_redirects=True,
        )

    @property
    def xsrf(self) -> str:
        return self.session.cookies.get("_xsrf", path="/hub/") or self.session.cookies.get(
            "_xsrf", ""
        )

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"X-XSRFToken": self.xsrf, **kwargs.pop("headers", {})}
        return self.session.request(
            method,
            f"{self.base_url}/hub/api{path}",
            headers=headers,
            timeout=kwargs.pop("timeout", 60),
            **kwargs,
        )

    def new_token(self, username: str) -> str:
        response = self.api("POST", f"/users/{username}/tokens", json={"note": "tests"})
        response.raise_for_status()
        return response.json()["token"]

    def spawn(self, username: str, options: Any, timeout: float = 180) -> requests.Response:
        """Ask for a server; wait until it is ready (or the request was refused)."""
        response = self.api("POST", f"/users/{username}/server", json=options)
        if response.status_code not in (201, 202):
            return response
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            user = self.api("GET", f"/users/{username}").json()
            server = user.get("servers", {}).get("")
            if server and server.get("ready"):
                return response
            if not server:
                raise RuntimeError(f"server of {username} vanished while starting: {user}")
            time.sleep(0.5)
        raise TimeoutError(f"server of {username} not ready after {timeout}s")


def wait_until(check: Any, timeout: float = 30, what: str = "", every: float = 0.3) -> Any:
    """Poll `check()` until it returns something truthy; return it, or fail saying what."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(
        f"timed out after {timeout:.0f}s waiting for {what or check} (last: {last!r})"
    )
