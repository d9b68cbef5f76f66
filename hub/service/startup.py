"""Starting a hub service: what JupyterHub tells it, its app, its socket, its store, main().

JupyterHub starts each managed service with its prefix, URL, API URL and token in the
environment (`JUPYTERHUB_SERVICE_*`, `JUPYTERHUB_API_*`). In the Kubernetes hub pod
the proxy, another pod, connects through the hub's Service: there a service listens
on all of the pod's addresses.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import ParseResult, urlparse

from jupyterhub.services.auth import HubOAuthCallbackHandler
from tornado import web
from tornado.httpserver import HTTPServer

from hub.db.wait import when_database_ready
from hub.errors import SdlError
from hub.secrets import SecretStore
from hub.service.handlers import HealthHandler

T = TypeVar("T")


@dataclass(frozen=True)
class ServiceEnv:
    """What JupyterHub told this service about itself and the hub."""

    name: str
    prefix: str  # /services/<name>/
    url: ParseResult  # where to listen
    base_url: str  # the hub's base URL, "/" by default
    api_url: str
    api_token: str

    @classmethod
    def read(
        cls, name: str, environ: Mapping[str, str] | None = None, default_url: str = ""
    ) -> ServiceEnv:
        env = os.environ if environ is None else environ
        url = env.get("JUPYTERHUB_SERVICE_URL", default_url)
        if not url:
            raise SdlError(
                f"JUPYTERHUB_SERVICE_URL is not set: the hub starts the {name} service and "
                "sets it (see hub.config for the service's definition)"
            )
        return cls(
            name=name,
            prefix=env.get("JUPYTERHUB_SERVICE_PREFIX", f"/services/{name}/"),
            url=urlparse(url),
            base_url=env.get("JUPYTERHUB_BASE_URL", "/"),
            api_url=env.get("JUPYTERHUB_API_URL", ""),
            api_token=env.get("JUPYTERHUB_API_TOKEN", ""),
        )

    @property
    def hub_home(self) -> str:
        return f"{self.base_url.rstrip('/')}/hub/home"

    def where(self) -> str:
        """For the start-up log line: the service's own URL."""
        return f"{self.url.geturl().rstrip('/')}{self.prefix}"


def cookie_secret(data_dir: Path, name: str) -> bytes:
    """The service's cookie secret, kept in the data dir: logins survive a restart."""
    return bytes.fromhex(SecretStore(data_dir).get_hex(f"{name}_cookie_secret"))


def service_app(
    prefix: str, routes: list[Any], cookie_secret: bytes, /, **settings: Any
) -> web.Application:
    """`routes` plus the hub's OAuth callback and `health`; `settings` go to the handlers."""
    return web.Application(
        [
            *routes,
            (prefix + "oauth_callback", HubOAuthCallbackHandler),
            (prefix + "health", HealthHandler),
        ],
        cookie_secret=cookie_secret,
        **settings,
    )


def listen(
    app: web.Application, env: ServiceEnv, kubernetes: bool, max_body_size: int | None = None
) -> HTTPServer:
    """Serve `app` where the hub expects it (all addresses in the Kubernetes hub pod)."""
    server = HTTPServer(app, xheaders=True, max_body_size=max_body_size)
    host = "" if kubernetes else env.url.hostname or "127.0.0.1"
    server.listen(env.url.port or 80, host)
    logging.getLogger(f"sdl.{env.name}").info("%s service on %s", env.name, env.where())
    return server


async def open_when_ready(open_: Callable[[], T], what: str, timeout: float = 60) -> T:
    """`open_()` off the event loop, waiting up to `timeout` s for PostgreSQL to start."""
    return await asyncio.to_thread(when_database_ready, open_, what, timeout)


def main(name: str, serve: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Log to stderr with the service's name, and run `serve` until stopped."""
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format=f"[%(levelname)1.1s %(asctime)s {name}] %(message)s",
    )
    asyncio.run(serve())
