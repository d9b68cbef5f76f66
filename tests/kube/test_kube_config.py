"""apply_kubernetes on a fresh Config, asserted value by value (TLJH style)."""

from __future__ import annotations

from traitlets.config import Config

from hub.kube.config import apply_environment, apply_kubernetes, apply_storage
from hub.kube.spawner import SdlKubeSpawner, allowed_profile_list, refuse_tampered_options
from hub.settings import Settings


def test_spawner_and_security(settings: Settings) -> None:
    c = Config()
    apply_kubernetes(settings, c)
    assert c.JupyterHub.spawner_class is SdlKubeSpawner
    assert c.KubeSpawner.image == "ghcr.io/space-data-lab/sdl-user:0.1.0"
    assert c.KubeSpawner.cmd == ["python", "-m", "hub.workspace", "jupyterhub-singleuser"]
    assert c.KubeSpawner.default_url == "/lab"
    assert (c.KubeSpawner.uid, c.KubeSpawner.gid, c.KubeSpawner.fs_gid) == (1000, 100, 100)
    assert c.KubeSpawner.automount_service_account_token is False
    assert c.KubeSpawner.container_security_context["capabilities"] == {"drop": ["ALL"]}
    assert c.KubeSpawner.pod_security_context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert c.SdlKubeSpawner.profile_list is allowed_profile_list  # wins over z2jh's []
    assert c.SdlKubeSpawner.apply_user_options is refuse_tampered_options
    assert [p["slug"] for p in c.SdlKubeSpawner.profiles] == ["small", "medium", "gpu", "large"]


def test_storage(settings: Settings) -> None:
    c = Config()
    apply_storage(settings, c)
    assert c.KubeSpawner.storage_pvc_ensure is True
    assert c.KubeSpawner.storage_capacity == "10Gi"
    assert "storage_class" not in c.KubeSpawner  # cluster default class
    assert [v["name"] for v in c.SdlKubeSpawner.user_volumes] == ["home", "archive"]
    assert len(c.SdlKubeSpawner.admin_volume_mounts) == 3


def test_environment_keeps_the_charts_variables(settings: Settings) -> None:
    c = Config()
    c.KubeSpawner.environment = {"FROM_CHART": "1"}  # z2jh's singleuser.extraEnv
    apply_environment(settings, c)
    assert c.KubeSpawner.environment["FROM_CHART"] == "1"
    assert "ODC_DEFAULT_DB_URL" in c.KubeSpawner.environment


def test_traits_are_documented() -> None:
    for name in (
        "profiles",
        "user_volumes",
        "user_volume_mounts",
        "admin_volumes",
        "admin_volume_mounts",
    ):
        trait = SdlKubeSpawner.class_traits()[name]
        assert trait.metadata.get("config") is True
        assert len(trait.help) > 40
