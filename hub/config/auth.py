"""Login: a shared password for a one-machine workshop, OpenID Connect in production."""

from __future__ import annotations

import requests
from traitlets.config import Config

from hub.config.context import HubContext
from hub.errors import SettingsError
from hub.settings import OidcSettings


def apply_auth(ctx: HubContext, c: Config) -> None:
    auth = ctx.settings.auth
    c.Authenticator.admin_users = set(auth.admin_users)
    if auth.type == "shared-password":
        apply_shared_password(ctx, c)
    else:
        apply_oidc(ctx, c)


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
    missing = [k for k in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint")
               if k not in document]  # fmt: skip
    if missing:
        raise SettingsError(f"auth.oidc.issuer: {url} lacks {', '.join(missing)}")
    return document
