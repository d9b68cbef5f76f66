"""What the quota service's handlers share: its context and who may read or change what.

- any user with `access:services!service=quotas`: their own quota and usage;
- hub admins, and tokens/users holding `custom:quotas:read`: everyone's;
- hub admins, and holders of `custom:quotas:write`: change policies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub.errors import Forbidden
from hub.policy.spawn import ProfileCatalog
from hub.quotas.accounting import HubUsers
from hub.quotas.report import UserReport, build_reports
from hub.quotas.store import QuotaStore
from hub.service.handlers import ServiceHandler
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


class QuotaHandler(ServiceHandler):
    """The quota service's checks, shared by its API and its pages."""

    UNAVAILABLE = "quota database unavailable"

    @property
    def ctx(self) -> ServiceContext:
        return self.settings["ctx"]

    def who(self) -> dict[str, Any]:
        user = self.current_user
        if not user:
            raise Forbidden(
                "not authorised: log in to the hub, or use a token with "
                "access:services!service=quotas"
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
            raise Forbidden(f"you may not read {what}: it needs {READ_SCOPE} or admin")

    def require_write(self, user: dict[str, Any]) -> None:
        if not self.can_write(user):
            raise Forbidden(f"you may not change quotas: it needs {WRITE_SCOPE} or admin")
