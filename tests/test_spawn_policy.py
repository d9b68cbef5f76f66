"""The server-side check of spawn requests: only a user's own profiles, nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.paths import shipped_dir
from hub.policy.spawn import ProfileCatalog, Requester, SpawnRefused
from hub.profiles import load_profiles

CATALOG = ProfileCatalog(load_profiles(shipped_dir("spawner_profiles")))
STUDENT = Requester.of("sam", {"students"})
GPU_USER = Requester.of("gina", {"gpu-users"})
ADMIN = Requester.of("ada", set(), admin=True)


def test_groups_decide_what_is_offered() -> None:
    assert [p.slug for p in CATALOG.available_to(STUDENT)] == ["small", "medium", "large"]
    assert "gpu" in [p.slug for p in CATALOG.available_to(GPU_USER)]
    assert len(CATALOG.available_to(ADMIN)) == len(CATALOG.profiles)


def test_empty_request_gets_the_default() -> None:
    assert CATALOG.resolve({}, STUDENT).slug == "small"
    assert CATALOG.resolve(None, STUDENT).slug == "small"


def test_form_lists_are_accepted() -> None:
    assert CATALOG.resolve({"profile": ["medium"]}, STUDENT).slug == "medium"


def test_other_groups_profile_is_refused_with_the_reason() -> None:
    with pytest.raises(SpawnRefused) as refused:
        CATALOG.resolve({"profile": "gpu"}, STUDENT)
    assert refused.value.status == 403
    assert "gpu-users" in str(refused.value)
    assert "small, medium, large" in str(refused.value)


def test_unknown_profile_and_extra_keys_are_refused() -> None:
    with pytest.raises(SpawnRefused, match="no profile 'huge'"):
        CATALOG.resolve({"profile": "huge"}, STUDENT)
    with pytest.raises(SpawnRefused, match="Unknown spawn option"):
        CATALOG.resolve({"profile": "small", "mem_limit": "1T"}, STUDENT)


SLUGS = {p.slug for p in CATALOG.available_to(STUDENT)}
values = st.one_of(
    st.text(max_size=300),
    st.integers(),
    st.floats(),
    st.none(),
    st.booleans(),
    st.lists(st.text(max_size=20), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5)),
)


@given(st.dictionaries(st.text(max_size=30), values, max_size=4))
def test_tampered_requests_never_yield_a_profile_outside_the_users_groups(options: dict) -> None:
    try:
        profile = CATALOG.resolve(options, STUDENT)
    except SpawnRefused as refused:
        assert refused.status in (400, 403)
        assert str(refused)
    else:
        assert profile.slug in SLUGS
        assert set(options) <= {"profile"}
