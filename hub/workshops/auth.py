"""Login for pre-created workshop accounts, beside personal passwords set at first login,
the shared password or OpenID Connect.

A workshop account logs in with its own password and only until its workshop ends;
no other password opens it. After the end an old session cannot start a
server (`pre_spawn_start`); the workshops service stops the one that runs.

With OpenID Connect the provider's button stays the way in for the lab's people; the
login form (hub/templates/login.html) checks workshop accounts only. Account names are
`<workshop>-NN` and may look like a provider's user names, so the two never share a
name: accounts are only made under names no hub user has, and a provider login under
a name that is a workshop account is refused.
"""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path
from secrets import compare_digest
from typing import Any

from firstuseauthenticator import FirstUseAuthenticator
from jupyterhub.auth import Authenticator
from jupyterhub.authenticators.shared import SharedPasswordAuthenticator
from oauthenticator.generic import GenericOAuthenticator
from tornado import web
from traitlets import Unicode

from hub.db.urls import PlatformPostgres
from hub.db.wait import while_unreachable
from hub.workshops.model import ACCOUNT_NAME, utcnow, verify_password
from hub.workshops.store import Store, open_store

#: the key that marks an auth model as a workshop account's (checked in check_allowed)
ACCOUNT_KEY = "workshop_account"
#: what JupyterHub accepts from `authenticate`: a user name, an auth model, or None (refused)
AuthResult = str | dict[str, Any] | None


class WorkshopAccountsMixin(Authenticator):
    """Checks the workshops database first; other names go to the parent class."""

    workshops_data_dir = Unicode(
        config=True, help="The platform's data dir (the embedded PostgreSQL lives there)."
    )
    workshops_admin_url = Unicode(
        "", config=True, help="Admin URL of an external PostgreSQL; empty: the embedded one."
    )

    _store: Store | None = None

    def _workshop_store(self) -> Store:
        if self._store is None:
            server = PlatformPostgres(Path(self.workshops_data_dir), self.workshops_admin_url)
            self._store = open_store(server)
        return self._store

    async def _account(self, username: str) -> Any:
        # a restarting PostgreSQL is waited for a little, not a refused login or spawn
        return await while_unreachable(
            lambda: asyncio.to_thread(lambda: self._workshop_store().account(username)),
            f"workshop account lookup for {username}",
            self.log,
        )

    async def authenticate(self, handler: Any, data: dict[str, str]) -> AuthResult:
        username = self.normalize_username(data.get("username", ""))
        try:
            account = await self._account(username)
        except Exception:  # fail closed: without the database no name is safe to let in
            self.log.exception("workshop accounts unavailable; refusing login of %s", username)
            return None
        if account is None:
            return await super().authenticate(handler, data)
        return await self._account_model(username, account, data.get("password", ""))

    async def _account_model(
        self, username: str, account: Any, password: str
    ) -> dict[str, Any] | None:
        """The auth model of an open account whose password matches, else None."""
        password_hash, _starts, ends = account
        if utcnow() >= ends:
            self.log.warning("workshop account %s: its workshop ended at %s", username, ends)
            return None
        matches = await asyncio.to_thread(verify_password, password, password_hash)
        if not matches:
            return None
        # groups None: hub groups stay as the workshops service set them (manage_groups)
        return {"name": username, "admin": False, "groups": None, ACCOUNT_KEY: True}

    async def refresh_user(self, user: Any, handler: Any = None, **kwargs: Any) -> Any:
        """An account's session ends with its workshop; other users as the parent says."""
        try:
            account = await self._account(user.name)
        except Exception:
            self.log.exception("workshop accounts unavailable; not refreshing %s", user.name)
            account = None  # pre_spawn_start still refuses to start servers meanwhile
        if account is not None:
            return utcnow() < account[2]  # False: log in again (and be refused)
        return await super().refresh_user(user, handler, **kwargs)

    async def pre_spawn_start(self, user: Any, spawner: Any) -> None:
        """An ended account keeps no server: its old session cannot start one either."""
        try:
            account = await self._account(user.name)
        except Exception as exc:
            raise web.HTTPError(503, "workshop accounts are unavailable; try again") from exc
        if account is not None and utcnow() >= account[2]:
            raise web.HTTPError(
                403, f"the workshop of {user.name} ended at {account[2]:%Y-%m-%d %H:%M} UTC"
            )
        result = super().pre_spawn_start(user, spawner)
        if inspect.isawaitable(result):
            await result


#: bcrypt (5+) refuses longer passwords with an exception; say so instead
BCRYPT_MAX_BYTES = 72


class AdminPasswordFirstUseAuthenticator(FirstUseAuthenticator):
    """FirstUseAuthenticator where admin_users log in with the admin password.

    An admin's name never takes a first-use password: otherwise whoever reached a new
    hub first could claim it, and with it the hub.
    """

    admin_password = Unicode(
        "", config=True, help="The password of admin_users (empty: admins cannot log in)."
    )

    async def authenticate(self, handler: Any, data: dict[str, str]) -> AuthResult:
        username = self.normalize_username(data.get("username", ""))
        password = data.get("password", "")
        if username in self.admin_users:
            matches = bool(self.admin_password) and compare_digest(
                password.encode(), self.admin_password.encode()
            )
            return username if matches else None
        if len(password.encode()) > BCRYPT_MAX_BYTES:
            handler.custom_login_error = (
                f"Password too long: at most {BCRYPT_MAX_BYTES} bytes, please."
            )
            return None
        return await super().authenticate(handler, data)

    def reset_password(self, username: str, new_password: str) -> str:
        if username in self.admin_users:  # its first-use entry would never be read
            return "Admins log in with the admin password, which this page cannot change."
        if len(new_password.encode()) > BCRYPT_MAX_BYTES:
            return f"Password too long: at most {BCRYPT_MAX_BYTES} bytes, please."
        return super().reset_password(username, new_password)


class WorkshopFirstUseAuthenticator(WorkshopAccountsMixin, AdminPasswordFirstUseAuthenticator):
    """Personal passwords set at first login plus workshop accounts (the `sdl up` default)."""


class WorkshopPasswordAuthenticator(WorkshopAccountsMixin, SharedPasswordAuthenticator):
    """The shared-password login plus workshop accounts (the local workshop machine)."""


class WorkshopOAuthenticator(WorkshopAccountsMixin, GenericOAuthenticator):
    """OpenID Connect for the lab's people, the login form for workshop accounts only.

    The OAuth callback calls `authenticate` without form data; the login form posts a
    user name and password, checked against workshop accounts and nothing else.
    """

    async def authenticate(
        self, handler: Any, data: dict[str, str] | None = None, **kwargs: Any
    ) -> dict[str, Any] | None:
        if data is not None:
            return await self._form_login(data)
        model = await GenericOAuthenticator.authenticate(self, handler, data, **kwargs)
        if model is None:
            return None
        return await self._provider_login(model)

    async def _form_login(self, data: dict[str, str]) -> dict[str, Any] | None:
        """Workshop accounts only: a provider user's name never logs in by password."""
        username = self.normalize_username(data.get("username", ""))
        try:
            account = await self._account(username)
        except Exception:  # fail closed, as for the shared password
            self.log.exception("workshop accounts unavailable; refusing login of %s", username)
            return None
        if account is None:
            self.log.warning("login form: %s is not a workshop account; refused", username)
            return None
        return await self._account_model(username, account, data.get("password", ""))

    async def _provider_login(self, model: dict[str, Any]) -> dict[str, Any]:
        """Refuse a provider user under a workshop account's name; keep workshop groups."""
        username = self.normalize_username(model["name"])

        def lookup() -> tuple[Any, list[Any]]:
            store = self._workshop_store()
            return store.account(username), store.workshops_of(username)

        try:
            account, workshops = await asyncio.to_thread(lookup)
        except Exception as exc:
            if not ACCOUNT_NAME.match(username):  # can never be an account: let them in
                self.log.exception(
                    "workshop accounts unavailable; %s logs in without their workshop groups",
                    username,
                )
                return {**model, "groups": None}  # keep the hub's groups as they are
            # a name like an account's, and which accounts exist is unknown: refuse
            self.log.exception("workshop accounts unavailable; refusing login of %s", username)
            raise web.HTTPError(503, "workshop accounts are unavailable; try again") from exc
        if account is not None:
            self.log.warning("provider user %s has a workshop account's name; refused", username)
            raise web.HTTPError(
                403,
                f"{username} is the name of a workshop account on this hub, so the provider's "
                f"{username} cannot log in here; ask the lab's admins to end that workshop "
                "account or map your name differently",
            )
        if model.get("groups") is not None and workshops:
            # manage_groups syncs hub groups to the provider's at each login: the
            # workshops this user takes part in (added by name or joined) stay
            model["groups"] = sorted({*model["groups"], *(w.group for w in workshops)})
        return model

    async def check_allowed(self, username: str, auth_model: dict[str, Any] | None) -> bool:
        """A workshop account was let in by its own password and workshop, not by groups."""
        if auth_model is not None and auth_model.get(ACCOUNT_KEY):
            return True
        return await super().check_allowed(username, auth_model)
