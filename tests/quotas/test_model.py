"""The policy model: levels, most generous group, user overrides, explanations."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.policy.quota import (
    Policy,
    PolicyError,
    effective_policy,
    parse_assignments,
    parse_policy,
    updated,
)
from hub.settings import settings_from_dict

DEFAULTS = Policy(max_cpu=2, max_servers=1)


def test_unset_inherits_and_none_means_unlimited() -> None:
    policy = parse_policy({"max_cpu": None, "max_memory": "16Gi"})
    assert policy.set_fields() == {"max_cpu": None, "max_memory": 16 * 2**30}
    assert policy.to_json() == {"max_cpu": None, "max_memory": 16 * 2**30}
    eff = effective_policy("sam", [], {}, policy, DEFAULTS)
    assert eff.value("max_cpu") is None  # explicitly unlimited for sam
    assert eff.value("max_servers") == 1  # inherited from the defaults
    assert eff["max_servers"].source == "default"


def test_most_generous_group_wins_and_user_overrides() -> None:
    groups = {
        "students": Policy(max_cpu=4, allowed_profiles=["small"], budget_cpu_hours=100),
        "staff": Policy(max_cpu=8, allowed_profiles=["medium"], expires=date(2030, 1, 1)),
        "guests": Policy(expires=date(2026, 1, 1)),
    }
    eff = effective_policy("sam", ["students", "staff", "guests", "nobody"], groups, None, DEFAULTS)
    assert eff.value("max_cpu") == 8 and eff["max_cpu"].source == "group staff"
    assert eff.value("allowed_profiles") == ["medium", "small"]
    assert eff["allowed_profiles"].source == "groups staff, students"
    assert eff.value("budget_cpu_hours") == 100
    assert eff.value("expires") == date(2030, 1, 1)
    assert eff.value("max_servers") == 1

    own = Policy(max_cpu=1)
    eff = effective_policy("sam", ["students"], groups, own, DEFAULTS)
    assert eff.value("max_cpu") == 1  # most specific wins, even when smaller
    assert "max_cpu 1 for user sam (overrides 4 from group students)" in eff.explain()
    assert "max_servers 1 (platform default)" in eff.explain()


def test_unlimited_in_any_group_beats_numbers() -> None:
    groups = {"a": Policy(max_memory="8Gi"), "b": Policy(max_memory=None)}
    eff = effective_policy("x", ["a", "b"], groups, None, Policy(max_memory="4Gi"))
    assert eff.value("max_memory") is None and eff["max_memory"].source == "group b"
    assert eff.to_json()["max_memory"]["explanation"] == "max_memory unlimited (from group b)"


def test_no_expiry_in_a_group_beats_a_date() -> None:
    groups = {"a": Policy(expires=date(2020, 1, 1)), "b": Policy(expires=None)}
    eff = effective_policy("x", ["a", "b"], groups, None, Policy())
    assert eff.value("expires") is None
    assert "expires no expiry (from group b)" in eff.explain()


def test_errors_name_the_field() -> None:
    with pytest.raises(PolicyError, match=r"max_memory: .*is not a size"):
        parse_policy({"max_memory": "lots"}, "group students")
    with pytest.raises(PolicyError, match="max_cpus: unknown setting"):
        parse_policy({"max_cpus": 4}, "group students")
    with pytest.raises(PolicyError, match="expected FIELD=VALUE"):
        parse_assignments(["cpu=4"])


def test_assignments_set_unlimit_and_inherit() -> None:
    values, unset = parse_assignments(
        ["max_cpu=4", "max_memory=unlimited", "budget_cpu_hours=inherit", "allowed_profiles=a,b"]
    )
    assert values == {"max_cpu": "4", "max_memory": None, "allowed_profiles": ["a", "b"]}
    assert unset == ["budget_cpu_hours"]
    policy = updated(Policy(budget_cpu_hours=5, max_gpus=1), values, unset)
    assert policy.set_fields() == {
        "allowed_profiles": ["a", "b"],
        "max_cpu": 4.0,
        "max_memory": None,
        "max_gpus": 1,
    }


def test_defaults_come_from_the_settings_document() -> None:
    settings = settings_from_dict({"quotas": {"defaults": {"max_memory": "16Gi"}}})
    assert settings.quotas.defaults.set_fields() == {"max_memory": 16 * 2**30}
    assert settings.quotas.budget_window_days == 30


LIMITS = st.one_of(st.none(), st.integers(min_value=1, max_value=64).map(float))


@given(
    group_values=st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), LIMITS, max_size=4),
    own=st.one_of(st.just("unset"), LIMITS),
    default=LIMITS,
)
def test_effective_max_cpu_properties(group_values, own, default) -> None:
    groups = {name: Policy(max_cpu=value) for name, value in group_values.items()}
    user = None if own == "unset" else Policy(max_cpu=own)
    eff = effective_policy("u", list(groups), groups, user, Policy(max_cpu=default))
    if user is not None:
        assert eff.value("max_cpu") == own
    elif not groups:
        assert eff.value("max_cpu") == default
    elif None in group_values.values():
        assert eff.value("max_cpu") is None
    else:
        assert eff.value("max_cpu") == max(group_values.values())
    # the explanation always names where the value came from
    assert eff["max_cpu"].source in {"default", "user u", *(f"group {g}" for g in groups)}


def test_a_workshop_never_raises_what_an_admin_allows() -> None:
    """The review's case: an instructor's quota asked 512 CPUs and 99 servers."""
    workshop = Policy(max_cpu=512, max_servers=99, allowed_profiles=["small", "large"])
    groups = {"ws-x": workshop, "lab": Policy(allowed_profiles=["small"])}
    eff = effective_policy("sam", ["ws-x", "lab"], groups, None, DEFAULTS)
    assert (eff.value("max_cpu"), eff.value("max_servers")) == (2, 1)  # the defaults
    assert eff.value("allowed_profiles") == ["small"]  # the admin's group, not the union
    assert eff["max_cpu"].source == "default"
    own = effective_policy("sam", ["ws-x"], groups, Policy(max_cpu=1), DEFAULTS)
    assert own.value("max_cpu") == 1  # the user's own admin-set limit stays


def test_a_workshop_may_narrow() -> None:
    groups = {"ws-x": Policy(max_cpu=1, allowed_profiles=["small"])}
    eff = effective_policy("sam", ["ws-x"], groups, None, DEFAULTS)
    assert eff.value("max_cpu") == 1 and eff["max_cpu"].source == "group ws-x"
    assert eff.value("allowed_profiles") == ["small"]  # defaults allow every profile
    limited = Policy(allowed_profiles=["small", "medium"])
    wide = {"ws-x": Policy(allowed_profiles=["medium", "large"])}
    assert effective_policy("tia", ["ws-x"], wide, None, limited).value("allowed_profiles") == [
        "medium"
    ]
