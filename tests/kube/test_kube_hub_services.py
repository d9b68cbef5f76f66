"""Services in the hub pod (quotas, workshops): the chart values route the proxy to them,
and nobody else; workspaces reach them only through the proxy (like the Dask Gateway)."""

from __future__ import annotations

import subprocess
import sys
from urllib.parse import urlparse

import pytest
from traitlets.config import Config

from hub.config import archive, quotas, workshops
from hub.config.context import HubContext
from hub.config.hubpod import DATA_DIR
from hub.settings import KubernetesSettings, settings_from_dict
from tests.kube.test_kube_helm_values import dig, load

DB = "postgresql://sdl:secret@sdl-db-rw:5432/sdl"
SETTINGS = settings_from_dict(
    {"mode": "kubernetes", "auth": {"shared_password": "pw-123456"}, "database": {"url": DB}}
)
SERVICES = {
    "quotas": quotas.KUBE_PORT,
    "workshops": workshops.KUBE_PORT,
    "archive": archive.KUBE_PORT,
}


def services() -> dict[str, dict]:
    c = Config()
    ctx = HubContext(SETTINGS, None, {}, "/etc/sdl/settings.yaml")
    quotas.apply_quotas(ctx, c)
    workshops.apply_workshops(ctx, c)
    archive.apply_archive(ctx, c)
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


def test_the_archive_service_reads_the_index_with_the_pods_read_only_login(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """hub.extraEnv gives the pod SDL_ARCHIVE_INDEX_URL from Secret sdl-odc-readonly (the
    workspaces' login); the hub hands it to the service, which reads the pod's settings."""
    from hub.archive import INDEX_URL_ENV
    from hub.archive.service import settings_from_env

    extra_env = dig(load("jupyterhub.yaml"), "hub.extraEnv")
    kube = KubernetesSettings()
    assert extra_env[INDEX_URL_ENV]["valueFrom"]["secretKeyRef"] == {
        "name": kube.odc_secret_name,
        "key": kube.odc_secret_key,
    }
    reader = "postgresql+psycopg2://sdl_reader:pw@sdl-odc-db-rw.sdl.svc:5432/datacube"
    monkeypatch.setenv(INDEX_URL_ENV, reader)
    environment = services()["archive"]["environment"]
    assert environment[INDEX_URL_ENV] == reader
    settings = settings_from_env(environment | {"SDL_CONFIG": ""})
    assert settings.mode == "kubernetes" and str(settings.data_dir) == DATA_DIR


def test_the_archive_service_imports_without_datacube() -> None:
    """The hub image has no datacube (nor GDAL): the service reads the index's tables
    itself. Under .ci/run's hub-image virtualenv this also finds a missing package."""
    code = (
        "import sys, hub.archive.service, hub.archive.index_rows; "
        "assert 'datacube' not in sys.modules and 'rasterio' not in sys.modules, "
        "sorted(m for m in sys.modules if m.split('.')[0] in ('datacube', 'rasterio'))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
