"""Login for pre-created workshop accounts, beside the shared password.

A workshop account logs in with its own password and only until its workshop ends;
the shared password never opens it. After the end an old session cannot start a
server (`pre_spawn_start`); the workshops service stops the one that runs.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

from jupyterhub.auth import Authenticator
from jupyterhub.authenticators.shared import SharedPasswordAuthenticator
from tornado import web
from traitlets import Unicode

from hub.workshops.model import utcnow, verify_password
from hub.workshops.store import DATABASE, Store


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
            from hub.data.db import ensure_database, psycopg2_url

            if self.workshops_admin_url:
                ensure_database(self.workshops_admin_url, DATABASE)
                url = psycopg2_url(self.workshops_admin_url, DATABASE)
            else:
                from pathlib import Path

                from hub.db.embedded import EmbeddedPostgres

                pg = EmbeddedPostgres(Path(self.workshops_data_dir))
                ensure_database(pg.superuser_url("postgres"), DATABASE)
                url = pg.superuser_url(DATABASE)
            store = Store(url)
            store.create_tables()
            self._store = store
        return self._store

    async def _account(self, username: str) -> Any:
        return await asyncio.to_thread(lambda: self._workshop_store().account(username))

    async def authenticate(self, handler: Any, data: dict[str, str]) -> dict[str, Any] | None:
        username = self.normalize_username(data.get("username", ""))
        try:
            account = await self._account(username)
        except Exception:  # fail closed: without the database no name is safe to let in
            self.log.exception("workshop accounts unavailable; refusing login of %s", username)
            return None
        if account is None:
            return await super().authenticate(handler, data)
        password_hash, _starts, ends = account
        if utcnow() >= ends:
            self.log.warning("workshop account %s: its workshop ended at %s", username, ends)
            return None
        matches = await asyncio.to_thread(verify_password, data.get("password", ""), password_hash)
        return {"name": username, "admin": False} if matches else None

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


class WorkshopPasswordAuthenticator(WorkshopAccountsMixin, SharedPasswordAuthenticator):
    """The shared-password login plus workshop accounts (the local workshop machine)."""
