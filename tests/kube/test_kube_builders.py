"""Pure builders compared as plain dicts."""

from __future__ import annotations

from hub.kube.builders import kubespawner_profile, storage_volumes, workspace_environment
from hub.profiles import Profile
from hub.settings import KubernetesSettings

Z2JH_USER = {
    "key": "hub.jupyter.org/dedicated",
    "operator": "Equal",
    "value": "user",
    "effect": "NoSchedule",
}

GPU = Profile(
    slug="gpu",
    display_name="GPU",
    cpu_guarantee=2,
    cpu_limit=8,
    mem_guarantee="24Gi",
    mem_limit="32Gi",
    gpus=1,
    groups=["gpu-users"],
    node_selector={"sdl.lab/pool": "gpu"},
    tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
    image="ghcr.io/space-data-lab/sdl-user-gpu:0.1.0",
)
SMALL = Profile(
    slug="small",
    display_name="Small",
    cpu_guarantee=0.5,
    cpu_limit=2,
    mem_guarantee="4Gi",
    mem_limit="8Gi",
    default=True,
)


def test_gpu_profile_entry() -> None:
    assert kubespawner_profile(GPU, [Z2JH_USER]) == {
        "slug": "gpu",
        "display_name": "GPU",
        "description": "8 CPU, 32Gi RAM, 1 GPU",
        "kubespawner_override": {
            "cpu_guarantee": 2.0,
            "cpu_limit": 8.0,
            "mem_guarantee": 24 * 2**30,
            "mem_limit": 32 * 2**30,
            "extra_resource_guarantees": {"nvidia.com/gpu": "1"},
            "extra_resource_limits": {"nvidia.com/gpu": "1"},
            "node_selector": {"sdl.lab/pool": "gpu"},
            "tolerations": [
                Z2JH_USER,
                {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
            ],
            "image": "ghcr.io/space-data-lab/sdl-user-gpu:0.1.0",
        },
    }


def test_small_profile_entry_sets_only_resources() -> None:
    assert kubespawner_profile(SMALL) == {
        "slug": "small",
        "display_name": "Small",
        "description": "2 CPU, 8Gi RAM",
        "default": True,
        "kubespawner_override": {
            "cpu_guarantee": 0.5,
            "cpu_limit": 2.0,
            "mem_guarantee": 4 * 2**30,
            "mem_limit": 8 * 2**30,
        },
    }


def test_archive_read_only_for_users_writable_for_admins_elsewhere() -> None:
    kube = KubernetesSettings()
    volumes, mounts = storage_volumes(kube, admin=False)
    assert volumes == [
        {"name": "home", "persistentVolumeClaim": {"claimName": "{pvc_name}"}},
        {
            "name": "archive",
            "persistentVolumeClaim": {"claimName": "sdl-archive", "readOnly": True},
        },
    ]
    assert mounts == [
        {"name": "home", "mountPath": "/home/jovyan"},
        {"name": "archive", "mountPath": "/home/jovyan/shared", "readOnly": True},
    ]
    volumes, mounts = storage_volumes(kube, admin=True)
    assert volumes[1]["persistentVolumeClaim"]["readOnly"] is False
    assert mounts[1:] == [
        {"name": "archive", "mountPath": "/home/jovyan/shared", "readOnly": True},
        {"name": "archive", "mountPath": "/home/jovyan/archive-admin", "readOnly": False},
    ]


def test_no_admin_path_means_admins_read_only_too() -> None:
    volumes, mounts = storage_volumes(KubernetesSettings(admin_archive_path=""), admin=True)
    assert volumes[1]["persistentVolumeClaim"]["readOnly"] is True
    assert all(m.get("readOnly", True) for m in mounts if m["name"] == "archive")


def test_templates_configmap_mounted_read_only() -> None:
    kube = KubernetesSettings(templates_configmap="sdl-templates")
    volumes, mounts = storage_volumes(kube, admin=False)
    assert {"name": "templates", "configMap": {"name": "sdl-templates"}} in volumes
    assert {"name": "templates", "mountPath": "/opt/sdl/templates", "readOnly": True} in mounts


def test_environment_uses_read_only_secret() -> None:
    env = workspace_environment(KubernetesSettings(), "examples")
    assert env["ODC_DEFAULT_DB_URL"] == {
        "valueFrom": {"secretKeyRef": {"name": "sdl-odc-readonly", "key": "url"}}
    }
    assert "sdl-odc-admin" not in repr(env)
    assert env["SDL_TEMPLATES_DIR"] == "/opt/sdl/templates"
