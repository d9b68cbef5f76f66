"""Server-rendered HTML of the quota service: the admin console and the user view.

Plain HTML with escaped values; no JavaScript. Every form carries the XSRF field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date

from hub.policy.quota import FIELDS, SIZE_FIELDS, Policy, describe_source, format_value
from hub.profiles import format_size
from hub.quotas.report import UserReport
from hub.service.html import e, page_shell

STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;max-width:72rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;
padding:.3rem .6rem;text-align:left;vertical-align:top}th{background:#f3f3f3}
.bad{color:#a00;font-weight:bold}.note{color:#555}input[type=text]{width:18rem}
nav a{margin-right:1rem}
"""
KEY_FIELDS = ("allowed_profiles", "max_cpu", "max_memory", "max_gpus", "max_servers")


def page(title: str, body: str, hub_url: str, prefix: str) -> str:
    nav = [(hub_url, "Hub home"), (prefix, "My quota"), (f"{prefix}admin", "Admin console")]
    return page_shell(title, body, style=STYLE, nav=nav)


def usage_cells(report: UserReport) -> str:
    budget = report.budget
    used = f"{report.cpu_hours:.1f}"
    spent = f"{used} / {budget:g}" if budget is not None else f"{used} (no budget)"
    home = "not measured" if report.home_bytes is None else format_size_gib(report.home_bytes)
    quota = report.policy.value("home_storage")
    home += "" if quota is None else f" / {format_value('home_storage', quota)}"
    problems = ", ".join(report.problems())
    return f"<td>{e(spent)}</td><td>{e(home)}</td><td class='bad'>{e(problems)}</td>"


def format_size_gib(size: int) -> str:
    return f"{size / 2**30:.2f} GiB"


def user_view(report: UserReport) -> str:
    """What one user may use and what is left."""
    rows = "".join(
        f"<tr><td>{e(name)}</td><td>{e(value)}</td><td class='note'>"
        f"{e(describe_source(report.policy[name].source))}</td></tr>"
        for name, value, _ in report.summary_rows()
    )
    left = report.cpu_hours_left
    budget_line = (
        f"You used <b>{report.cpu_hours:.1f} CPU-hours</b> in the last {report.window_days} "
        + (
            f"days; <b id='cpu-hours-left'>{left:.1f}</b> of {report.budget:g} are left."
            if left is not None
            else "days; you have no CPU-hour budget."
        )
    )
    home = (
        "Your home size has not been measured yet."
        if report.home_bytes is None
        else f"Your home uses {format_size_gib(report.home_bytes)}"
        + (
            f" of {format_value('home_storage', report.policy.value('home_storage'))}."
            if report.policy.value("home_storage") is not None
            else "."
        )
    )
    warnings = "".join(f"<p class='bad'>{e(p)}</p>" for p in report.problems())
    if report.over_storage:
        warnings += (
            "<p>Only the smallest profile starts while your home is over quota, in clean-up "
            "mode (SDL_CLEANUP_MODE=1): start it, delete files, then start what you need.</p>"
        )
    exempt = "<p class='note'>As a hub admin you are not limited by quotas.</p>"
    return (
        f"<p>Groups: {e(', '.join(report.groups) or '(none)')}</p>"
        f"<p>{budget_line}</p><p>{e(home)}</p>{warnings}"
        f"{exempt if report.exempt else ''}"
        f"<table id='limits'><tr><th>Limit</th><th>Value</th><th>From</th></tr>{rows}</table>"
    )


def console(
    reports: Sequence[UserReport],
    groups: Mapping[str, tuple[Policy | None, int]],
    defaults: Policy,
    prefix: str,
    can_write: bool,
) -> str:
    """The admin console: who is over budget, groups, users, defaults."""
    over = [r for r in reports if r.problems() and not r.exempt]
    over_html = (
        "<ul id='over-budget'>"
        + "".join(f"<li>{e(r.name)}: {e(', '.join(r.problems()))}</li>" for r in over)
        + "</ul>"
        if over
        else "<p id='over-budget'>Nobody is over budget.</p>"
    )
    edit = "Edit" if can_write else "View"
    group_rows = "".join(
        f"<tr id='group-{e(name)}'><td>{e(name)}</td><td>{members}</td>"
        f"<td>{e(policy_summary(policy))}</td>"
        f"<td><a href='{e(prefix)}admin/group/{e(name)}'>{edit}</a></td></tr>"
        for name, (policy, members) in sorted(groups.items())
    )
    user_rows = "".join(
        f"<tr id='user-{e(r.name)}'><td>{e(r.name)}{' (admin)' if r.admin else ''}</td>"
        f"<td>{e(', '.join(r.groups))}</td><td>{e(limits_summary(r))}</td>"
        f"{usage_cells(r)}<td><a href='{e(prefix)}admin/user/{e(r.name)}'>{edit}</a></td></tr>"
        for r in reports
    )
    window = reports[0].window_days if reports else ""
    return (
        f"<h2>Over budget or quota</h2>{over_html}"
        f"<h2>Groups</h2><table id='groups'><tr><th>Group</th><th>Members</th>"
        f"<th>Policy (set at this level)</th><th></th></tr>{group_rows}</table>"
        f"<h2>Users</h2><table id='users'><tr><th>User</th><th>Groups</th>"
        f"<th>Effective limits</th><th>CPU-hours ({window} days)</th><th>Home</th>"
        f"<th>Problems</th><th></th></tr>{user_rows}</table>"
        f"<h2>Platform defaults</h2><p>{e(policy_summary(defaults) or 'unlimited')} "
        f"<span class='note'>(settings file, quotas.defaults)</span></p>"
    )


def policy_summary(policy: Policy | None) -> str:
    if policy is None:
        return ""
    return "; ".join(f"{k} {format_value(k, v)}" for k, v in policy.set_fields().items())


def limits_summary(report: UserReport) -> str:
    if report.exempt:
        return "exempt (admin)"
    return "; ".join(f"{k} {format_value(k, report.policy.value(k))}" for k in KEY_FIELDS)


def form_value(name: str, policy: Policy | None) -> str:
    """What the edit form shows: blank = inherit, 'unlimited', or the value."""
    if policy is None or name not in policy.model_fields_set:
        return ""
    value = getattr(policy, name)
    if value is None:
        return "unlimited"
    if name in SIZE_FIELDS:
        return format_size(int(value))
    if name == "allowed_profiles":
        return ",".join(value)
    if isinstance(value, date):
        return value.isoformat()
    return f"{value:g}" if isinstance(value, float) else str(value)


def edit_form(
    kind: str,
    name: str,
    policy: Policy | None,
    explanation: Iterable[str],
    xsrf_html: str,
    action: str,
    can_write: bool,
    error: str = "",
) -> str:
    disabled = "" if can_write else " disabled"
    inputs = "".join(
        f"<tr><td><label for='field-{f}'>{f}</label></td><td><input type='text' "
        f"id='field-{f}' name='{f}' value='{e(form_value(f, policy))}'{disabled}></td>"
        f"<td class='note'>{e(Policy.model_fields[f].description or '')}</td></tr>"
        for f in FIELDS
    )
    explained = "".join(f"<li>{e(line)}</li>" for line in explanation)
    buttons = (
        "<button type='submit' id='save' name='action' value='save'>Save</button> "
        "<button type='submit' id='delete' name='action' value='delete'>Delete policy</button>"
        if can_write
        else "<p class='note'>You may read but not change quotas.</p>"
    )
    return (
        (f"<p class='bad' id='error'>{e(error)}</p>" if error else "")
        + f"<p>Policy of {kind} <b>{e(name)}</b>. Leave a field blank to inherit it "
        "(user: from groups, group: from the platform default); write <i>unlimited</i> "
        "to lift it. Sizes like 16Gi, dates as YYYY-MM-DD, profiles comma-separated.</p>"
        f"<form method='post' action='{e(action)}'>{xsrf_html}<table>{inputs}</table>"
        f"{buttons}</form>"
        + (f"<h2>Effective now</h2><ul id='explain'>{explained}</ul>" if explained else "")
    )
