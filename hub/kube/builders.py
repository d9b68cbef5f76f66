"""Pure builders for workspace pods: settings and profiles → KubeSpawner values.

Nothing here talks to Kubernetes; every function returns plain data, so tests compare
dicts and the spawner, the hub config and `sdl render` all share one definition.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from hub.profiles import Profile, Toleration
from hub.settings import KubernetesSettings

GPU_RESOURCE = "nvidia.com/gpu"
HOME_VOLUME = "home"
ARCHIVE_VOLUME = "archive"
TEMPLATES_VOLUME = "templates"
#: The single-user command; hub.workspace seeds templates then execs the rest.
WORKSPACE_CMD = ["python", "-m", "hub.workspace", "jupyterhub-singleuser"]

#: Spawner attributes a profile may change; restored before each spawn so that a
#: previous profile's GPU, node pool or image never leaks into the next one.
PROFILE_TRAITS = (
    "cpu_guarantee",
    "cpu_limit",
    "mem_guarantee",
    "mem_limit",
    "extra_resource_guarantees",
    "extra_resource_limits",
    "node_selector",
    "tolerations",
    "image",
)


def toleration_dict(toleration: Toleration) -> dict[str, Any]:
    """A Kubernetes Toleration in camelCase, without empty fields."""
    return toleration.model_dump(exclude_none=True)


def kubespawner_override(
    profile: Profile, base_tolerations: Sequence[dict[str, Any]] = ()
) -> dict[str, Any]:
    """The KubeSpawner attributes one profile sets (`kubespawner_override`).

    Tolerations are the deployment's (e.g. z2jh's user-node tolerations) plus the
    profile's, because KubeSpawner replaces lists instead of merging them.
    """
    override: dict[str, Any] = {
        "cpu_guarantee": profile.cpu_guarantee,
        "cpu_limit": profile.cpu_limit,
        "mem_guarantee": profile.mem_guarantee,
        "mem_limit": profile.mem_limit,
    }
    if profile.gpus:
        override["extra_resource_guarantees"] = {GPU_RESOURCE: str(profile.gpus)}
        override["extra_resource_limits"] = {GPU_RESOURCE: str(profile.gpus)}
    if profile.node_selector:
        override["node_selector"] = dict(profile.node_selector)
    if profile.tolerations:
        own = [toleration_dict(t) for t in profile.tolerations]
        override["tolerations"] = [
            *base_tolerations,
            *(t for t in own if t not in base_tolerations),
        ]
    if profile.image:
        override["image"] = profile.image
    return override


def kubespawner_profile(
    profile: Profile, base_tolerations: Sequence[dict[str, Any]] = ()
) -> dict[str, Any]:
    """One entry of KubeSpawner's `profile_list`."""
    entry: dict[str, Any] = {
        "slug": profile.slug,
        "display_name": profile.display_name,
        "description": profile.description or profile.summary(),
        "kubespawner_override": kubespawner_override(profile, base_tolerations),
    }
    if profile.default:
        entry["default"] = True
    return entry


def kubespawner_profiles(
    profiles: Iterable[Profile], base_tolerations: Sequence[dict[str, Any]] = ()
) -> list[dict[str, Any]]:
    return [kubespawner_profile(p, base_tolerations) for p in profiles]


def storage_volumes(
    kube: KubernetesSettings, admin: bool
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Volumes and mounts of a workspace: private home, archive, templates.

    The archive is read-only for everyone at `archive_mount_path` (the volume itself is
    read-only too for non-admins); admins also get it writable at `admin_archive_path`.
    """
    writable = admin and bool(kube.admin_archive_path)
    volumes: list[dict[str, Any]] = [
        {"name": HOME_VOLUME, "persistentVolumeClaim": {"claimName": "{pvc_name}"}},
        {"name": ARCHIVE_VOLUME, **kube.archive.source(read_only=not writable)},
    ]
    mounts: list[dict[str, Any]] = [
        {"name": HOME_VOLUME, "mountPath": kube.home_mount_path},
        {"name": ARCHIVE_VOLUME, "mountPath": kube.archive_mount_path, "readOnly": True},
    ]
    if writable:
        mounts.append(
            {"name": ARCHIVE_VOLUME, "mountPath": kube.admin_archive_path, "readOnly": False}
        )
    if kube.templates_configmap:
        volumes.append({"name": TEMPLATES_VOLUME, "configMap": {"name": kube.templates_configmap}})
        mounts.append({"name": TEMPLATES_VOLUME, "mountPath": kube.templates_dir, "readOnly": True})
    return volumes, mounts


def workspace_environment(kube: KubernetesSettings, templates_target: str) -> dict[str, Any]:
    """Environment of every workspace. The database URL comes from the read-only Secret."""
    return {
        "ODC_DEFAULT_DB_URL": {
            "valueFrom": {
                "secretKeyRef": {"name": kube.odc_secret_name, "key": kube.odc_secret_key}
            }
        },
        "ODC_DEFAULT_INDEX_DRIVER": "postgres",
        "SDL_TEMPLATES_DIR": kube.templates_dir,
        "SDL_TEMPLATES_TARGET": templates_target,
        "SDL_ARCHIVE_DIR": kube.archive_mount_path,
        "DASK_GATEWAY__ADDRESS": kube.gateway_address,
        "DASK_GATEWAY__PROXY_ADDRESS": kube.gateway_proxy_address,
        "DASK_GATEWAY__AUTH__TYPE": "jupyterhub",
    }


def container_security_context() -> dict[str, Any]:
    """At least z2jh's defaults: no root, no capabilities, no escalation, seccomp."""
    return {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def pod_security_context() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
        "fsGroupChangePolicy": "OnRootMismatch",
    }
