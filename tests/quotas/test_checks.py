"""The spawn decision for each limit, without a hub or a database."""

from __future__ import annotations

from datetime import date

import pytest

from hub.policy.quota import Policy, effective_policy
from hub.profiles import load_profiles
from hub.quotas.checks import SpawnFacts, cleanup_profile, decide
from hub.settings import settings_from_dict

PROFILES = {p.slug: p for p in load_profiles(settings_from_dict({}).profiles_dir)}
AVAILABLE = [PROFILES[s] for s in ("small", "medium", "large")]
TODAY = date(2026, 6, 1)


def facts(**changes) -> SpawnFacts:
    base = {
        "running_servers": 0,
        "cpu_hours_used": 0.0,
        "window_days": 30,
        "home_bytes": 0,
        "today": TODAY,
    }
    return SpawnFacts(**{**base, **changes})


def policy(**fields):
    return effective_policy("sam", ["students"], {"students": Policy(**fields)}, None, Policy())


def run(slug: str, pol, fact=None):
    chosen = PROFILES[slug]
    return decide(pol, chosen, fact or facts(), cleanup_profile(pol, AVAILABLE), AVAILABLE)


def test_no_limits_allows_everything() -> None:
    assert run("large", policy()).allowed


@pytest.mark.parametrize(
    ("fields", "slug", "limit", "says"),
    [
        (
            {"allowed_profiles": ["small"]},
            "medium",
            "allowed_profiles",
            "Profile 'medium' is not in your quota (allowed_profiles: small, from group students); "
            "choose small",
        ),
        ({"max_cpu": 2}, "medium", "max_cpu", "has 4 CPU, over your limit (max_cpu 2"),
        ({"max_memory": "8Gi"}, "large", "max_memory", "32Gi memory, over your limit"),
        ({"max_gpus": 0}, "gpu", "max_gpus", "1 GPU(s), over your limit (max_gpus 0"),
        (
            {"expires": date(2026, 5, 31)},
            "small",
            "expires",
            "Your access expired on 2026-05-31 (expires, from group students); ask an admin",
        ),
    ],
)
def test_each_limit_refuses_with_its_name_and_a_way_out(fields, slug, limit, says) -> None:
    decision = run(slug, policy(**fields))
    assert not decision.allowed
    assert decision.limit == limit
    assert says in decision.message


def test_expiry_day_itself_still_works() -> None:
    assert run("small", policy(expires=TODAY)).allowed


def test_concurrent_servers() -> None:
    pol = policy(max_servers=2)
    assert run("small", pol, facts(running_servers=1)).allowed
    refused = run("small", pol, facts(running_servers=2))
    assert refused.limit == "max_servers"
    assert "You already run 2 server(s) and may run 2 at a time" in refused.message


def test_budget() -> None:
    pol = policy(budget_cpu_hours=10)
    assert run("small", pol, facts(cpu_hours_used=9.9)).allowed
    refused = run("small", pol, facts(cpu_hours_used=10.0))
    assert refused.limit == "budget_cpu_hours"
    assert "You have used 10.0 of your 10 CPU-hours in the last 30 days" in refused.message


def test_home_over_quota_allows_only_the_smallest_profile_in_cleanup_mode() -> None:
    pol = policy(home_storage="1Gi")
    over = facts(home_bytes=2 * 2**30)
    refused = run("medium", pol, over)
    assert refused.limit == "home_storage" and not refused.allowed
    assert "only profile 'small' may start, in clean-up mode (SDL_CLEANUP_MODE=1)" in (
        refused.message
    )
    cleanup = run("small", pol, over)
    assert cleanup.allowed and cleanup.cleanup
    assert "clean-up mode" in cleanup.message
    assert not run("medium", pol, facts(home_bytes=2**30)).cleanup  # at the quota: fine
    assert run("medium", pol, facts(home_bytes=None)).allowed  # not measured: no refusal


def test_cleanup_profile_respects_allowed_profiles() -> None:
    pol = policy(allowed_profiles=["medium", "large"])
    assert cleanup_profile(pol, AVAILABLE).slug == "medium"
