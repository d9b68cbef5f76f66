"""Facts that exist only while the embedded platform runs, shared by `sdl up` and the hub.

Settings say what the platform should be; the runtime file says where its parts listen
right now (ports picked at start-up). `sdl up` writes it; the hub config reads it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Runtime:
    public_ip: str
    public_port: int
    proxy_api_port: int
    hub_port: int
    config_file: str = ""  # the operator's settings file, "" for built-in defaults
    gateway_port: int = 0  # Dask Gateway's HTTP proxy; 0: no gateway (Dask disabled)
    gateway_tcp_port: int = 0  # its scheduler (TLS) proxy
    #: the hub's services (quotas, workshops, archive) by name: the hub starts them, on
    #: ports picked with the other parts' (hub.ports) and the same across hub restarts
    service_ports: dict[str, int] = field(default_factory=dict)

    @property
    def public_url(self) -> str:
        host = "127.0.0.1" if self.public_ip in ("", "0.0.0.0") else self.public_ip
        return f"http://{host}:{self.public_port}"


def runtime_path(data_dir: Path) -> Path:
    return data_dir / "run" / "runtime.json"


def write_runtime(data_dir: Path, runtime: Runtime) -> Path:
    path = runtime_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(runtime), indent=2))
    os.replace(tmp, path)
    return path


def read_runtime(data_dir: Path) -> Runtime:
    return Runtime(**json.loads(runtime_path(data_dir).read_text()))
