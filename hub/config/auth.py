"""Login: each user's own password by default, a shared password as an explicit workshop
mode, OpenID Connect in production; workshop accounts beside each of them."""

from __future__ import annotations

from pathlib import Path

import requests
from traitlets.config import Config

from hub.config.context import HubContext
from hub.config.merge import earlier
from hub.errors import SettingsError
from hub.settings import MIN_USER_PASSWORD, OidcSettings

#: login.html: the mode line on every login page, the workshop-account form beside OIDC
TEMPLATES = str(Path(__file__).resolve().parent.parent / "templates")
#: z2jh's hub state volume (the hub database lives there too)
KUBE_HUB_STATE = Path("/srv/jupyterhub")

#: what the login page says about the way in, by auth.type
LOGIN_MODES = {
    "first-use": "Personal passwords: the first time you log in under a user name, the "
    "password you type becomes that name's password; every later login needs it. "
    "Workshop accounts use the password they were given.",
    "shared-password": "Workshop mode (shared password): everyone logs in with the "
    "workshop's password under a name of their choice, so participants are not kept "
    "apart from one another. Workshop accounts use the password they were given.",
    "oidc": "Lab accounts sign in with the button; workshop accounts with the form below.",
}


def apply_auth(ctx: HubContext, c: Config) -> None:
    auth = ctx.settings.auth
    c.Authenticator.admin_users = set(auth.admin_users)
    steps = {
        "first-use": apply_first_use,
        "shared-password": apply_shared_password,
        "oidc": apply_oidc,
    }
    steps[auth.type](ctx, c)
    apply_login_page(ctx, c)


def apply_login_page(ctx: HubContext, c: Config) -> None:
    """Every login page names the mode that is on (hub/templates/login.html)."""
    c.JupyterHub.template_paths = [*earlier(c.JupyterHub, "template_paths", []), TEMPLATES]
    mode = ctx.settings.auth.type
    c.JupyterHub.template_vars = {
        **earlier(c.JupyterHub, "template_vars", {}),
        "sdl_login_mode": mode,
        "sdl_login_mode_text": LOGIN_MODES[mode],
    }


def apply_first_use(ctx: HubContext, c: Config) -> None:
    # FirstUseAuthenticator, plus workshop accounts and the admin password for admin_users
    c.JupyterHub.authenticator_class = "hub.workshops.auth.WorkshopFirstUseAuthenticator"
    state = ctx.data_dir / "hub" if ctx.runtime else KUBE_HUB_STATE
    # bcrypt hashes beside the hub's database: a folder only the platform can read
    c.FirstUseAuthenticator.dbm_path = str(state / "passwords.dbm")
    c.FirstUseAuthenticator.min_password_length = MIN_USER_PASSWORD
    if ctx.settings.auth.admin_users:
        c.WorkshopFirstUseAuthenticator.admin_password = ctx.secrets["admin_password"]


def apply_shared_password(ctx: HubContext, c: Config) -> None:
    # the shared-password authenticator, plus workshop accounts with passwords of their own
    c.JupyterHub.authenticator_class = "hub.workshops.auth.WorkshopPasswordAuthenticator"
    c.SharedPasswordAuthenticator.user_password = ctx.secrets["shared_password"]
    if ctx.settings.auth.admin_users:
        c.SharedPasswordAuthenticator.admin_password = ctx.secrets["admin_password"]
    # anyone with the workshop password may log in under any name
    c.SharedPasswordAuthenticator.allow_all = True


def apply_oidc(ctx: HubContext, c: Config) -> None:
    oidc = ctx.settings.auth.oidc
    endpoints = discover(oidc)
    # GenericOAuthenticator, plus the login form for pre-created workshop accounts
    c.JupyterHub.authenticator_class = "hub.workshops.auth.WorkshopOAuthenticator"
    c.GenericOAuthenticator.client_id = oidc.client_id
    c.GenericOAuthenticator.client_secret = ctx.secrets["oidc_client_secret"]
    c.GenericOAuthenticator.oauth_callback_url = callback_url(ctx)
    c.GenericOAuthenticator.authorize_url = endpoints["authorization_endpoint"]
    c.GenericOAuthenticator.token_url = endpoints["token_endpoint"]
    c.GenericOAuthenticator.userdata_url = endpoints["userinfo_endpoint"]
    c.GenericOAuthenticator.scope = list(oidc.scopes)
    c.GenericOAuthenticator.username_claim = oidc.username_claim
    c.GenericOAuthenticator.login_service = "your lab account"
    # the provider's groups claim becomes hub groups at every login
    c.GenericOAuthenticator.manage_groups = True
    c.GenericOAuthenticator.auth_state_groups_key = f"oauth_user.{oidc.groups_claim}"
    c.GenericOAuthenticator.admin_groups = set(oidc.admin_groups)
    c.GenericOAuthenticator.allowed_groups = set(oidc.allowed_groups)
    c.GenericOAuthenticator.allow_all = oidc.allow_all


def callback_url(ctx: HubContext) -> str:
    if ctx.settings.auth.oidc.callback_url:
        return ctx.settings.auth.oidc.callback_url
    if ctx.runtime is None:
        raise SettingsError("auth.oidc.callback_url: required on Kubernetes (the public URL)")
    return f"{ctx.runtime.public_url}/hub/oauth_callback"


def discover(oidc: OidcSettings) -> dict[str, str]:
    """The provider's endpoints from its discovery document (read once at hub start)."""
    if not (oidc.issuer and oidc.client_id):
        raise SettingsError("auth.oidc: issuer and client_id are required when auth.type is oidc")
    url = oidc.issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=10)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise SettingsError(
            f"auth.oidc.issuer: cannot read the discovery document at {url}: {exc}"
        ) from exc
    missing = [
        k
        for k in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint")
        if k not in document
    ]
    if missing:
        raise SettingsError(f"auth.oidc.issuer: {url} lacks {', '.join(missing)}")
    return document
