"""A workshop's profiles, quota and end time become its group's quota policy."""

from __future__ import annotations

import pytest

from hub.errors import InvalidRequest
from hub.policy.quota import Policy, effective_policy
from hub.settings import settings_from_dict
from hub.workshops.quota import WRITER, GroupPolicies, check_profiles, group_policy
from tests.quotas.helpers import platform_store
from tests.support.platform import ADMIN_PASSWORD, HubClient, RunningPlatform
from tests.workshops.conftest import Service


def test_group_policy_from_profiles_quota_and_end() -> None:
    policy = group_policy(["small"], {"max_cpu": 2, "max_memory": "8Gi"})
    assert policy.allowed_profiles == ["small"] and policy.max_cpu == 2
    assert policy.max_memory == 8 * 2**30
    assert policy.expires is None  # the event's end never locks a researcher out of the lab
    # no profiles: the group does not restrict them (the field is left out, not empty)
    assert "allowed_profiles" not in group_policy([], {}).model_fields_set


@pytest.mark.parametrize(
    ("quota", "says"),
    [
        ({"allowed_profiles": ["large"]}, "its `profiles`"),
        ({"expires": "2030-01-01"}, "its `ends_at`"),
        ({"cpus": 2}, "unknown field 'cpus'"),
        ({"max_cpu": "lots"}, "max_cpu"),
    ],
)
def test_group_policy_refuses_bad_quota(quota: dict, says: str) -> None:
    with pytest.raises(InvalidRequest, match=says) as refused:
        group_policy([], quota)
    assert refused.value.status == 400


def test_profiles_are_checked_against_the_platform() -> None:
    assert check_profiles(["small", "small", "medium"], ["small", "medium"]) == ["small", "medium"]
    with pytest.raises(InvalidRequest, match=r"'huge' is not a profile.*choose from medium, small"):
        check_profiles(["small", "huge"], ["small", "medium"])


def test_other_groups_stay_more_generous() -> None:
    """What the docstring of hub.workshops.quota promises, on the quota model itself."""
    workshop = group_policy(["small"], {})
    students = Policy(allowed_profiles=["small", "medium"], max_cpu=4)
    both = effective_policy(
        "sam", ["ws-x", "students"], {"ws-x": workshop, "students": students}, None, Policy()
    )
    assert both.value("allowed_profiles") == ["medium", "small"]
    only = effective_policy("tia", ["ws-x"], {"ws-x": workshop}, None, Policy())
    assert only.value("allowed_profiles") == ["small"]


# -- on the running platform ------------------------------------------------------
def test_workshop_profiles_are_enforced_at_spawn(platform: RunningPlatform) -> None:
    ivan, quinn = Service(platform, "ivan"), Service(platform, "quinn")
    store = platform_store(platform)
    created = ivan.call(
        "POST",
        "/workshops",
        json={
            "name": "quota-ws",
            "starts_at": "+0m",
            "ends_at": "2099-12-31T12:00Z",
            "profiles": ["small"],
            "quota": {"max_servers": 1},
        },
    )
    assert created.status_code == 201, created.text
    policy = store.policy("group", "ws-quota-ws")
    assert policy == Policy(allowed_profiles=["small"], max_servers=1)
    added = ivan.call("POST", "/workshops/quota-ws/participants", json={"users": ["quinn"]})
    assert added.json() == {"added": [], "invited": ["quinn"]}  # quinn has an account
    assert quinn.call("POST", "/invitations/quota-ws/accept").status_code == 200

    refused = quinn.hub.api("POST", "/users/quinn/server", json={"profile": "medium"})
    assert refused.status_code == 403, refused.text
    message = refused.json()["message"]
    assert "allowed_profiles" in message and "ws-quota-ws" in message, message
    assert quinn.hub.spawn("quinn", {"profile": "small"}).status_code in (201, 202)
    assert quinn.hub.api("DELETE", "/users/quinn/server").status_code in (202, 204)

    # a change of profiles or end time rewrites the policy; unknown profiles change nothing
    bad = ivan.call("PATCH", "/workshops/quota-ws", json={"profiles": ["small", "huge"]})
    assert bad.status_code == 400 and "'huge' is not a profile" in bad.json()["message"]
    changed = ivan.call(
        "PATCH",
        "/workshops/quota-ws",
        json={"profiles": ["small", "medium"], "ends_at": "2099-06-01T00:00Z"},
    )
    assert changed.status_code == 200, changed.text
    policy = store.policy("group", "ws-quota-ws")
    assert policy.allowed_profiles == ["small", "medium"]
    assert policy.expires is None and policy.max_servers == 1

    assert ivan.call("DELETE", "/workshops/quota-ws").status_code == 204
    assert store.policy("group", "ws-quota-ws") is None


def test_a_workshop_quota_never_widens_the_admins_policy(platform: RunningPlatform) -> None:
    """Ivan's workshop asks for every profile and 99 servers; rosa's admin group allows
    `small` only: her effective policy and the spawn check keep the admin's limits."""
    ivan, rosa = Service(platform, "ivan"), Service(platform, "rosa")
    ada = HubClient(platform.url)
    assert ada.login("ada", ADMIN_PASSWORD).status_code == 200
    store = platform_store(platform)
    store.set_policy("group", "lab", Policy(allowed_profiles=["small"], max_cpu=2), by="ada")
    store.set_policy("user", "rosa", Policy(max_servers=1), by="ada")
    created = ivan.call(
        "POST",
        "/workshops",
        json={
            "name": "wide-ws",
            "starts_at": "+0m",
            "ends_at": "2099-12-31T12:00Z",
            "profiles": ["small", "medium", "large"],
            "quota": {"max_cpu": 512, "max_servers": 99},
        },
    )
    assert created.status_code == 201, created.text
    added = ivan.call("POST", "/workshops/wide-ws/participants", json={"users": ["rosa"]})
    assert added.json() == {"added": [], "invited": ["rosa"]}, added.text
    assert rosa.call("POST", "/invitations/wide-ws/accept").status_code == 200
    try:
        groups = ada.api("GET", "/users/rosa").json()["groups"]
        assert set(groups) >= {"lab", "ws-wide-ws"}
        eff = store.effective("rosa", groups, Policy())
        assert eff.value("allowed_profiles") == ["small"] and eff.value("max_cpu") == 2
        assert eff.value("max_servers") == 1
        refused = rosa.hub.api("POST", "/users/rosa/server", json={"profile": "medium"})
        assert refused.status_code == 403, refused.text
        assert "allowed_profiles" in refused.json()["message"]
    finally:
        assert ivan.call("DELETE", "/workshops/wide-ws").status_code == 204
        store.delete_policy("group", "lab")
        store.delete_policy("user", "rosa")


def test_unknown_profile_or_bad_quota_refused_at_creation(platform: RunningPlatform) -> None:
    ivan = Service(platform, "ivan")
    for extra, says in [
        ({"profiles": ["small", "huge"]}, "'huge' is not a profile of this platform"),
        ({"quota": {"expires": "2030-01-01"}}, "expires cannot be set here"),
        ({"quota": {"max_memory": "32 GB"}}, "max_memory"),
    ]:
        refused = ivan.call(
            "POST",
            "/workshops",
            json={"name": "bad-ws", "starts_at": "+0m", "ends_at": "+1h", **extra},
        )
        assert refused.status_code == 400, refused.text
        assert says in refused.json()["message"]
    assert ivan.call("GET", "/workshops/bad-ws").status_code == 404
    assert platform_store(platform).policy("group", "ws-bad-ws") is None


def test_sync_keeps_only_the_workshops_policies(platform: RunningPlatform) -> None:
    """What the service does at its start: stale policies written here go, others stay."""
    store = platform_store(platform)
    store.set_policy("group", "ws-gone", Policy(max_cpu=1), by=WRITER)
    store.set_policy("group", "ws-admins-own", Policy(max_cpu=1), by="ada")
    current = {
        group: row.policy
        for (_, group), row in store.policies("group").items()
        if row.updated_by == WRITER and group != "ws-gone"
    }
    settings = settings_from_dict({"data_dir": str(platform.data_dir)})
    GroupPolicies(settings).sync({**current, "ws-new": Policy(max_cpu=2)})
    assert store.policy("group", "ws-gone") is None
    assert store.policy("group", "ws-new") == Policy(max_cpu=2)
    assert store.policy("group", "ws-admins-own") == Policy(max_cpu=1)
    for group in ("ws-new", "ws-admins-own"):
        store.delete_policy("group", group)
