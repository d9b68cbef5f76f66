"""apply_quotas on a fresh Config: service, roles, scopes and checker settings."""

from __future__ import annotations

from pathlib import Path

from traitlets.config import Config

from hub.config.context import HubContext
from hub.config.quotas import ACCESS_SCOPE, READ_SCOPE, WRITE_SCOPE, apply_quotas
from hub.config.services import apply_services
from hub.runtime import Runtime
from hub.settings import settings_from_dict

RUNTIME = Runtime("127.0.0.1", 8000, 8001, 8081, config_file="/etc/sdl.yaml")


def context(**document) -> HubContext:
    return HubContext(settings_from_dict({"data_dir": "/srv/sdl", **document}), RUNTIME)


def test_service_roles_and_scopes_are_appended_to_new_lists() -> None:
    c = Config()
    ctx = context(quotas={"defaults": {"max_cpu": 4}, "port": 10555})
    apply_services(ctx, c)
    services_before, roles_before = c.JupyterHub.services, c.JupyterHub.load_roles
    snapshot = (list(services_before), list(roles_before))
    apply_quotas(ctx, c)
    assert (services_before, roles_before) == snapshot  # earlier lists untouched
    assert c.JupyterHub.services[:-1] == services_before
    service = c.JupyterHub.services[-1]
    assert service["name"] == "quotas" and service["url"] == "http://127.0.0.1:10555"
    assert service["command"][1:] == ["-m", "hub.quotas"]
    assert service["environment"] == {"SDL_DATA_DIR": "/srv/sdl", "SDL_CONFIG": "/etc/sdl.yaml"}
    assert service["display"] and service["oauth_no_confirm"]
    roles = {role["name"]: role for role in c.JupyterHub.load_roles}
    assert {"idle-culler", "quotas-service", "quota-admins", "user"} <= set(roles)
    assert {"list:users", "read:servers"} <= set(roles["quotas-service"]["scopes"])
    assert roles["quota-admins"]["groups"] == ["quota-admins"]
    assert roles["user"]["scopes"] == ["self", ACCESS_SCOPE]
    assert set(c.JupyterHub.custom_scopes) == {READ_SCOPE, WRITE_SCOPE}
    assert c.QuotaChecker.enabled and c.QuotaChecker.defaults == {"max_cpu": 4.0}
    assert c.QuotaChecker.data_dir == "/srv/sdl" and c.QuotaChecker.database == "sdl"
    assert c.JupyterHub.template_vars["sdl_quotas_console_url"] == "/services/quotas/admin"


def test_an_existing_user_role_is_extended_not_replaced() -> None:
    c = Config()
    c.JupyterHub.load_roles = [{"name": "user", "scopes": ["self", "access:services!service=x"]}]
    c.JupyterHub.template_vars = {"sdl_version": "1"}
    apply_quotas(context(), c)
    user = next(r for r in c.JupyterHub.load_roles if r["name"] == "user")
    assert user["scopes"] == ["self", "access:services!service=x", ACCESS_SCOPE]
    assert c.JupyterHub.template_vars["sdl_version"] == "1"
    assert c.QuotaChecker.measure_homes


def test_kubernetes_uses_a_fixed_port_and_no_du() -> None:
    c = Config()
    apply_quotas(context(mode="kubernetes"), c)
    assert c.JupyterHub.services[-1]["url"] == "http://hub:10101"  # from the proxy pod
    assert not c.QuotaChecker.measure_homes


def test_disabled_registers_nothing() -> None:
    c = Config()
    apply_quotas(context(quotas={"enabled": False}), c)
    assert "services" not in c.JupyterHub and c.QuotaChecker.enabled is False


def test_hub_config_file_applies_quotas() -> None:
    source = Path("hub/config/__init__.py").read_text()
    assert "apply_quotas" in source
