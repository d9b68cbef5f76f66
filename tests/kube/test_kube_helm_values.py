"""helm-values/ load, pin their charts, and carry the keys and types our config reads."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from traitlets.config import Config

from hub.config.z2jh import load_z2jh_settings
from hub.errors import SettingsError
from hub.gateway.kube import gateway_oauth_env
from hub.kube.network import singleuser_egress
from hub.kube.spawner import SdlKubeSpawner
from hub.settings import (
    CONFIG_ENV,
    CONFIG_TEXT_ENV,
    KubernetesSettings,
    deep_merge,
    settings_from_dict,
)

ROOT = Path(__file__).resolve().parents[2]
VALUES = ROOT / "helm-values"
IMAGES = ROOT / "images"
KUBE = KubernetesSettings()


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((VALUES / name).read_text())


def dig(document: dict[str, Any], path: str) -> Any:
    node: Any = document
    for key in path.split("."):
        assert isinstance(node, dict) and key in node, f"{path}: missing {key!r}"
        node = node[key]
    return node


def image(name: str, tag: str) -> str:
    return f"{name}:{tag}"


@pytest.fixture(scope="module")
def z2jh() -> dict[str, Any]:
    return load("jupyterhub.yaml")


def test_every_chart_is_pinned() -> None:
    releases = load("helmfile.yaml")["releases"]
    assert {r["chart"] for r in releases} == {
        "jupyterhub/jupyterhub",
        "dask/dask-gateway",
        "cnpg/cloudnative-pg",
    }
    for release in releases:
        assert re.fullmatch(r"\d+\.\d+\.\d+", str(release["version"])), release
        for values in release["values"]:
            assert (VALUES / values).is_file()


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("hub.image.name", str),
        ("hub.image.tag", str),
        ("hub.extraConfig", dict),
        ("hub.extraFiles.sdl-settings.data", dict),
        ("singleuser.image.name", str),
        ("singleuser.storage.type", str),
        ("singleuser.uid", int),
        ("singleuser.fsGid", int),
        ("singleuser.networkPolicy.egress", list),
        ("singleuser.networkPolicy.enabled", bool),
        ("cull.enabled", bool),
        ("cull.timeout", int),
        ("cull.every", int),
        ("scheduling.userPlaceholder.enabled", bool),
        ("scheduling.userPlaceholder.replicas", int),
        ("prePuller.hook.enabled", bool),
        ("prePuller.continuous.enabled", bool),
        ("prePuller.extraImages", dict),
    ],
)
def test_z2jh_keys_present_and_typed(z2jh: dict, path: str, kind: type) -> None:
    assert isinstance(dig(z2jh, path), kind)


def test_images_match_the_settings_defaults(z2jh: dict) -> None:
    assert image(**dig(z2jh, "hub.image")) == KUBE.hub_image
    assert image(**dig(z2jh, "singleuser.image")) == KUBE.user_image
    assert image(**dig(z2jh, "prePuller.extraImages.sdl-user")) == KUBE.user_image
    gateway = load("dask-gateway.yaml")
    assert image(**dig(gateway, "gateway.backend.image")) == KUBE.user_image


def test_user_network_policy(z2jh: dict) -> None:
    policy = dig(z2jh, "singleuser.networkPolicy")
    assert policy["egress"] == singleuser_egress(KUBE)
    rules = policy["egressAllowRules"]
    assert rules["privateIPs"] is False and rules["cloudMetadataServer"] is False
    assert rules["nonPrivateIPs"] is True
    assert dig(z2jh, "singleuser.cloudMetadata.blockWithIptables") is False  # no privileged init


def test_storage_and_security_left_to_our_config(z2jh: dict) -> None:
    assert dig(z2jh, "singleuser.storage.type") == "none"
    assert dig(z2jh, "singleuser.uid") == KUBE.uid
    assert dig(z2jh, "singleuser.fsGid") == KUBE.fs_gid


def test_extra_config_runs_and_configures_the_spawner(
    z2jh: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hub pod's extraConfig, run here against the settings file the chart mounts."""
    settings_file = tmp_path / "settings.yaml"
    settings_file.write_text(yaml.safe_dump(dig(z2jh, "hub.extraFiles.sdl-settings.data")))
    monkeypatch.setenv(CONFIG_ENV, str(settings_file))
    secret_ref = dig(z2jh, "hub.extraEnv.SDL_SHARED_PASSWORD")["valueFrom"]["secretKeyRef"]
    assert secret_ref["name"] == "sdl-hub-auth"
    monkeypatch.setenv("SDL_SHARED_PASSWORD", "from-the-secret")  # what the pod would get
    assert dig(z2jh, f"hub.extraEnv.{CONFIG_ENV}") == "/etc/sdl/settings.yaml"
    c = Config()
    # as z2jh's jupyterhub_config.py does before extraConfig: hub.services, with the
    # api_token it generated into its Secret
    c.JupyterHub.services = [
        {**service, "name": name, "api_token": f"generated-{name}"}
        for name, service in dig(z2jh, "hub.services").items()
    ]
    for snippet in dig(z2jh, "hub.extraConfig").values():
        exec(compile(snippet, "hub.extraConfig", "exec"), {"c": c, "os": os})
    assert c.JupyterHub.spawner_class is SdlKubeSpawner
    assert c.KubeSpawner.start_timeout == 300
    assert c.SdlKubeSpawner.profiles
    assert c.SharedPasswordAuthenticator.user_password == "from-the-secret"
    assert c.Spawner.post_stop_hook is not None  # a stopped server takes its Dask clusters
    # ...through the gateway API service, with the token the gateway pod also gets
    assert c.SdlGatewayClient.api_url == "http://api-sdl-dask-gateway:8000"
    assert c.SdlGatewayClient.api_token == "generated-dask-gateway"
    gateway_env = {e["name"]: e for e in dig(load("dask-gateway.yaml"), "gateway.env")}
    token_ref = dig(load("dask-gateway.yaml"), "gateway.auth.jupyterhub")
    assert token_ref["apiTokenFromSecretKey"] == "hub.services.dask-gateway.apiToken"
    assert "SDL_DATABASE_URL" in gateway_env  # limits from quotas, usage into the budget
    # the browser login to dashboards: the hub's OAuth client for the service
    settings = load_z2jh_settings({CONFIG_ENV: str(settings_file), "SDL_SHARED_PASSWORD": "x" * 12})
    for entry in gateway_oauth_env(settings):
        assert gateway_env[entry["name"]] == entry
    assert dig(z2jh, "hub.services.dask-gateway.oauth_no_confirm") is True
    assert [s["name"] for s in c.JupyterHub.services].count("dask-gateway") == 1
    quotas = next(s for s in c.JupyterHub.services if s["name"] == "quotas")
    assert quotas["environment"][CONFIG_ENV] == str(settings_file)
    assert c.QuotaChecker.enabled is True


def test_settings_document_validates(z2jh: dict) -> None:
    settings = settings_from_dict(dig(z2jh, "hub.extraFiles.sdl-settings.data"), "jupyterhub.yaml")
    assert settings.mode == "kubernetes"


def test_gateway_uses_hub_auth_and_the_service_scope(z2jh: dict) -> None:
    gateway = load("dask-gateway.yaml")
    auth = dig(gateway, "gateway.auth")
    assert auth["type"] == "jupyterhub"
    assert auth["jupyterhub"]["jupyterhubServiceName"] == "dask-gateway"
    assert dig(gateway, "gateway.prefix") == "/services/dask-gateway"
    assert "dask-gateway" in dig(z2jh, "hub.services")
    assert "access:services!service=dask-gateway" in dig(z2jh, "hub.loadRoles.user.scopes")
    worker = dig(gateway, "gateway.backend.worker")
    env = {e["name"]: e for e in worker["extraContainerConfig"]["env"]}
    assert env["ODC_DEFAULT_DB_URL"]["valueFrom"]["secretKeyRef"]["name"] == KUBE.odc_secret_name
    assert worker["extraPodConfig"]["automountServiceAccountToken"] is False


@pytest.mark.parametrize("overlay", ["small-cluster.yaml", "workshop-burst.yaml"])
def test_overlays_merge_with_typed_values(z2jh: dict, overlay: str) -> None:
    merged = deep_merge(z2jh, load(overlay))
    assert isinstance(dig(merged, "scheduling.userPlaceholder.replicas"), int)
    assert isinstance(dig(merged, "cull.timeout"), int)
    assert dig(merged, "singleuser.networkPolicy.egress") == singleuser_egress(KUBE)


def test_workshop_keeps_nodes_warm() -> None:
    burst = load("workshop-burst.yaml")
    assert dig(burst, "scheduling.userPlaceholder.replicas") > 0
    assert dig(burst, "prePuller.hook.enabled") is True


def test_postgres_cluster_names_match_our_policies() -> None:
    cluster = yaml.safe_load((VALUES / "postgres" / "odc-cluster.yaml").read_text())
    assert cluster["kind"] == "Cluster"
    assert {"cnpg.io/cluster": cluster["metadata"]["name"]} == KUBE.odc_db_pod_labels
    assert "postgis" in cluster["spec"]["imageName"]


def test_hub_image_is_built_on_the_pinned_chart() -> None:
    version = next(
        r["version"]
        for r in load("helmfile.yaml")["releases"]
        if r["chart"] == "jupyterhub/jupyterhub"
    )
    dockerfile = (IMAGES / "hub" / "Dockerfile").read_text()
    assert f"ARG Z2JH_VERSION={version}" in dockerfile
    assert "FROM quay.io/jupyterhub/k8s-hub:${Z2JH_VERSION}" in dockerfile


@pytest.mark.parametrize("name", ["hub", "user", "ingest"])
def test_requirements_are_pinned(name: str) -> None:
    lines = [
        line.strip()
        for line in (IMAGES / name / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines
    for line in lines:
        assert re.fullmatch(r"[A-Za-z0-9_.\-]+(\[[a-z,]+\])?==[0-9][0-9A-Za-z.]*", line), line


def test_user_image_has_the_notebook_stack() -> None:
    names = {
        re.split(r"[\[=]", line)[0].lower()
        for line in (IMAGES / "user" / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert {
        "jupyterlab",
        "datacube",
        "odc-stac",
        "ipyleaflet",
        "dask-gateway",
        "dask-labextension",
        "psycopg2-binary",
    } <= names


def test_gateway_config_comes_from_this_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chart's extraConfig is our snippet, and running it applies our limits."""
    from hub.gateway.kube import gateway_extra_config, kube_gateway_config
    from hub.settings import load_settings

    gateway = load("dask-gateway.yaml")
    assert dig(gateway, "gateway.extraConfig.sdl") == gateway_extra_config()
    assert dig(gateway, "gateway.image.name").endswith("sdl-gateway")
    env = {e["name"]: e for e in dig(gateway, "gateway.env")}
    # the chart's API pod takes no extra volumes: the hub's settings document reaches it
    # as text, from ConfigMap sdl-settings (kubectl create configmap --from-file=settings.yaml)
    assert env[CONFIG_TEXT_ENV]["valueFrom"] == {
        "configMapKeyRef": {"name": "sdl-settings", "key": "settings.yaml"}
    }
    assert CONFIG_ENV not in env  # no file is mounted there (both set is an error)
    # the chart's extraConfig, run as the gateway pod runs it with that variable, reads
    # the hub's document exactly as the file the hub reads
    document = yaml.safe_dump(dig(load("jupyterhub.yaml"), "hub.extraFiles.sdl-settings.data"))
    settings_file = tmp_path / "settings.yaml"
    settings_file.write_text(document)
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.setenv(CONFIG_TEXT_ENV, document)
    pod_c = Config()
    exec(
        compile(dig(gateway, "gateway.extraConfig.sdl"), "gateway.extraConfig", "exec"),
        {"c": pod_c},
    )
    from_file = load_settings(settings_file)
    assert from_file.mode == "kubernetes"  # the document, not the defaults
    assert pod_c.SdlKubeBackend.usage_settings == from_file
    expected = kube_gateway_config(from_file)
    for section, trait in [
        ("DaskGateway", "backend_class"),
        ("DaskGateway", "authenticator_class"),
        ("JupyterHubAuthenticator", "jupyterhub_service_name"),
        ("JupyterHubAuthenticator", "use_service_access_scopes"),
        ("KubeClusterConfig", "idle_timeout"),
        ("KubeClusterConfig", "image"),
        ("KubeClusterConfig", "cluster_max_cores"),
        ("KubeClusterConfig", "cluster_max_memory"),
        ("KubeClusterConfig", "cluster_max_workers"),
    ]:
        assert pod_c[section][trait] == expected[section][trait], (section, trait)
    assert (
        pod_c.SdlKubeBackend.limits_provider.__class__
        is expected.SdlKubeBackend.limits_provider.__class__
    )
    # quota limits and Dask usage: the same database URL as the hub's
    hub_db = dig(load("jupyterhub.yaml"), "hub.extraEnv.SDL_DATABASE_URL")
    assert env["SDL_DATABASE_URL"] == {"name": "SDL_DATABASE_URL", **hub_db}
    assert hub_db["valueFrom"]["secretKeyRef"] == {"name": "sdl-hub-db", "key": "url"}
    config = kube_gateway_config(load_settings(None, environ={}))
    assert config.DaskGateway.backend_class == "hub.gateway.kube.SdlKubeBackend"
    assert config.JupyterHubAuthenticator.jupyterhub_service_name == "dask-gateway"
    assert config.KubeClusterConfig.image == KUBE.user_image  # workers run the user image


def test_gateway_settings_sources(tmp_path: Path) -> None:
    """The gateway pod finds its settings as every process does, errors naming the source."""
    from hub.gateway.kube import gateway_settings

    settings_file = tmp_path / "settings.yaml"
    settings_file.write_text("mode: kubernetes\n")
    assert gateway_settings({CONFIG_ENV: str(settings_file)}).mode == "kubernetes"
    assert gateway_settings({CONFIG_TEXT_ENV: "mode: kubernetes\n"}).mode == "kubernetes"
    with pytest.raises(SettingsError, match=f"both {CONFIG_ENV} .* and {CONFIG_TEXT_ENV} are set"):
        gateway_settings({CONFIG_ENV: str(settings_file), CONFIG_TEXT_ENV: "{}"})
    with pytest.raises(SettingsError, match=f"{CONFIG_TEXT_ENV}: expected a mapping"):
        gateway_settings({CONFIG_TEXT_ENV: "- a list\n"})
    with pytest.raises(SettingsError, match=CONFIG_TEXT_ENV):
        gateway_settings({CONFIG_TEXT_ENV: "mode: nowhere\n"})
