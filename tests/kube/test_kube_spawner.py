"""The real KubeSpawner builds pod and PVC for every profile and kind of user."""

from __future__ import annotations

import asyncio

import pytest
from kube_helpers import manifests, validate_strict
from tornado import web
from traitlets.config import Config

from hub.kube.render import SampleUser, spawn_manifests
from hub.policy.spawn import ProfileCatalog
from hub.profiles import Profile, load_profiles
from hub.settings import Settings

USERS = [
    SampleUser("student"),
    SampleUser("gpu-researcher", ("gpu-users",)),
    SampleUser("ops", admin=True),
]
PROFILES = load_profiles(Settings().profiles_dir)
CASES = [
    (user, profile)
    for user in USERS
    for profile in PROFILES
    if profile in ProfileCatalog(PROFILES).available_to(user.requester)
]
GIB = 2**30


def test_the_matrix_is_what_the_profiles_say() -> None:
    pairs = {(u.name, p.slug) for u, p in CASES}
    assert ("student", "gpu") not in pairs
    assert {("gpu-researcher", "gpu"), ("ops", "gpu"), ("student", "small")} <= pairs
    assert len(pairs) == 11


@pytest.mark.parametrize(("user", "profile"), CASES, ids=[f"{u.name}-{p.slug}" for u, p in CASES])
def test_pod_and_pvc(hub_c: Config, user: SampleUser, profile: Profile) -> None:
    _, pod, pvc = manifests(hub_c, user, {"profile": profile.slug})
    validate_strict(pod)
    validate_strict(pvc)
    spec = pod["spec"]
    (container,) = spec["containers"]

    # resources, GPU, scheduling
    resources = container["resources"]
    assert resources["requests"]["cpu"] == profile.cpu_guarantee
    assert resources["limits"]["memory"] == profile.mem_limit
    gpus = resources["limits"].get("nvidia.com/gpu")
    assert gpus == (str(profile.gpus) if profile.gpus else None)
    assert resources["requests"].get("nvidia.com/gpu") == gpus  # extended: requests = limits
    assert spec.get("nodeSelector", {}) == profile.node_selector
    for toleration in profile.tolerations:
        assert toleration.model_dump(exclude_none=True) in spec["tolerations"]
    assert container["image"] == (profile.image or Settings().kubernetes.user_image)

    # security
    assert spec["automountServiceAccountToken"] is False
    assert "serviceAccountName" not in spec
    assert spec["securityContext"] == {
        "fsGroup": 100,
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
        "fsGroupChangePolicy": "OnRootMismatch",
    }
    csc = container["securityContext"]
    assert csc["runAsUser"] == 1000 and csc["runAsNonRoot"] is True
    assert csc["allowPrivilegeEscalation"] is False
    assert csc["capabilities"] == {"drop": ["ALL"]}
    assert "privileged" not in csc
    assert not spec.get("initContainers")

    # storage: own PVC as home, archive read-only; writable only for admins, elsewhere
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["home"]["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
    mounts = [
        (m["name"], m["mountPath"], m.get("readOnly", False)) for m in container["volumeMounts"]
    ]
    assert ("home", "/home/jovyan", False) in mounts
    assert ("archive", "/home/jovyan/shared", True) in mounts
    writable = [m for m in mounts if m[0] == "archive" and not m[2]]
    if user.admin:
        assert writable == [("archive", "/home/jovyan/archive-admin", False)]
    else:
        assert writable == []
        assert volumes["archive"]["persistentVolumeClaim"]["readOnly"] is True
    assert pvc["spec"]["resources"]["requests"]["storage"] == "10Gi"
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]

    # environment: read-only ODC secret, never the admin one
    env = {e["name"]: e for e in container["env"]}
    assert env["ODC_DEFAULT_DB_URL"]["valueFrom"]["secretKeyRef"]["name"] == "sdl-odc-readonly"
    assert "sdl-odc-admin" not in repr(pod)
    assert env["SDL_TEMPLATES_DIR"]["value"] == "/opt/sdl/templates"
    assert container["args"][:4] == ["python", "-m", "hub.workspace", "jupyterhub-singleuser"]


def test_default_profile_when_no_options(hub_c: Config) -> None:
    _, pod, _ = manifests(hub_c, SampleUser("student"), {})
    assert pod["spec"]["containers"][0]["resources"]["limits"]["memory"] == 8 * GIB


def test_profile_list_shows_only_allowed(hub_c: Config) -> None:
    async def slugs(user: SampleUser) -> list[str]:
        spawner, _, _ = await spawn_manifests(hub_c, user, {})
        return [p["slug"] for p in await spawner.profile_list(spawner)]

    assert asyncio.run(slugs(SampleUser("student"))) == ["small", "medium", "large"]
    assert "gpu" in asyncio.run(slugs(SampleUser("g", ("gpu-users",))))


def test_other_groups_profile_is_refused(hub_c: Config) -> None:
    with pytest.raises(web.HTTPError) as refused:
        manifests(hub_c, SampleUser("student"), {"profile": "gpu"})
    assert refused.value.status_code == 403
    assert "gpu-users" in refused.value.log_message


def test_load_user_options_checks_even_without_the_hook(hub_c: Config) -> None:
    """A deployment that replaces apply_user_options still cannot spawn a tampered pod."""

    async def spawn() -> None:
        spawner, _, _ = await spawn_manifests(hub_c, SampleUser("student"), {})
        spawner.user_options = {"profile": "gpu"}
        await spawner.load_user_options()

    with pytest.raises(web.HTTPError):
        asyncio.run(spawn())


def test_switching_profiles_leaves_nothing_behind(hub_c: Config) -> None:
    """The same Spawner object is reused by the hub across restarts of a server."""

    async def gpu_then_small() -> dict:
        spawner, _, _ = await spawn_manifests(
            hub_c, SampleUser("g", ("gpu-users",)), {"profile": "gpu"}
        )
        assert spawner.extra_resource_limits == {"nvidia.com/gpu": "1"}
        spawner.user_options = {"profile": "small"}
        await spawner.load_user_options()
        return spawner.api.api_client.sanitize_for_serialization(await spawner.get_pod_manifest())

    pod = asyncio.run(gpu_then_small())
    assert "nvidia.com/gpu" not in pod["spec"]["containers"][0]["resources"]["limits"]
    assert pod["spec"]["containers"][0]["image"] == Settings().kubernetes.user_image
    assert not pod["spec"].get("nodeSelector")
    assert not pod["spec"].get("tolerations")
    assert [v["name"] for v in pod["spec"]["volumes"]] == ["home", "archive"]


def z2jh_config() -> Config:
    """What z2jh 4.4's own hub config sets before our extraConfig runs (default values)."""
    c = Config()
    c.KubeSpawner.profile_list = []
    c.KubeSpawner.mem_guarantee = "1G"
    c.KubeSpawner.environment = {}
    c.KubeSpawner.tolerations = [
        {
            "key": "hub.jupyter.org/dedicated",
            "operator": "Equal",
            "value": "user",
            "effect": "NoSchedule",
        },
    ]
    c.KubeSpawner.volumes = {}
    c.KubeSpawner.volume_mounts = {}
    c.KubeSpawner.uid = 1000
    c.KubeSpawner.fs_gid = 100
    return c


def test_on_top_of_the_z2jh_chart_config(settings: Settings) -> None:
    from hub.kube.config import apply_kubernetes

    c = z2jh_config()
    apply_kubernetes(settings, c)
    _, pod, _ = manifests(c, SampleUser("g", ("gpu-users",)), {"profile": "gpu"})
    validate_strict(pod)
    spec = pod["spec"]
    assert spec["containers"][0]["resources"]["requests"]["memory"] == 24 * GIB
    assert [t["key"] for t in spec["tolerations"]] == [
        "hub.jupyter.org/dedicated",
        "nvidia.com/gpu",
    ]
    assert [v["name"] for v in spec["volumes"]] == ["home", "archive"]
    with pytest.raises(web.HTTPError):
        manifests(c, SampleUser("student"), {"profile": "gpu"})


def test_the_gpu_pod_gets_a_gpu_on_the_gpu_pool_from_the_gpu_image(hub_c: Config) -> None:
    """What a GPU node pool needs to see, spelled out (the matrix above checks it too)."""
    _, pod, _ = manifests(hub_c, SampleUser("g", ("gpu-users",)), {"profile": "gpu"})
    validate_strict(pod)
    spec = pod["spec"]
    (container,) = spec["containers"]
    assert container["resources"]["requests"]["nvidia.com/gpu"] == "1"
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert spec["nodeSelector"] == {"sdl.lab/pool": "gpu"}
    # the NVIDIA device plugin's taint on GPU nodes
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in spec[
        "tolerations"
    ]
    assert container["image"] == "ghcr.io/space-data-lab/sdl-user-gpu:0.1.0"
    assert not any(e["name"] == "NVIDIA_VISIBLE_DEVICES" for e in container["env"])
