"""Hub authentication for the gateway, also for browsers opening a dashboard link."""

from __future__ import annotations

import os
import secrets
from urllib.parse import urlencode

from aiohttp import web
from dask_gateway_server.auth import JupyterHubAuthenticator, unauthorized
from dask_gateway_server.models import User

STATE_COOKIE = "sdl-dask-gateway-oauth-state"


class SdlHubAuthenticator(JupyterHubAuthenticator):
    """JupyterHub tokens in any usual header, or `?token=` on a dashboard link.

    The dask client sends `Authorization: jupyterhub <token>`; a browser opening a
    dashboard can only carry the token in the URL. Either way the hub checks the token
    and its `access:services!service=dask-gateway` scope, and the gateway then sets its
    own short-lived cookie so the dashboard's later requests need no token. An unknown
    token is a 401 here (upstream reports the hub's 403 as its own server error).

    A browser with neither (a click on `cluster.dashboard_link` in JupyterLab) is sent
    through the hub's OAuth login, as for any hub service: the user is already logged
    in to the hub, so it is two redirects and no page.
    """

    _pending_logins: dict[str, str]

    async def setup(self, app: web.Application) -> None:
        await super().setup(app)
        self._pending_logins = {}
        app.router.add_get("/oauth_callback", self._oauth_callback)

    def get_token(self, request: web.Request) -> str | None:
        kind, _, value = request.headers.get("Authorization", "").partition(" ")
        if kind.lower() in ("jupyterhub", "token", "bearer") and value:
            return value.strip()
        if request.method == "GET" and request.path.startswith("/clusters/"):
            return request.query.get("token") or None
        return None

    async def authenticate(self, request: web.Request) -> User:
        token = self.get_token(request)
        if token is None:
            if _is_browser_page(request) and os.environ.get("JUPYTERHUB_CLIENT_ID"):
                raise self._login_redirect(request)
            raise unauthorized("jupyterhub")
        return await self.user_for_token(token)

    async def user_for_token(self, token: str) -> User:
        async with self.session.get(
            f"{self.jupyterhub_api_url}/user",
            headers={"Authorization": f"token {token}"},
            ssl=self.ssl_context,
        ) as response:
            if response.status in (401, 403, 404):  # the hub does not know this token
                raise unauthorized("jupyterhub")
            if response.status >= 400:
                self.log.error("hub answered %s when checking a token", response.status)
                raise web.HTTPBadGateway(reason="The hub could not check your token")
            model = await response.json()
        name = model["name"]
        if model.get("kind") != "user" or ":" in name:
            name = f"{model.get('kind')}:{name}"  # services never pass for users
        scopes = set(model.get("scopes", []))
        wanted = {"access:services", f"access:services!service={self.jupyterhub_service_name}"}
        if self.use_service_access_scopes and not scopes & wanted:
            self.log.info("token of %s lacks access to %s", name, self.jupyterhub_service_name)
            raise unauthorized("jupyterhub")
        return User(name, groups=model.get("groups", []), admin=model.get("admin", False))

    # -- browsers: the hub's OAuth code flow -----------------------------------------
    def _login_redirect(self, request: web.Request) -> web.HTTPFound:
        state = secrets.token_urlsafe(16)
        prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/").rstrip("/")
        self._pending_logins[state] = prefix + str(request.rel_url)
        query = urlencode(
            {
                "client_id": os.environ["JUPYTERHUB_CLIENT_ID"],
                "redirect_uri": os.environ["JUPYTERHUB_OAUTH_CALLBACK_URL"],
                "response_type": "code",
                "state": state,
            }
        )
        hub = os.environ.get("JUPYTERHUB_BASE_URL", "/").rstrip("/")
        redirect = web.HTTPFound(f"{hub}/hub/api/oauth2/authorize?{query}")
        # binds the login to this browser (no login CSRF)
        redirect.set_cookie(STATE_COOKIE, state, path=prefix or "/", httponly=True, max_age=600)
        return redirect

    async def _oauth_callback(self, request: web.Request) -> web.StreamResponse:
        state = request.query.get("state", "")
        if not state or request.cookies.get(STATE_COOKIE) != state:
            raise web.HTTPForbidden(reason="OAuth state does not match; open the link again")
        next_url = self._pending_logins.pop(state, None)
        if next_url is None:
            raise web.HTTPForbidden(reason="Unknown or expired login; open the link again")
        form = {
            "client_id": os.environ["JUPYTERHUB_CLIENT_ID"],
            "client_secret": self.jupyterhub_api_token,
            "grant_type": "authorization_code",
            "code": request.query.get("code", ""),
            "redirect_uri": os.environ["JUPYTERHUB_OAUTH_CALLBACK_URL"],
        }
        async with self.session.post(
            f"{self.jupyterhub_api_url}/oauth2/token", data=form, ssl=self.ssl_context
        ) as response:
            if response.status >= 400:
                raise web.HTTPForbidden(reason="The hub refused the login")
            token = (await response.json())["access_token"]
        user = await self.user_for_token(token)
        done = web.HTTPFound(next_url)
        done.set_cookie(
            self.cookie_name, self.cache.put(user), max_age=self.cache_max_age * 2, httponly=True
        )
        done.del_cookie(STATE_COOKIE, path=next_url.split("/clusters/")[0] or "/")
        raise done


def _is_browser_page(request: web.Request) -> bool:
    return (
        request.method == "GET"
        and request.path.startswith("/clusters/")
        and "text/html" in request.headers.get("Accept", "")
    )
