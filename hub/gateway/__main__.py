"""`python -m hub.gateway --port P --tcp-port T`: the embedded gateway, run by the hub.

The hub starts this as its managed `dask-gateway` service (see hub/config/gateway.py),
with SDL_DATA_DIR set; settings are loaded exactly as hub/jupyterhub_config.py does.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
import time
from pathlib import Path

from dask_gateway_server.app import DaskGateway

from hub.gateway.config import embedded_gateway_config
from hub.runtime import read_runtime
from hub.settings import load_settings


def exit_with_parent(parent: int, period: float = 2.0) -> None:
    """Shut down (stopping every cluster) once the hub that started us is gone.

    The hub runs us in a session of our own, so a hub that dies without stopping its
    services would otherwise leave the gateway and its clusters running.
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
    parser.add_argument("--hub-pid", type=int, default=0, help="stop when this process ends")
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
    hub_pid = args.hub_pid or os.getppid()
    if os.getppid() != hub_pid:
        raise SystemExit(f"the hub that started this gateway (pid {hub_pid}) is gone")
    exit_with_parent(hub_pid)
    app = DaskGateway(config=config)
    app.initialize([])
    app.start()


if __name__ == "__main__":
    main()
