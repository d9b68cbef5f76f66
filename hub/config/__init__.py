"""Settings → traitlets `Config`, in small steps that only set values (TLJH style).

`jupyterhub_config.py` builds a `HubContext` and calls `apply_all`; tests apply single
steps to a fresh `Config()` and assert on the values.
"""

from __future__ import annotations

from traitlets.config import Config

from hub.config.archive import apply_archive
from hub.config.auth import apply_auth
from hub.config.context import HubContext
from hub.config.gateway import apply_gateway
from hub.config.hub import apply_hub
from hub.config.quotas import apply_quotas
from hub.config.services import apply_services
from hub.config.spawner import apply_spawner
from hub.config.workshops import apply_workshops

# services first: later steps add their own services and roles to the lists it sets
STEPS = (
    apply_hub,
    apply_auth,
    apply_spawner,
    apply_services,
    apply_quotas,
    apply_gateway,
    apply_workshops,
    apply_archive,
)


def apply_all(ctx: HubContext, c: Config) -> None:
    for step in STEPS:
        step(ctx, c)


__all__ = ["STEPS", "HubContext", "apply_all"]
