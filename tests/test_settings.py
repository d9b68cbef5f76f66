"""The settings document: defaults, file, environment, and errors that name the place."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from traitlets.config import Config

from hub.config.auth import apply_auth
from hub.config.context import HubContext
from hub.config.hub import apply_hub
from hub.config.services import apply_services
from hub.config.spawner import apply_spawner
from hub.errors import SettingsError
from hub.runtime import Runtime
from hub.settings import load_settings, settings_from_dict

RUNTIME = Runtime(public_ip="127.0.0.1", public_port=18000, proxy_api_port=18001, hub_port=18081)
SECRETS = {
    "shared_password": "shared-pw",
    "admin_password": "a" * 40,
    "db_login_key": "k" * 32,
    "cookie_secret_file": "/tmp/cookie",
    "proxy_token": "proxy-token",
    "oidc_client_secret": "",
}


def context(**document: object) -> HubContext:
    return HubContext(settings_from_dict(dict(document)), RUNTIME, SECRETS)


def test_defaults_are_valid_and_local(tmp_path: Path) -> None:
    settings = load_settings(None, environ={})
    assert settings.mode == "local"
    assert settings.auth.type == "first-use"  # users kept apart without OIDC
    assert settings.profiles_dir.is_dir()
    assert settings.archive == settings.data_dir / "archive"


def test_file_merges_over_defaults(tmp_path: Path) -> None:
    config = tmp_path / "sdl.yaml"
    config.write_text("hub:\n  port: 9999\nauth:\n  admin_users: [ada]\n")
    settings = load_settings(config, environ={})
    assert settings.hub.port == 9999
    assert settings.hub.ip == "127.0.0.1"  # untouched default survives the merge
    assert settings.auth.admin_users == ["ada"]


def test_environment_overrides_file_secrets(tmp_path: Path) -> None:
    config = tmp_path / "sdl.yaml"
    config.write_text("auth:\n  shared_password: from-file\n  admin_users: [ada]\n")
    environ = {
        "SDL_SHARED_PASSWORD": "from-env",
        "SDL_ADMIN_USERS": "bo, cy",
        "SDL_ADMIN_PASSWORD": "x" * 32,
    }
    settings = load_settings(config, environ=environ)
    assert settings.auth.shared_password == "from-env"
    assert settings.auth.admin_users == ["bo", "cy"]
    assert settings.auth.admin_password == "x" * 32


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hub:\n  port: lots\n", "hub.port: Input should be a valid integer"),
        ("hub:\n  prot: 80\n", "hub.prot: unknown setting"),
        ("mode: cloud\n", "mode: Input should be 'local' or 'kubernetes'"),
        (
            "auth:\n  type: ldap\n",
            "auth.type: Input should be 'first-use', 'shared-password' or 'oidc'",
        ),
        ("- just\n- a list\n", "expected a mapping of settings"),
        ("hub: [unclosed\n", "not valid YAML"),
    ],
)
def test_errors_name_file_and_field(tmp_path: Path, text: str, expected: str) -> None:
    config = tmp_path / "broken.yaml"
    config.write_text(text)
    with pytest.raises(SettingsError) as raised:
        load_settings(config, environ={})
    assert str(config) in str(raised.value)
    assert expected in str(raised.value)


def test_apply_hub_sets_urls_state_and_groups() -> None:
    c = Config()
    apply_hub(context(data_dir="/srv/sdl", groups={"gpu-users": ["gina"]}), c)
    assert c.JupyterHub.bind_url == "http://127.0.0.1:18000/"
    assert c.JupyterHub.hub_bind_url == "http://127.0.0.1:18081"
    assert c.JupyterHub.db_url == "sqlite:////srv/sdl/hub/jupyterhub.sqlite"
    assert c.JupyterHub.load_groups == {"gpu-users": {"users": ["gina"]}}
    assert c.ConfigurableHTTPProxy.should_start is False
    assert c.ConfigurableHTTPProxy.api_url == "http://127.0.0.1:18001"
    assert c.JupyterHub.active_server_limit == 100  # what the database's slots are sized by


def test_apply_hub_without_runtime_says_it_needs_sdl_up() -> None:
    ctx = HubContext(settings_from_dict({"data_dir": "/srv/sdl"}), None, SECRETS)
    with pytest.raises(RuntimeError, match="apply_hub: needs the embedded platform's runtime"):
        apply_hub(ctx, Config())


def test_apply_auth_shared_password_admins_need_admin_password() -> None:
    c = Config()
    apply_auth(context(auth={"type": "shared-password", "admin_users": ["ada"]}), c)
    assert c.JupyterHub.authenticator_class.endswith("WorkshopPasswordAuthenticator")
    assert c.SharedPasswordAuthenticator.user_password == "shared-pw"
    assert c.SharedPasswordAuthenticator.admin_password == "a" * 40
    assert c.Authenticator.admin_users == {"ada"}


def test_apply_auth_without_admins_sets_no_admin_password() -> None:
    c = Config()
    apply_auth(context(auth={"type": "shared-password"}), c)
    assert "admin_password" not in c.SharedPasswordAuthenticator
    first_use = Config()
    apply_auth(context(), first_use)
    assert "admin_password" not in first_use.WorkshopFirstUseAuthenticator


def test_apply_auth_first_use_keeps_hashes_with_the_hub_state() -> None:
    c = Config()
    apply_auth(context(data_dir="/srv/sdl", auth={"admin_users": ["ada"]}), c)
    assert c.JupyterHub.authenticator_class.endswith("WorkshopFirstUseAuthenticator")
    assert c.FirstUseAuthenticator.dbm_path == "/srv/sdl/hub/passwords.dbm"
    assert c.FirstUseAuthenticator.min_password_length == 8
    assert c.WorkshopFirstUseAuthenticator.admin_password == "a" * 40
    assert "SharedPasswordAuthenticator" not in c  # no password opens every name


def test_kubernetes_keeps_the_shared_password_unless_told_otherwise() -> None:
    # the chart passes SDL_SHARED_PASSWORD from a Secret and sets no auth.type
    assert settings_from_dict({"mode": "kubernetes"}).auth.type == "shared-password"
    document = {"mode": "kubernetes", "auth": {"type": "first-use"}}
    assert settings_from_dict(document).auth.type == "first-use"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        (
            {"SDL_ADMIN_PASSWORD": "short-admin-pw"},
            "auth.admin_password: must be at least 32 characters, not 14",
        ),
        (
            {"SDL_SHARED_PASSWORD": "short"},
            "auth.shared_password: must be at least 8 characters, not 5",
        ),
        (
            {"SDL_SHARED_PASSWORD": "s" * 40, "SDL_ADMIN_PASSWORD": "s" * 40},
            "auth: shared_password and admin_password must differ",
        ),
    ],
)
def test_short_passwords_are_settings_errors(environ: dict[str, str], expected: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(None, environ=environ)
    assert expected in str(raised.value)
    for password in environ.values():  # the message never repeats a password
        assert password not in str(raised.value)


def test_oidc_needs_issuer_and_client() -> None:
    with pytest.raises(SettingsError, match=r"auth\.oidc: issuer and client_id are required"):
        apply_auth(context(auth={"type": "oidc"}), Config())


def test_oidc_unreachable_issuer_is_a_clear_error() -> None:
    document = {"type": "oidc", "oidc": {"issuer": "http://127.0.0.1:9", "client_id": "hub"}}
    with pytest.raises(SettingsError, match="cannot read the discovery document"):
        apply_auth(context(auth=document), Config())


def test_apply_spawner_local_wires_profiles_odc_and_workspace() -> None:
    c = Config()
    apply_spawner(context(data_dir="/srv/sdl", database={"user_connection_limit": 3}), c)
    assert c.JupyterHub.spawner_class == "hub.spawners.local.SdlLocalSpawner"
    assert c.SdlLocalSpawner.archive_dir == "/srv/sdl/archive"
    assert c.SdlLocalSpawner.odc_connection_limit == 3
    assert Path(c.Spawner.cmd[0]).name == "jupyterhub-singleuser"  # no wrapper process
    # the workspace bootstrap is a server extension, enabled through this config path
    enabled = Path(c.Spawner.environment["JUPYTER_CONFIG_PATH"]).glob(
        "jupyter_server_config.d/*.json"
    )
    extensions = [json.loads(f.read_text())["ServerApp"]["jpserver_extensions"] for f in enabled]
    assert extensions == [{"hub.workspace": True}]
    assert c.Spawner.environment["SDL_TEMPLATES_DIR"] == "/srv/sdl/templates"
    assert c.Spawner.default_url == "/lab"


def test_platform_reserve_is_a_size_and_reaches_the_local_spawner() -> None:
    assert settings_from_dict({}).quotas.platform_reserve == 2 * 2**30
    c = Config()
    apply_spawner(context(quotas={"platform_reserve": "5Gi"}), c)
    assert c.SdlLocalSpawner.platform_reserve == 5 * 2**30
    assert (
        settings_from_dict({"quotas": {"platform_reserve": 10**9}}).quotas.platform_reserve == 10**9
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("lots", "quotas.platform_reserve: 'lots' is not a size; use e.g. '32G'"),
        (-1, "quotas.platform_reserve: Input should be greater than or equal to 0"),
    ],
)
def test_platform_reserve_errors_name_the_field(value: object, expected: str) -> None:
    with pytest.raises(SettingsError, match=expected):
        settings_from_dict({"quotas": {"platform_reserve": value}})


def test_apply_services_culler_follows_settings() -> None:
    c = Config()
    apply_services(context(hub={"cull_idle_after": 600}), c)
    assert c.JupyterHub.services[0]["name"] == "idle-culler"
    assert "--timeout=600" in c.JupyterHub.services[0]["command"]
    off = Config()
    apply_services(context(hub={"cull_idle_after": 0}), off)
    assert off.JupyterHub.services == []


def test_configuration_reference_in_docs_is_current() -> None:
    from hub.paths import PACKAGE_DIR
    from hub.reference import configuration_reference

    documented = (PACKAGE_DIR.parent / "docs" / "configuration.md").read_text()
    fix = "run: sdl config reference > docs/configuration.md"
    assert documented == configuration_reference(), fix


def test_kubernetes_hub_needs_its_secrets_from_the_environment() -> None:
    from hub.config.context import kubernetes_secrets

    with pytest.raises(SettingsError, match=r"auth\.shared_password: required on Kubernetes"):
        kubernetes_secrets(settings_from_dict({"mode": "kubernetes"}))
    secrets = kubernetes_secrets(load_settings(None, environ={"SDL_SHARED_PASSWORD": "pw-12345"}))
    assert secrets["shared_password"] == "pw-12345"


def test_oidc_on_kubernetes_needs_an_explicit_callback_url() -> None:
    from hub.config.auth import callback_url

    ctx = HubContext(settings_from_dict({"auth": {"type": "oidc"}}), None, SECRETS)
    with pytest.raises(SettingsError, match="callback_url: required on Kubernetes"):
        callback_url(ctx)
    assert callback_url(context()) == "http://127.0.0.1:18000/hub/oauth_callback"
