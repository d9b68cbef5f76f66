"""The hub pod's configuration on Kubernetes, run from z2jh's `hub.extraConfig`.

The chart owns ports, URLs, the proxy and the hub database; we apply what the settings
say about login, workspaces and the stop hook, from the same settings document and the
same apply steps as `sdl up`.
"""

from __future__ import annotations

import os
from pathlib import Path

from traitlets.config import Config

from hub.config.archive import apply_archive
from hub.config.auth import apply_auth
from hub.config.context import HubContext, kubernetes_secrets
from hub.config.gateway import apply_kube_gateway_client
from hub.config.hub import apply_server_limit
from hub.config.quotas import apply_quotas
from hub.config.workshops import apply_workshops
from hub.gateway.lifecycle import post_stop_hook
from hub.kube.config import apply_kubernetes
from hub.settings import CONFIG_ENV, Settings, settings_from_environment

DEFAULT_SETTINGS_FILE = "/etc/sdl/settings.yaml"


def apply_z2jh(settings: Settings, c: Config, settings_file: str = "") -> None:
    """Every step for the hub pod; the settings' mode is Kubernetes whatever they say."""
    settings = settings.model_copy(update={"mode": "kubernetes"})
    ctx = HubContext(settings, None, kubernetes_secrets(settings), settings_file)
    apply_auth(ctx, c)
    apply_kubernetes(settings, c)
    apply_quotas(ctx, c)  # the quota service runs in the hub pod, on the lab's PostgreSQL
    apply_workshops(ctx, c)  # so does the workshops service; workspaces pull their materials
    apply_archive(ctx, c)  # and the archive's status map, on the index's read-only login
    apply_kube_gateway_client(ctx, c)  # clusters stop with their user's server
    apply_server_limit(ctx, c)  # the lab's PostgreSQL is sized for it (helm-values/README.md)
    c.Spawner.post_stop_hook = post_stop_hook


def settings_file(environ: dict[str, str] | None = None) -> str:
    """The settings file the hub pod reads (and hands its services as SDL_CONFIG)."""
    return dict(os.environ if environ is None else environ).get(CONFIG_ENV) or DEFAULT_SETTINGS_FILE


def load_z2jh_settings(environ: dict[str, str] | None = None) -> Settings:
    """The settings file mounted from a ConfigMap; secrets from the pod's environment."""
    return settings_from_environment(
        environ, overrides={"mode": "kubernetes"}, default_file=Path(DEFAULT_SETTINGS_FILE)
    )
