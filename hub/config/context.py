"""Everything the apply steps read: settings, where things listen, and secrets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from hub.errors import SettingsError
from hub.ports import platform_port
from hub.runtime import Runtime
from hub.secrets import SecretStore
from hub.settings import MIN_ADMIN_PASSWORD, Settings

__all__ = ["MIN_ADMIN_PASSWORD", "HubContext", "kubernetes_secrets", "platform_secrets"]


@dataclass(frozen=True)
class HubContext:
    """`runtime` is None on Kubernetes, where the z2jh chart decides ports and URLs."""

    settings: Settings
    runtime: Runtime | None
    secrets: Mapping[str, str] = field(default_factory=dict)
    settings_file: str = ""  # the operator's settings document, for services the hub starts

    def embedded_runtime(self, step: str) -> Runtime:
        """The ports and URLs `sdl up` picked; only the embedded platform's steps ask."""
        if self.runtime is None:
            raise RuntimeError(
                f"{step}: needs the embedded platform's runtime (ports, URLs from sdl up), "
                "but this context has none (Kubernetes, where the chart decides them)"
            )
        return self.runtime

    def service_port(self, name: str) -> int:
        """Where the hub's service `name` listens under `sdl up`: the port picked for it
        with every other part's (privileged as root; hub.ports says why)."""
        port = self.embedded_runtime(name).service_ports.get(name)
        # a runtime made by hand (tests of one step) names none: one picked now
        return port or platform_port()

    @property
    def config_file(self) -> str:
        return self.runtime.config_file if self.runtime else self.settings_file

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir


def platform_secrets(settings: Settings) -> dict[str, str]:
    """The secrets a hub needs: from settings/environment, else made once in the data dir."""
    store = SecretStore(settings.data_dir)
    store.get_hex("cookie_secret")  # JupyterHub reads the file itself
    auth = settings.auth
    return {
        "shared_password": shared_password(settings, store),
        "admin_password": auth.admin_password or store.get("admin_password", nbytes=32),
        "db_login_key": store.get("db_login_key"),
        "cookie_secret_file": str(store.path("cookie_secret")),
        "proxy_token": store.get("proxy_token"),
        "oidc_client_secret": auth.oidc.client_secret,
        "dask_gateway_token": store.get("dask_gateway_token"),
    }


def shared_password(settings: Settings, store: SecretStore) -> str:
    """Made only for shared-password mode: no other mode has a password that opens any name."""
    if settings.auth.shared_password or settings.auth.type != "shared-password":
        return settings.auth.shared_password
    return store.get("shared_password", nbytes=9)


def kubernetes_secrets(settings: Settings) -> dict[str, str]:
    """Secrets in the hub pod: only from the settings/environment (a Kubernetes Secret)."""
    auth = settings.auth
    if auth.type == "shared-password" and not auth.shared_password:
        raise SettingsError(
            "auth.shared_password: required on Kubernetes (set SDL_SHARED_PASSWORD from a Secret)"
        )
    return {
        "shared_password": auth.shared_password,
        "admin_password": auth.admin_password,
        "oidc_client_secret": auth.oidc.client_secret,
    }
