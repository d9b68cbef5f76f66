"""Kubernetes mode: settings → traitlets config for JupyterHub with SdlKubeSpawner.

Each `apply_*` step only sets values on `c` (as in The Littlest JupyterHub), so it can be
tested on a fresh `Config()` and run in the z2jh hub pod's `hub.extraConfig` after the
chart's own configuration, which it overrides where both set the same value.
"""

from __future__ import annotations

from typing import Any

from traitlets.config import Config

from hub.kube.builders import (
    WORKSPACE_CMD,
    container_security_context,
    pod_security_context,
    storage_volumes,
    workspace_environment,
)
from hub.kube.spawner import SdlKubeSpawner, allowed_profile_list, refuse_tampered_options
from hub.profiles import load_profiles
from hub.settings import KubernetesSettings, Settings


def kube_settings(settings: Settings) -> KubernetesSettings:
    """The `kubernetes:` section, or its defaults while the document has none."""
    section = getattr(settings, "kubernetes", None)
    return section if isinstance(section, KubernetesSettings) else KubernetesSettings()


def apply_spawner(settings: Settings, c: Config) -> None:
    """Spawn workspaces as pods from the user image, wrapped to seed templates."""
    kube = kube_settings(settings)
    c.JupyterHub.spawner_class = SdlKubeSpawner
    c.KubeSpawner.namespace = kube.namespace
    c.KubeSpawner.image = kube.user_image
    c.KubeSpawner.image_pull_policy = kube.image_pull_policy
    c.KubeSpawner.cmd = list(WORKSPACE_CMD)
    c.KubeSpawner.default_url = "/lab"
    c.KubeSpawner.start_timeout = settings.hub.spawn_timeout


def apply_profiles(settings: Settings, c: Config) -> None:
    """Offer each user the profiles their groups allow (checked again at spawn).

    Set on the SdlKubeSpawner section so they win over z2jh's `c.KubeSpawner.profile_list`
    (the chart sets it to `singleuser.profileList`, [] by default).
    """
    c.SdlKubeSpawner.profile_list = allowed_profile_list
    c.SdlKubeSpawner.apply_user_options = refuse_tampered_options
    c.SdlKubeSpawner.profiles = [
        p.model_dump(mode="json", exclude_none=True) for p in load_profiles(settings.profiles_dir)
    ]


def apply_storage(settings: Settings, c: Config) -> None:
    """A private PVC per user as home; the archive read-only (writable for admins)."""
    kube = kube_settings(settings)
    c.KubeSpawner.storage_pvc_ensure = True
    c.KubeSpawner.pvc_name_template = "claim-{user_server}"
    c.KubeSpawner.storage_capacity = kube.home_size
    # a user's quota `home_storage`, where set, sizes their home PVC instead (new PVCs)
    c.SdlKubeSpawner.settings = settings
    c.KubeSpawner.storage_access_modes = ["ReadWriteOnce"]
    if kube.storage_class:
        c.KubeSpawner.storage_class = kube.storage_class
    c.SdlKubeSpawner.user_volumes, c.SdlKubeSpawner.user_volume_mounts = storage_volumes(
        kube, admin=False
    )
    c.SdlKubeSpawner.admin_volumes, c.SdlKubeSpawner.admin_volume_mounts = storage_volumes(
        kube, admin=True
    )


def apply_security(settings: Settings, c: Config) -> None:
    """Non-root uid, fsGroup, no capabilities or escalation, seccomp, no API token."""
    kube = kube_settings(settings)
    c.KubeSpawner.uid = kube.uid
    c.KubeSpawner.gid = kube.gid
    c.KubeSpawner.fs_gid = kube.fs_gid
    c.KubeSpawner.privileged = False
    c.KubeSpawner.allow_privilege_escalation = False
    c.KubeSpawner.container_security_context = container_security_context()
    c.KubeSpawner.pod_security_context = pod_security_context()
    c.KubeSpawner.automount_service_account_token = False
    c.KubeSpawner.service_account = None


def apply_environment(settings: Settings, c: Config) -> None:
    """ODC (read-only Secret), templates and Dask Gateway variables, added to the chart's."""
    kube = kube_settings(settings)
    configured: Any = c.KubeSpawner.get("environment")
    base = dict(configured) if isinstance(configured, dict) else {}
    c.KubeSpawner.environment = {
        **base,
        **workspace_environment(kube, settings.templates.target),
    }


STEPS = (apply_spawner, apply_profiles, apply_storage, apply_security, apply_environment)


def apply_kubernetes(settings: Settings, c: Config) -> None:
    """Every Kubernetes-mode step, in order."""
    for step in STEPS:
        step(settings, c)
