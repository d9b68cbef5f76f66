"""A user's quota report: effective limits plus what they used and what is left.

Shared by the service's JSON API, its HTML pages and the CLI, so all three say the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from hub.policy.quota import FIELDS, EffectivePolicy, Policy, effective_policy, format_value
from hub.quotas.store import QuotaStore


@dataclass(frozen=True)
class UserReport:
    name: str
    groups: tuple[str, ...]
    admin: bool
    exempt: bool
    policy: EffectivePolicy
    cpu_hours: float
    window_days: int
    home_bytes: int | None
    running_servers: int

    @property
    def budget(self) -> float | None:
        return self.policy.value("budget_cpu_hours")

    @property
    def cpu_hours_left(self) -> float | None:
        return None if self.budget is None else max(0.0, self.budget - self.cpu_hours)

    @property
    def over_budget(self) -> bool:
        return self.budget is not None and self.cpu_hours >= self.budget

    @property
    def over_storage(self) -> bool:
        quota = self.policy.value("home_storage")
        return quota is not None and self.home_bytes is not None and self.home_bytes > quota

    @property
    def expired(self) -> bool:
        expires = self.policy.value("expires")
        return expires is not None and date.today() > expires

    def problems(self) -> list[str]:
        found = []
        if self.over_budget:
            found.append("over budget")
        if self.over_storage:
            found.append("home over quota (clean-up mode)")
        if self.expired:
            found.append("access expired")
        return found

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "groups": list(self.groups),
            "admin": self.admin,
            "exempt": self.exempt,
            "policy": self.policy.to_json(),
            "usage": {
                "cpu_hours": round(self.cpu_hours, 3),
                "window_days": self.window_days,
                "budget_cpu_hours": self.budget,
                "cpu_hours_left": (
                    None if self.cpu_hours_left is None else round(self.cpu_hours_left, 3)
                ),
                "over_budget": self.over_budget,
                "home_bytes": self.home_bytes,
                "home_storage": self.policy.value("home_storage"),
                "over_storage": self.over_storage,
                "expired": self.expired,
                "running_servers": self.running_servers,
            },
        }

    def summary_rows(self) -> list[tuple[str, str, str]]:
        """(limit, value, where it comes from) for the pages and the CLI."""
        return [
            (name, format_value(name, self.policy.value(name)), self.policy[name].source)
            for name in FIELDS
        ]


def build_reports(
    store: QuotaStore,
    users: Sequence[tuple[str, Sequence[str], bool]],
    defaults: Policy,
    window_days: int,
    exempt_admins: bool,
    running: Mapping[str, int] | None = None,
) -> list[UserReport]:
    """Reports for many users with three queries, not three per user."""
    rows = store.policies()
    groups = {name: row.policy for (kind, name), row in rows.items() if kind == "group"}
    own = {name: row.policy for (kind, name), row in rows.items() if kind == "user"}
    used = store.cpu_hours_by_user(timedelta(days=window_days))
    homes = store.home_usages()
    reports = []
    for name, member_of, admin in users:
        policy = effective_policy(name, member_of, groups, own.get(name), defaults)
        reports.append(
            UserReport(
                name=name,
                groups=tuple(sorted(member_of)),
                admin=admin,
                exempt=admin and exempt_admins,
                policy=policy,
                cpu_hours=used.get(name, 0.0),
                window_days=window_days,
                home_bytes=homes.get(name, (None, None))[0],
                running_servers=(running or {}).get(name, 0),
            )
        )
    return reports
