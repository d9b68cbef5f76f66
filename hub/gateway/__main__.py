"""`python -m hub.gateway --port P --tcp-port T`: the embedded gateway, run by `sdl up`.

`sdl up` starts it beside the hub with the environment JupyterHub gives its own services
(hub/config/gateway.py `gateway_environment`) and restarts it if it dies. Its clusters
are kept in a database in the data dir, so a restarted gateway finds them again, and a
hub restart does not touch them. Settings are loaded as hub/jupyterhub_config.py does.
"""

from __future__ import annotations

import argparse
import base64
import os
import signal
import threading
import time
from pathlib import Path

from dask_gateway_server.app import DaskGateway

from hub.gateway.config import embedded_gateway_config, gateway_database
from hub.runtime import read_runtime
from hub.secrets import SecretStore
from hub.settings import load_settings


def exit_with_parent(parent: int, period: float = 2.0) -> None:
    """Shut down (stopping every cluster) once the `sdl up` that started us is gone.

    We run in a session of our own, so an `sdl up` killed without cleanup would
    otherwise leave the gateway and its clusters running.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(period)
        os.kill(os.getpid(), signal.SIGTERM)  # the gateway's graceful shutdown

    threading.Thread(target=watch, name="exit-with-hub", daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m hub.gateway")
    parser.add_argument("--port", type=int, required=True, help="HTTP proxy port")
    parser.add_argument("--tcp-port", type=int, required=True, help="scheduler proxy port")
    parser.add_argument("--parent-pid", type=int, default=0, help="stop when this process ends")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    data_dir = Path(os.environ["SDL_DATA_DIR"])
    runtime = read_runtime(data_dir)
    settings = load_settings(
        Path(runtime.config_file) if runtime.config_file else None,
        overrides={"data_dir": str(data_dir)},
    )
    config = embedded_gateway_config(settings, args.port, args.tcp_port)
    config.DaskGateway.log_level = args.log_level
    config.SdlLocalBackend.db_url = gateway_database(data_dir)
    # the database holds the clusters' TLS keys: encrypted, with a key of the data dir's
    key = bytes.fromhex(SecretStore(data_dir).get_hex("dask_gateway_db_key"))
    config.SdlLocalBackend.db_encrypt_keys = [base64.b64encode(key).decode()]
    parent = args.parent_pid or os.getppid()
    if os.getppid() != parent:
        raise SystemExit(f"the process that started this gateway (pid {parent}) is gone")
    exit_with_parent(parent)
    app = DaskGateway(config=config)
    app.initialize([])
    app.start()


if __name__ == "__main__":
    main()
