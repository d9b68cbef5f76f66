"""`sdl render`: every Kubernetes object the platform creates or ships, as YAML files.

User pods and PVCs come from the real SdlKubeSpawner (configured by `apply_kubernetes`,
exactly as in the hub pod) for a sample of users and the profiles each may start; no
cluster is contacted. The rest comes from `hub.kube.manifests`.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kubernetes_asyncio.config import kube_config
from traitlets.config import Config

from hub.kube.config import apply_kubernetes, kube_settings
from hub.kube.manifests import platform_objects
from hub.kube.spawner import SdlKubeSpawner
from hub.kube.sync_job import sync_objects
from hub.policy.spawn import PROFILE_KEY, ProfileCatalog, Requester
from hub.profiles import load_profiles
from hub.settings import Settings

_OFFLINE_KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: offline, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: offline, user: {token: offline}}]
contexts: [{name: offline, context: {cluster: offline, user: offline}}]
current-context: offline
"""


@contextlib.contextmanager
def offline_kubeconfig() -> Iterator[Path]:
    """A kubeconfig for a server that is never contacted (KubeSpawner loads one).

    kubernetes_asyncio reads $KUBECONFIG once, at import, into a module default; that
    default is what KubeSpawner's (cached) loader uses, so it is the one replaced here.
    """
    previous = kube_config.KUBE_CONFIG_DEFAULT_LOCATION
    with tempfile.TemporaryDirectory(prefix="sdl-kubeconfig-") as tmp:
        path = Path(tmp) / "config"
        path.write_text(_OFFLINE_KUBECONFIG)
        kube_config.KUBE_CONFIG_DEFAULT_LOCATION = str(path)
        try:
            yield path
        finally:
            kube_config.KUBE_CONFIG_DEFAULT_LOCATION = previous


@dataclass(frozen=True)
class SampleUser:
    """The user facts a spawner reads (a stand-in for JupyterHub's User)."""

    name: str
    groups: tuple[str, ...] = ()
    admin: bool = False
    id: int = 0

    @property
    def url(self) -> str:
        return f"/user/{self.name}/"

    @property
    def requester(self) -> Requester:
        return Requester.of(self.name, self.groups, self.admin)


@dataclass(frozen=True)
class _Hub:
    api_url: str = "http://hub:8081/hub/api"
    url: str = "http://hub:8081/hub/"
    base_url: str = "/hub/"
    public_host: str = ""


def hub_config(settings: Settings) -> Config:
    c = Config()
    apply_kubernetes(settings, c)
    return c


def serialize(spawner: SdlKubeSpawner, obj: Any) -> dict[str, Any]:
    return spawner.api.api_client.sanitize_for_serialization(obj)


async def spawn_manifests(
    c: Config, user: SampleUser, options: Any
) -> tuple[SdlKubeSpawner, dict[str, Any], dict[str, Any]]:
    """What KubeSpawner would create for `user` asking for `options`: pod and PVC.

    Runs the same checks as a real spawn (`apply_user_options` hook, then
    `load_user_options`); a refused request raises `tornado.web.HTTPError`.
    """
    spawner = SdlKubeSpawner(config=c, user=user, hub=_Hub())
    # JupyterHub's own step before start (it lets the hook's HTTPError through)
    await spawner._run_apply_user_options(options)
    spawner.user_options = options
    await spawner.load_user_options()
    pod = serialize(spawner, await spawner.get_pod_manifest())
    pvc = serialize(spawner, spawner.get_pvc_manifest())
    for obj in (pod, pvc):
        obj["metadata"]["namespace"] = spawner.namespace
    return spawner, pod, pvc


def sample_users(settings: Settings, groups: Sequence[str] = ()) -> list[SampleUser]:
    """One user without groups, one member of each group, and one admin."""
    names = sorted({*groups, *settings.groups})
    return [
        SampleUser("student", ()),
        *(SampleUser(f"{g}-member", (g,)) for g in names),
        SampleUser("admin", (), admin=True),
    ]


def write_yaml(path: Path, obj: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(obj, sort_keys=False))
    return path


async def _render_users(settings: Settings, out: Path) -> list[Path]:
    profiles = load_profiles(settings.profiles_dir)
    catalog = ProfileCatalog(profiles)
    c = hub_config(settings)
    users = sample_users(settings, [g for p in profiles for g in p.groups])
    written: list[Path] = []
    for user in users:
        pvc: dict[str, Any] | None = None
        for profile in catalog.available_to(user.requester):
            _, pod, pvc = await spawn_manifests(c, user, {PROFILE_KEY: profile.slug})
            written.append(write_yaml(out / "users" / f"pod-{user.name}-{profile.slug}.yaml", pod))
        if pvc is not None:
            written.append(write_yaml(out / "users" / f"pvc-{user.name}.yaml", pvc))
    return written


def render(settings: Settings, out: Path) -> list[Path]:
    """Write every object under `out` (users/, platform/); return the files written."""
    with offline_kubeconfig():
        written = asyncio.run(_render_users(settings, out))
    for obj in [*platform_objects(kube_settings(settings)), *sync_objects(settings)]:
        name = f"{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"
        written.append(write_yaml(out / "platform" / name, obj))
    return written
