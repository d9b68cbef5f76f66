"""The spawn decision as a pure function: effective policy + facts → allowed or why not.

Every refusal names the limit, where it comes from and what the user can do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from hub.policy.quota import EffectivePolicy, describe_source, format_value
from hub.profiles import Profile, format_size

CLEANUP_ENV = "SDL_CLEANUP_MODE"
ASK_ADMIN = "ask an admin to raise it"


@dataclass(frozen=True)
class SpawnFacts:
    """What is known about the user at spawn time."""

    running_servers: int  # other servers of this user that run or are starting
    cpu_hours_used: float  # in the budget window
    window_days: int
    home_bytes: int | None  # None: not measured (e.g. on Kubernetes)
    today: date


@dataclass(frozen=True)
class Decision:
    allowed: bool
    message: str = ""
    limit: str = ""  # the policy field that decided a refusal
    cleanup: bool = False  # start in clean-up mode (home over quota)


def _source(policy: EffectivePolicy, name: str) -> str:
    return describe_source(policy[name].source)


def _refuse(limit: str, message: str) -> Decision:
    return Decision(False, message, limit)


def decide(
    policy: EffectivePolicy,
    profile: Profile,
    facts: SpawnFacts,
    smallest: Profile | None,
    available: Sequence[Profile] = (),
) -> Decision:
    """May `policy.user` start `profile` now? `smallest`: the clean-up profile."""
    expires = policy.value("expires")
    if expires is not None and facts.today > expires:
        return _refuse(
            "expires",
            f"Your access expired on {expires.isoformat()} (expires, "
            f"{_source(policy, 'expires')}); ask an admin to extend it.",
        )

    allowed = policy.value("allowed_profiles")
    if allowed is not None and profile.slug not in allowed:
        fitting = [p.slug for p in available if within_limits(policy, p)]
        choice = f"choose {', '.join(fitting)}" if fitting else "no profile is left to you"
        return _refuse(
            "allowed_profiles",
            f"Profile {profile.slug!r} is not in your quota (allowed_profiles: "
            f"{format_value('allowed_profiles', allowed)}, "
            f"{_source(policy, 'allowed_profiles')}); {choice}, or ask an admin.",
        )

    for field, wanted, shown in (
        ("max_cpu", profile.cpu_limit, f"{profile.cpu_limit:g} CPU"),
        ("max_memory", profile.mem_limit, f"{format_size(profile.mem_limit)} memory"),
        ("max_gpus", profile.gpus, f"{profile.gpus} GPU(s)"),
    ):
        limit = policy.value(field)
        if limit is not None and wanted > limit:
            fitting = [p.slug for p in available if within_limits(policy, p)]
            hint = f"choose {', '.join(fitting)}" if fitting else "no profile fits it"
            return _refuse(
                field,
                f"Profile {profile.slug!r} has {shown}, over your limit "
                f"({field} {format_value(field, limit)}, {_source(policy, field)}); "
                f"{hint}, or {ASK_ADMIN}.",
            )

    max_servers = policy.value("max_servers")
    if max_servers is not None and facts.running_servers + 1 > max_servers:
        return _refuse(
            "max_servers",
            f"You already run {facts.running_servers} server(s) and may run {max_servers} "
            f"at a time (max_servers, {_source(policy, 'max_servers')}); stop one on your "
            "hub home page first.",
        )

    budget = policy.value("budget_cpu_hours")
    if budget is not None and facts.cpu_hours_used >= budget:
        return _refuse(
            "budget_cpu_hours",
            f"You have used {facts.cpu_hours_used:.1f} of your {budget:g} CPU-hours in the "
            f"last {facts.window_days} days (budget_cpu_hours, "
            f"{_source(policy, 'budget_cpu_hours')}); usage older than {facts.window_days} "
            f"days no longer counts, so wait, or {ASK_ADMIN}. Smaller profiles use the "
            "budget more slowly.",
        )

    storage = policy.value("home_storage")
    if storage is not None and facts.home_bytes is not None and facts.home_bytes > storage:
        used = f"{facts.home_bytes / 2**30:.2f} GiB"
        quota = f"{format_value('home_storage', storage)} (home_storage, " + _source(
            policy, "home_storage"
        )
        if smallest is None or profile.slug != smallest.slug:
            only = repr(smallest.slug) if smallest else "the smallest profile"
            return _refuse(
                "home_storage",
                f"Your home uses {used}, over your quota of {quota}); until you delete "
                f"files only profile {only} may start, in clean-up mode "
                f"({CLEANUP_ENV}=1). Start {only}, free space, then start what you need.",
            )
        return Decision(
            True,
            f"Your home uses {used}, over your quota of {quota}): this server starts in "
            f"clean-up mode ({CLEANUP_ENV}=1); delete files to use other profiles again.",
            "home_storage",
            cleanup=True,
        )
    return Decision(True)


def within_limits(policy: EffectivePolicy, profile: Profile) -> bool:
    """The profile is in allowed_profiles and under max_cpu/max_memory/max_gpus."""
    limits = (
        ("max_cpu", profile.cpu_limit),
        ("max_memory", profile.mem_limit),
        ("max_gpus", profile.gpus),
    )
    allowed = policy.value("allowed_profiles")
    if allowed is not None and profile.slug not in allowed:
        return False
    return all(policy.value(f) is None or v <= policy.value(f) for f, v in limits)


def cleanup_profile(policy: EffectivePolicy, available: Sequence[Profile]) -> Profile | None:
    """The smallest profile the user may start: the one offered in clean-up mode."""
    fitting = [p for p in available if within_limits(policy, p)]
    pool = fitting or list(available)
    return min(pool, key=lambda p: (p.cpu_limit, p.mem_limit, p.slug), default=None)
