# The benchmark's baseline: a plain JupyterHub with the stock LocalProcessSpawner.
#
# Same JupyterHub, authenticator (shared password), proxy (the Python
# configurable-http-proxy, started by the hub), database (sqlite), single-user program
# (jupyterhub-singleuser of the same Python, JupyterLab at /lab), spawn timeouts, and one
# OS account per user. What it lacks are the platform's spawn hooks: profile form and
# server-side profile check, home preparation and useradd, cgroup limits, the per-user
# Open Data Cube database login, and the workspace bootstrap (~/shared link, templates).
#
# benchmarks/spawn.py runs `jupyterhub -f` on this file with cwd = a fresh state folder
# (database, cookie secret and pid files land there) and BENCH_* set.
import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821

_env = os.environ
c.JupyterHub.bind_url = f"http://127.0.0.1:{_env['BENCH_PORT']}/"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{_env['BENCH_HUB_PORT']}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{_env['BENCH_PROXY_API_PORT']}"
c.JupyterHub.cleanup_servers = True

c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = _env["BENCH_SHARED_PASSWORD"]
c.SharedPasswordAuthenticator.allow_all = True

# stock spawner: hub user `sdl-bench-00` runs as the existing OS account of that name,
# in that account's home (set up by benchmarks/spawn.py before the hub starts)
c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
c.Spawner.cmd = [str(Path(sys.executable).parent / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = int(_env["BENCH_SPAWN_TIMEOUT"])
c.Spawner.http_timeout = int(_env["BENCH_SPAWN_TIMEOUT"])
# lets benchmarks/spawn.py find (and reap) this hub's servers, as `sdl up` does its own
c.Spawner.environment = {"SDL_BENCH_BASELINE": _env["BENCH_STATE_DIR"]}
