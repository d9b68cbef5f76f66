"""The quota service's REST API under /services/quotas/api/ (JSON; hub tokens or cookie).

GET    api/me                         your quota and usage
GET    api/users, api/users/<name>    everyone's (read scope), or one user's
GET    api/usage                      CPU-hours per user in the budget window
GET    api/policies[/<kind>/<name>]   policies as set (read scope; your own override)
PUT    api/policies/<kind>/<name>     set one (write scope)
DELETE api/policies/<kind>/<name>
"""

from __future__ import annotations

from typing import Any

from hub.errors import InvalidRequest, NotFound
from hub.policy.quota import PolicyError, parse_policy
from hub.quotas.context import QuotaHandler
from hub.service.handlers import JsonHandler


class ApiHandler(QuotaHandler, JsonHandler):
    BODY_NOT_JSON = "the body must be JSON"
    BODY_NOT_OBJECT = "the body must be a JSON object of policy fields"


class MeApi(ApiHandler):
    async def get(self) -> None:
        user = self.who()
        report = await self.db(self.ctx.report, user["name"], user)
        self.reply(report.to_json())


class UsersApi(ApiHandler):
    async def get(self, name: str | None = None) -> None:
        user = self.who()
        self.require_read(user, name)
        if name is None:
            reports = await self.db(self.ctx.reports)
            self.reply({"users": [r.to_json() for r in reports]})
            return
        report = await self.db(self.ctx.report, name, user if user["name"] == name else None)
        self.reply(report.to_json())


class UsageApi(ApiHandler):
    async def get(self) -> None:
        user = self.who()
        self.require_read(user)
        reports = await self.db(self.ctx.reports)
        self.reply(
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
            row = rows.get((kind or "", name))
            if row is None:
                raise NotFound(f"no policy for {kind} {name!r}")
            self.reply(self._row(row))
            return
        self.reply({"policies": [self._row(row) for row in rows.values()]})

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
            raise InvalidRequest(str(exc)) from None
        await self.db(self.ctx.store.set_policy, kind, name, policy, user["name"])
        self.reply({"kind": kind, "name": name, "policy": policy.to_json()})

    async def delete(self, kind: str, name: str) -> None:
        self.require_write(self.who())
        if not await self.db(self.ctx.store.delete_policy, kind, name):
            raise NotFound(f"no policy for {kind} {name!r}")
        self.set_status(204)
        self.finish()


def api_routes(prefix: str, kind: str, name: str) -> list[tuple[str, type]]:
    return [
        (prefix + "api/me", MeApi),
        (prefix + "api/users", UsersApi),
        (prefix + f"api/users/{name}", UsersApi),
        (prefix + "api/usage", UsageApi),
        (prefix + "api/policies", PoliciesApi),
        (prefix + f"api/policies/{kind}/{name}", PoliciesApi),
    ]
