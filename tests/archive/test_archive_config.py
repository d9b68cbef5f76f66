"""apply_archive: the service registered for every user, next to the other services."""

from __future__ import annotations

import sys

import pytest
from traitlets.config import Config

from hub.config import STEPS
from hub.config.archive import ACCESS, apply_archive
from hub.config.context import HubContext
from hub.config.quotas import ACCESS_SCOPE as QUOTAS_ACCESS
from hub.config.quotas import apply_quotas
from hub.config.services import apply_services
from hub.config.workshops import ACCESS as WORKSHOPS_ACCESS
from hub.config.workshops import apply_workshops
from hub.runtime import Runtime
from hub.settings import settings_from_dict

RUNTIME = Runtime("127.0.0.1", 8000, 8001, 8081, config_file="/etc/sdl.yaml")


def test_every_user_may_open_it_and_the_other_services_keep_their_access() -> None:
    c = Config()
    ctx = HubContext(settings_from_dict({"data_dir": "/srv/sdl"}), RUNTIME)
    assert STEPS.index(apply_archive) > STEPS.index(apply_services)  # it appends to its lists
    for step in (apply_services, apply_quotas, apply_workshops, apply_archive):
        step(ctx, c)
    service = next(s for s in c.JupyterHub.services if s["name"] == "archive")
    assert service["command"] == [sys.executable, "-m", "hub.archive.service"]
    assert service["display"] and service["oauth_no_confirm"]
    assert service["url"].startswith("http://127.0.0.1:")
    assert service["environment"] == {"SDL_DATA_DIR": "/srv/sdl", "SDL_CONFIG": "/etc/sdl.yaml"}
    user = next(r for r in c.JupyterHub.load_roles if r["name"] == "user")
    assert {"self", ACCESS, QUOTAS_ACCESS, WORKSHOPS_ACCESS} <= set(user["scopes"])
    assert ACCESS == "access:services!service=archive"


def test_a_tile_server_is_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "https://tiles.example.org/{z}/{x}/{y}.png"
    monkeypatch.setenv("SDL_ARCHIVE_TILE_URL", url)
    c = Config()
    apply_archive(HubContext(settings_from_dict({"data_dir": "/srv/sdl"}), RUNTIME), c)
    assert c.JupyterHub.services[0]["environment"]["SDL_ARCHIVE_TILE_URL"] == url


def test_on_kubernetes_in_the_hub_pod(monkeypatch: pytest.MonkeyPatch) -> None:
    """In the hub pod, like the quota and workshops services (tests/kube has the chart's
    side: port, network policy, the Secret): every user may open it there too."""
    from hub.archive import INDEX_URL_ENV
    from hub.config.archive import KUBE_PORT

    monkeypatch.setenv(INDEX_URL_ENV, "postgresql+psycopg2://sdl_reader:pw@db:5432/datacube")
    settings = settings_from_dict({"mode": "kubernetes", "auth": {"shared_password": "pw-123456"}})
    c = Config()
    apply_archive(HubContext(settings, None, {}, "/etc/sdl/settings.yaml"), c)
    (service,) = c.JupyterHub.services
    assert service["url"] == f"http://hub:{KUBE_PORT}"
    assert service["environment"][INDEX_URL_ENV].startswith("postgresql+psycopg2://sdl_reader")
    assert service["environment"]["SDL_MODE"] == "kubernetes"
    user = next(r for r in c.JupyterHub.load_roles if r["name"] == "user")
    assert "access:services!service=archive" in user["scopes"]
