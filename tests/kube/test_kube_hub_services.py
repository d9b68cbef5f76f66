"""Services in the hub pod (quotas, workshops): the chart values route the proxy to them,
and nobody else; workspaces reach them only through the proxy (like the Dask Gateway)."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from traitlets.config import Config

from hub.config import quotas, workshops
from hub.config.context import HubContext
from hub.config.hubpod import DATA_DIR
from hub.settings import KubernetesSettings, settings_from_dict
from tests.kube.test_kube_helm_values import dig, load

DB = "postgresql://sdl:secret@sdl-db-rw:5432/sdl"
SETTINGS = settings_from_dict(
    {"mode": "kubernetes", "auth": {"shared_password": "pw-123456"}, "database": {"url": DB}}
)
SERVICES = {"quotas": quotas.KUBE_PORT, "workshops": workshops.KUBE_PORT}


def services() -> dict[str, dict]:
    c = Config()
    ctx = HubContext(SETTINGS, None, {}, "/etc/sdl/settings.yaml")
    quotas.apply_quotas(ctx, c)
    workshops.apply_workshops(ctx, c)
    return {s["name"]: s for s in c.JupyterHub.services}


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_the_service_is_reached_through_the_hub_service_with_the_pods_database(
    name: str,
) -> None:
    service = services()[name]
    url = urlparse(service["url"])
    assert (url.hostname, url.port) == ("hub", SERVICES[name])  # z2jh's hub Service
    # JupyterHub passes services only what it is given: the database must be handed over
    assert service["environment"] == {
        "SDL_DATA_DIR": DATA_DIR,
        "SDL_MODE": "kubernetes",
        "SDL_CONFIG": "/etc/sdl/settings.yaml",
        "SDL_DATABASE_URL": DB,
    }


def test_hub_service_exposes_the_services_ports_to_the_proxy_only() -> None:
    z2jh = load("jupyterhub.yaml")
    ports = {p["port"]: p for p in dig(z2jh, "hub.service.extraPorts")}
    assert sorted(ports) == sorted(SERVICES.values())
    assert all(p["targetPort"] == p["port"] and p["protocol"] == "TCP" for p in ports.values())
    ingress = dig(z2jh, "hub.networkPolicy.ingress")
    proxy = {"app": "jupyterhub", "component": "proxy"}  # z2jh's labels, kept by its pods
    for port in SERVICES.values():
        rules = [r for r in ingress if {"port": port, "protocol": "TCP"} in r["ports"]]
        assert len(rules) == 1 and rules[0]["from"] == [{"podSelector": {"matchLabels": proxy}}]
        assert port not in dig(z2jh, "hub.networkPolicy").get("allowedIngressPorts", [])


def test_workspaces_reach_the_workshops_through_proxy_public() -> None:
    gateway = urlparse(KubernetesSettings().gateway_address)
    url = urlparse(workshops.KUBE_WORKSHOPS_URL)
    assert (url.scheme, url.netloc) == (gateway.scheme, gateway.netloc)
    assert url.path == "/services/workshops/"


def test_the_quota_service_reads_the_pods_database_and_mode() -> None:
    from hub.quotas.__main__ import settings_from_env

    settings = settings_from_env(services()["quotas"]["environment"] | {"SDL_CONFIG": ""})
    assert settings.mode == "kubernetes"
    assert settings.database.url == DB
    assert str(settings.data_dir) == DATA_DIR
