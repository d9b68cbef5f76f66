"""Tampered spawn requests (form or REST API) are refused before any object is built."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tornado import web
from traitlets import TraitError
from traitlets.config import Config

from hub.kube.render import SampleUser, _Hub
from hub.kube.spawner import SdlKubeSpawner

SLUGS = {"small", "medium", "large", "gpu"}
STUDENT = SampleUser("student", ("students",))

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
unknown_slug = st.text(min_size=1, max_size=80).filter(lambda s: s not in SLUGS)
wrong_typed = (
    st.integers()
    | st.floats(allow_nan=False)
    | st.booleans()
    | st.dictionaries(st.text(), json_values, min_size=1, max_size=3)
    | st.lists(json_values, min_size=2, max_size=4)
    | st.lists(st.integers(), min_size=1, max_size=1)
)
oversize = st.text(min_size=64, max_size=400)

tampered = st.one_of(
    st.builds(lambda s: {"profile": s}, unknown_slug),
    st.just({"profile": "gpu"}),  # another group's profile
    st.just({"profile": ["gpu"]}),  # the same, as an HTML form sends it
    st.builds(lambda s: {"profile": s}, wrong_typed),
    st.builds(lambda s: {"profile": s}, oversize),
    st.builds(
        lambda extra, value, slug: {"profile": slug, **{extra: value}},
        st.text(min_size=1).filter(lambda k: k != "profile"),
        json_values,
        st.sampled_from(sorted(SLUGS - {"gpu"})),
    ),  # extra keys, e.g. {"profile": "small", "image": "evil", "cpu_limit": 64}
    st.lists(json_values, max_size=3),  # not an object at all
    st.text(min_size=1),
    st.integers(),
)


async def _refusals(c: Config, options: Any) -> list[int]:
    spawner = SdlKubeSpawner(config=c, user=STUDENT, hub=_Hub())
    statuses = []
    try:
        await spawner._run_apply_user_options(options)
    except web.HTTPError as e:
        statuses.append(e.status_code)
    try:
        spawner.user_options = options
    except TraitError:  # user_options is a Dict trait: non-objects never reach start
        statuses.append(400)
        return statuses
    try:
        await spawner.load_user_options()
    except web.HTTPError as e:
        statuses.append(e.status_code)
    return statuses


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(options=tampered)
def test_tampered_requests_are_refused_by_hook_and_by_start(hub_c: Config, options: Any) -> None:
    statuses = asyncio.run(_refusals(hub_c, options))
    assert len(statuses) == 2, f"{options!r} was not refused at both steps"
    assert set(statuses) <= {400, 403}


@settings(max_examples=30, deadline=None)
@given(
    slug=st.sampled_from(sorted(SLUGS - {"gpu"})),
    as_form=st.booleans(),
)
def test_honest_requests_pass(hub_c: Config, slug: str, as_form: bool) -> None:
    options = {"profile": [slug] if as_form else slug}
    assert asyncio.run(_refusals(hub_c, options)) == []


@pytest.mark.parametrize("options", [{}, {"profile": ""}, {"profile": None}])
def test_empty_request_gets_the_default(hub_c: Config, options: dict) -> None:
    assert asyncio.run(_refusals(hub_c, options)) == []
