"""One admission in both modes: on Kubernetes quotas refuse a spawn exactly as locally.

The hub pod's real configuration (`apply_z2jh`) and the real quota store on a real
PostgreSQL; the Kubernetes spawner is the real `SdlKubeSpawner`, the local one the real
`SdlLocalSpawner`, and both go through JupyterHub's own `_run_apply_user_options`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from kube_helpers import manifests
from tornado import web
from traitlets.config import Config

from hub.config.z2jh import apply_z2jh
from hub.kube.render import SampleUser
from hub.policy.quota import Policy
from hub.policy.spawn import ProfileCatalog
from hub.quotas.db import settings_store
from hub.settings import Settings, settings_from_dict
from hub.spawners.local import SdlLocalSpawner


@pytest.fixture
def quota_settings(pg_data_dir: Path, fresh_db: str) -> Settings:
    settings = settings_from_dict(
        {
            "data_dir": str(pg_data_dir),
            "quotas": {"database": fresh_db},
            "auth": {"shared_password": "workshop-pass"},
        }
    )
    store = settings_store(settings)
    store.set_policy("group", "students", Policy(allowed_profiles=["small", "medium"], max_cpu=2))
    return settings


@pytest.fixture
def hub_pod_config(quota_settings: Settings) -> Config:
    c = Config()
    apply_z2jh(quota_settings, c)
    return c


def kube_refusal(c: Config, user: SampleUser, slug: str) -> web.HTTPError:
    with pytest.raises(web.HTTPError) as caught:
        manifests(c, user, {"profile": slug})
    return caught.value


def local_refusal(c: Config, settings: Settings, user: SampleUser, slug: str) -> web.HTTPError:
    c.SdlLocalSpawner.profiles_dir = str(settings.profiles_dir)
    spawner = SdlLocalSpawner(config=c, user=user)
    with pytest.raises(web.HTTPError) as caught:
        asyncio.run(spawner._run_apply_user_options({"profile": slug}))
    return caught.value


@pytest.mark.parametrize(
    ("slug", "because"),
    [
        ("medium", "over your limit (max_cpu 2"),  # in allowed_profiles, over max_cpu
        ("large", "is not in your quota (allowed_profiles"),
    ],
)
def test_over_quota_is_refused_on_kubernetes_as_locally(
    hub_pod_config: Config, quota_settings: Settings, slug: str, because: str
) -> None:
    sam = SampleUser("sam", ("students",))
    on_kube = kube_refusal(hub_pod_config, sam, slug)
    assert on_kube.status_code == 403 and because in on_kube.log_message
    locally = local_refusal(hub_pod_config, quota_settings, sam, slug)
    assert (locally.status_code, locally.log_message) == (403, on_kube.log_message)


def test_within_quota_builds_the_pod_and_resolves_once(
    hub_pod_config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    resolve = ProfileCatalog.resolve

    def counted(self, options, requester):
        calls.append(options)
        return resolve(self, options, requester)

    monkeypatch.setattr(ProfileCatalog, "resolve", counted)
    _, pod, _ = manifests(hub_pod_config, SampleUser("sam", ("students",)), {"profile": "small"})
    (container,) = pod["spec"]["containers"]
    assert float(container["resources"]["limits"]["cpu"]) == 2
    assert calls == [{"profile": "small"}]  # the hook admitted it; start applied that


def test_exempt_admins_pass_and_other_users_keep_the_defaults(hub_pod_config: Config) -> None:
    manifests(hub_pod_config, SampleUser("ops", ("students",), admin=True), {"profile": "large"})
    manifests(hub_pod_config, SampleUser("olle"), {"profile": "large"})  # no policy of theirs


def test_an_unreadable_quota_database_refuses_with_503(tmp_path: Path) -> None:
    settings = settings_from_dict(
        {"data_dir": str(tmp_path), "auth": {"shared_password": "workshop-pass"}}
    )
    c = Config()
    apply_z2jh(settings, c)
    refused = kube_refusal(c, SampleUser("sam", ("students",)), "small")
    assert refused.status_code == 503 and "cannot be checked right now" in refused.log_message


def test_the_form_offers_what_admission_accepts(
    hub_pod_config: Config, quota_settings: Settings
) -> None:
    """students may have small and medium, but max_cpu 2 leaves only small: both forms
    offer small alone, and a user without a policy keeps every group profile."""
    sam, olle = SampleUser("sam", ("students",)), SampleUser("olle")
    kube, _, _ = manifests(hub_pod_config, sam, {"profile": "small"})
    assert [p["slug"] for p in asyncio.run(kube.allowed_profile_list())] == ["small"]
    hub_pod_config.SdlLocalSpawner.profiles_dir = str(quota_settings.profiles_dir)
    local = SdlLocalSpawner(config=hub_pod_config, user=sam)
    form = asyncio.run(local.get_options_form())
    assert 'value="small"' in form and 'value="medium"' not in form
    other = SdlLocalSpawner(config=hub_pod_config, user=olle)
    assert 'value="large"' in asyncio.run(other.get_options_form())
