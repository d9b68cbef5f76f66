"""`sdl quota`: read and change quota policies, explain a user's limits, show usage.

Talks to the quota database directly (the embedded PostgreSQL is started for the
command if `sdl up` does not run), so it works with the hub and the service down.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from hub.cli_options import platform_options
from hub.policy.quota import PolicyError, format_value, parse_assignments, updated
from hub.quotas.report import UserReport, build_reports
from hub.quotas.store import KINDS, QuotaStore
from hub.settings import Settings

KIND = click.Choice(KINDS)


@click.group()
def quota() -> None:
    """Quotas: per-group policies, per-user overrides, usage and budgets."""


def _store(settings: Settings) -> Any:
    from hub.quotas.db import store_for_command

    return store_for_command(settings)


def _members(settings: Settings, store: QuotaStore) -> dict[str, tuple[list[str], bool]]:
    """Users and their groups: as the hub last reported them, plus the settings' groups."""
    users: dict[str, tuple[list[str], bool]] = {
        u.name: (list(u.groups), u.admin) for u in store.known_users()
    }
    for group, names in settings.groups.items():
        for name in names:
            groups, admin = users.get(name, ([], name in settings.auth.admin_users))
            if group not in groups:
                users[name] = ([*groups, group], admin)
    return users


def _reports(settings: Settings, store: QuotaStore, only: str | None = None) -> list[UserReport]:
    members = _members(settings, store)
    if only is not None:
        members = {only: members.get(only, ([], only in settings.auth.admin_users))}
    q = settings.quotas
    users = [(name, groups, admin) for name, (groups, admin) in sorted(members.items())]
    return build_reports(store, users, q.defaults, q.budget_window_days, q.exempt_admins)


@quota.command("get")
@platform_options
@click.argument("kind", type=KIND, required=False)
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def quota_get(
    settings: Settings,
    config_file: Path | None,
    kind: str | None,
    name: str | None,
    as_json: bool,
) -> None:
    """Show policies: all, one kind (group/user), or one (KIND NAME)."""
    with _store(settings) as store:
        rows = store.policies(kind, [name] if name else None)
    if name and not rows:
        raise click.ClickException(f"no policy for {kind} {name!r} (it inherits everything)")
    if as_json:
        click.echo(
            json.dumps(
                [
                    {"kind": r.kind, "name": r.name, "policy": r.policy.to_json()}
                    for r in rows.values()
                ],
                indent=2,
            )
        )
        return
    click.echo(f"defaults: {_summary(settings.quotas.defaults.set_fields()) or 'unlimited'}")
    for row in rows.values():
        click.echo(f"{row.kind} {row.name}: {_summary(row.policy.set_fields()) or '(empty)'}")


@quota.command("set")
@platform_options
@click.argument("kind", type=KIND)
@click.argument("name")
@click.argument("assignments", nargs=-1, required=True)
@click.option("--replace", is_flag=True, help="Start from an empty policy, not the current one.")
def quota_set(
    settings: Settings,
    config_file: Path | None,
    kind: str,
    name: str,
    assignments: tuple[str, ...],
    replace: bool,
) -> None:
    """Set fields of a group's or user's policy: FIELD=VALUE ...

    VALUE `unlimited` lifts a limit; `inherit` removes the field so the level below
    applies. Examples: `sdl quota set group students max_cpu=4 max_memory=16Gi
    budget_cpu_hours=200`, `sdl quota set user sam max_cpu=8 expires=2026-12-31`.
    """
    try:
        values, unset = parse_assignments(assignments)
    except PolicyError as exc:
        raise click.BadParameter(str(exc), param_hint="ASSIGNMENTS") from None
    with _store(settings) as store:
        current = None if replace else store.policy(kind, name)
        try:
            policy = updated(current, values, unset)
        except PolicyError as exc:
            raise click.ClickException(str(exc)) from None
        store.set_policy(kind, name, policy, by="sdl quota set")
    click.echo(f"{kind} {name}: {_summary(policy.set_fields()) or '(empty)'}")


@quota.command("explain")
@platform_options
@click.argument("user")
@click.option("--group", "groups", multiple=True, help="Assume these groups (repeatable).")
def quota_explain(
    settings: Settings, config_file: Path | None, user: str, groups: tuple[str, ...]
) -> None:
    """Why USER has the limits they have, field by field, and what is left."""
    with _store(settings) as store:
        report = _reports(settings, store, user)[0]
        if groups:
            q = settings.quotas
            report = build_reports(
                store,
                [(user, list(groups), report.admin)],
                q.defaults,
                q.budget_window_days,
                q.exempt_admins,
            )[0]
    click.echo(
        f"{user}: groups {', '.join(report.groups) or '(none)'}"
        + (" (admin: exempt from quotas)" if report.exempt else "")
    )
    for line in report.policy.explain():
        click.echo(f"  {line}")
    click.echo(f"  usage: {_usage(report)}")


@quota.command("usage")
@platform_options
@click.option("--over-budget", is_flag=True, help="Only users over budget, storage or expired.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def quota_usage(
    settings: Settings, config_file: Path | None, over_budget: bool, as_json: bool
) -> None:
    """CPU-hours in the budget window, home sizes and problems, per user."""
    with _store(settings) as store:
        reports = _reports(settings, store)
    if over_budget:
        reports = [r for r in reports if r.problems() and not r.exempt]
    if as_json:
        click.echo(json.dumps({r.name: r.to_json()["usage"] for r in reports}, indent=2))
        return
    for report in reports:
        click.echo(f"{report.name:20} {_usage(report)}")


def _summary(fields: dict[str, Any]) -> str:
    return ", ".join(f"{k}={format_value(k, v)}" for k, v in fields.items())


def _usage(report: UserReport) -> str:
    budget = "no budget" if report.budget is None else f"of {report.budget:g}"
    home = (
        "home not measured"
        if report.home_bytes is None
        else f"home {report.home_bytes / 2**30:.2f} GiB"
    )
    problems = f" — {', '.join(report.problems())}" if report.problems() else ""
    return (
        f"{report.cpu_hours:.1f} CPU-hours in {report.window_days} days ({budget}), "
        f"{home}{problems}"
    )
