"""The quota service: REST API, admin console and user view, behind the hub's auth.

Runs as a managed JupyterHub service (`python -m hub.quotas`) at /services/quotas/.
Who may do what:

- any user with `access:services!service=quotas`: their own quota and usage;
- hub admins, and tokens/users holding `custom:quotas:read`: everyone's;
- hub admins, and holders of `custom:quotas:write`: change policies.

Cookie (browser) requests that change anything need the form's XSRF token; token
requests (Authorization header) do not.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
from tornado import web

from hub.policy.quota import (
    FIELDS,
    PolicyError,
    parse_assignments,
    parse_policy,
    updated,
)
from hub.policy.spawn import ProfileCatalog
from hub.quotas import pages
from hub.quotas.accounting import HubUsers
from hub.quotas.report import UserReport, build_reports
from hub.quotas.store import KINDS, QuotaStore
from hub.settings import Settings

READ_SCOPE = "custom:quotas:read"
WRITE_SCOPE = "custom:quotas:write"


@dataclass
class ServiceContext:
    settings: Settings
    store: QuotaStore
    catalog: ProfileCatalog
    hub: HubUsers
    prefix: str  # /services/quotas/
    hub_home: str  # /hub/home

    def users(self) -> list[tuple[str, list[str], bool]]:
        """Users the hub reported last, plus any the database remembers."""
        found = {name: (name, groups, admin) for name, groups, admin in self.hub.triples()}
        for known in self.store.known_users():
            found.setdefault(known.name, (known.name, list(known.groups), known.admin))
        return [found[name] for name in sorted(found)]

    def reports(self, names: list[str] | None = None) -> list[UserReport]:
        users = self.users()
        if names is not None:
            users = [u for u in users if u[0] in names]
        q = self.settings.quotas
        return build_reports(
            self.store, users, q.defaults, q.budget_window_days, q.exempt_admins, self.hub.running()
        )

    def report(self, name: str, fallback: dict[str, Any] | None = None) -> UserReport:
        found = self.reports([name])
        if found:
            return found[0]
        model = fallback or {"groups": [], "admin": False}
        user = (name, model.get("groups", []), bool(model.get("admin")))
        q = self.settings.quotas
        return build_reports(self.store, [user], q.defaults, q.budget_window_days, q.exempt_admins)[
            0
        ]

    def groups(self) -> dict[str, tuple[Any, int]]:
        members: dict[str, int] = dict.fromkeys(self.settings.groups, 0)
        for _, groups, _ in self.users():
            for group in groups:
                members[group] = members.get(group, 0) + 1
        rows = self.store.policies("group")
        for _, name in rows:
            members.setdefault(name, 0)
        return {
            g: (rows[("group", g)].policy if ("group", g) in rows else None, n)
            for g, n in members.items()
        }


def _has_scope(model: dict[str, Any], scope: str) -> bool:
    return scope in (model.get("scopes") or [])


class BaseHandler(HubOAuthenticated, web.RequestHandler):
    @property
    def ctx(self) -> ServiceContext:
        return self.settings["ctx"]

    async def db(self, fn: Any, *args: Any) -> Any:
        try:
            return await asyncio.to_thread(fn, *args)
        except sa.exc.SQLAlchemyError as exc:
            raise web.HTTPError(
                503, f"quota database unavailable: {exc.__class__.__name__}"
            ) from None

    def who(self) -> dict[str, Any]:
        user = self.current_user
        if not user:
            raise web.HTTPError(
                403,
                "not authorised: log in to the hub, or use a token with "
                "access:services!service=quotas",
            )
        return user

    def can_read_all(self, user: dict[str, Any]) -> bool:
        return bool(user.get("admin")) or _has_scope(user, READ_SCOPE) or self.can_write(user)

    def can_write(self, user: dict[str, Any]) -> bool:
        return bool(user.get("admin")) or _has_scope(user, WRITE_SCOPE)

    def require_read(self, user: dict[str, Any], name: str | None = None) -> None:
        if name is not None and user.get("kind", "user") == "user" and user["name"] == name:
            return
        if not self.can_read_all(user):
            what = f"the quota of {name!r}" if name else "everyone's quotas"
            raise web.HTTPError(403, f"you may not read {what}: it needs {READ_SCOPE} or admin")

    def require_write(self, user: dict[str, Any]) -> None:
        if not self.can_write(user):
            raise web.HTTPError(403, f"you may not change quotas: it needs {WRITE_SCOPE} or admin")


class ApiHandler(BaseHandler):
    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = getattr(exc, "log_message", None) or self._reason
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"status": status_code, "message": message}))

    def send(self, document: Any) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(document, default=str))

    def body(self) -> dict[str, Any]:
        try:
            document = json.loads(self.request.body or b"{}")
        except ValueError:
            raise web.HTTPError(400, "the body must be JSON") from None
        if not isinstance(document, dict):
            raise web.HTTPError(400, "the body must be a JSON object of policy fields")
        return document


class MeApi(ApiHandler):
    async def get(self) -> None:
        user = self.who()
        report = await self.db(self.ctx.report, user["name"], user)
        self.send(report.to_json())


class UsersApi(ApiHandler):
    async def get(self, name: str | None = None) -> None:
        user = self.who()
        self.require_read(user, name)
        if name is None:
            reports = await self.db(self.ctx.reports)
            self.send({"users": [r.to_json() for r in reports]})
            return
        report = await self.db(self.ctx.report, name, user if user["name"] == name else None)
        self.send(report.to_json())


class UsageApi(ApiHandler):
    async def get(self) -> None:
        user = self.who()
        self.require_read(user)
        reports = await self.db(self.ctx.reports)
        self.send(
            {
                "window_days": self.ctx.settings.quotas.budget_window_days,
                "users": {r.name: r.to_json()["usage"] for r in reports},
                "over_budget": sorted(r.name for r in reports if r.over_budget and not r.exempt),
            }
        )


class PoliciesApi(ApiHandler):
    async def get(self, kind: str | None = None, name: str | None = None) -> None:
        user = self.who()
        if kind == "user" and name == user["name"]:
            pass  # users may read their own override
        else:
            self.require_read(user)
        rows = await self.db(self.ctx.store.policies, kind, [name] if name else None)
        if name is not None:
            row = rows.get((kind, name))
            if row is None:
                raise web.HTTPError(404, f"no policy for {kind} {name!r}")
            self.send(self._row(row))
            return
        self.send({"policies": [self._row(row) for row in rows.values()]})

    @staticmethod
    def _row(row: Any) -> dict[str, Any]:
        return {
            "kind": row.kind,
            "name": row.name,
            "policy": row.policy.to_json(),
            "updated_at": row.updated_at.isoformat(),
            "updated_by": row.updated_by,
        }

    async def put(self, kind: str, name: str) -> None:
        user = self.who()
        self.require_write(user)
        try:
            policy = parse_policy(self.body(), f"{kind} {name}")
        except PolicyError as exc:
            raise web.HTTPError(400, str(exc)) from None
        await self.db(self.ctx.store.set_policy, kind, name, policy, user["name"])
        self.set_status(200)
        self.send({"kind": kind, "name": name, "policy": policy.to_json()})

    async def delete(self, kind: str, name: str) -> None:
        self.require_write(self.who())
        if not await self.db(self.ctx.store.delete_policy, kind, name):
            raise web.HTTPError(404, f"no policy for {kind} {name!r}")
        self.set_status(204)
        self.finish()


class HtmlHandler(BaseHandler):
    def render_page(self, title: str, body: str) -> None:
        self.finish(pages.page(title, body, self.ctx.hub_home, self.ctx.prefix))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = getattr(exc, "log_message", None) or self._reason
        self.render_page(f"Error {status_code}", f"<p class='bad'>{pages._e(message)}</p>")


class UserPage(HtmlHandler):
    @web.authenticated
    async def get(self) -> None:
        user = self.who()
        report = await self.db(self.ctx.report, user["name"], user)
        self.render_page(f"Quota of {user['name']}", pages.user_view(report))


class ConsolePage(HtmlHandler):
    @web.authenticated
    async def get(self) -> None:
        user = self.who()
        self.require_read(user)
        reports = await self.db(self.ctx.reports)
        groups = await self.db(self.ctx.groups)
        body = pages.console(
            reports,
            groups,
            self.ctx.settings.quotas.defaults,
            self.ctx.prefix,
            self.can_write(user),
        )
        self.render_page("Quotas — admin console", body)


class EditPage(HtmlHandler):
    @web.authenticated
    async def get(self, kind: str, name: str) -> None:
        await self._show(kind, name)

    async def _show(self, kind: str, name: str, error: str = "") -> None:
        """The form; `post` shows it again with the error (already authenticated)."""
        user = self.who()
        self.require_read(user)
        policy = await self.db(self.ctx.store.policy, kind, name)
        explanation: list[str] = []
        if kind == "user":
            report = await self.db(self.ctx.report, name)
            explanation = report.policy.explain()
        body = pages.edit_form(
            kind,
            name,
            policy,
            explanation,
            self.xsrf_form_html(),
            self.request.path,
            self.can_write(user),
            error,
        )
        self.render_page(f"Quota policy: {kind} {name}", body)

    @web.authenticated
    async def post(self, kind: str, name: str) -> None:
        user = self.who()
        self.require_write(user)
        if self.get_body_argument("action", "save") == "delete":
            await self.db(self.ctx.store.delete_policy, kind, name)
            self.redirect(f"{self.ctx.prefix}admin")
            return
        pairs = [f"{f}={self.get_body_argument(f, '')}" for f in FIELDS]
        try:
            values, _ = parse_assignments(pairs)
            policy = updated(None, values, [])
        except PolicyError as exc:
            self.set_status(400)
            await self._show(kind, name, error=str(exc))
            return
        await self.db(self.ctx.store.set_policy, kind, name, policy, user["name"])
        self.redirect(f"{self.ctx.prefix}admin")


class HealthHandler(web.RequestHandler):
    def get(self) -> None:
        self.finish({"ok": True})


def make_app(ctx: ServiceContext, cookie_secret: bytes) -> web.Application:
    p = ctx.prefix
    kind = "(" + "|".join(KINDS) + ")"
    name = r"([^/]+)"
    return web.Application(
        [
            (p, UserPage),
            (p + "admin", ConsolePage),
            (p + f"admin/{kind}/{name}", EditPage),
            (p + "oauth_callback", HubOAuthCallbackHandler),
            (p + "health", HealthHandler),
            (p + "api/me", MeApi),
            (p + "api/users", UsersApi),
            (p + f"api/users/{name}", UsersApi),
            (p + "api/usage", UsageApi),
            (p + "api/policies", PoliciesApi),
            (p + f"api/policies/{kind}/{name}", PoliciesApi),
        ],
        ctx=ctx,
        cookie_secret=cookie_secret,
        xsrf_cookie_name="_sdl_quotas_xsrf",  # never collide with the hub's _xsrf cookie
        xsrf_cookie_kwargs={"path": p},
    )
