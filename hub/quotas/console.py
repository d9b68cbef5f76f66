"""The quota service's pages: each user's own quota, the admin console, the edit form."""

from __future__ import annotations

from tornado import web

from hub.errors import InvalidRequest
from hub.policy.quota import FIELDS, PolicyError, parse_assignments, updated
from hub.quotas import pages
from hub.quotas.context import QuotaHandler
from hub.service.handlers import PageHandler


class HtmlHandler(QuotaHandler, PageHandler):
    def page(self, title: str, body: str) -> str:
        return pages.page(title, body, self.ctx.hub_home, self.ctx.prefix)


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
            self.set_status(InvalidRequest.status)
            await self._show(kind, name, error=str(exc))
            return
        await self.db(self.ctx.store.set_policy, kind, name, policy, user["name"])
        self.redirect(f"{self.ctx.prefix}admin")


def page_routes(prefix: str, kind: str, name: str) -> list[tuple[str, type]]:
    return [
        (prefix, UserPage),
        (prefix + "admin", ConsolePage),
        (prefix + f"admin/{kind}/{name}", EditPage),
    ]
