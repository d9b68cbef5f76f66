"""The home PVC's size follows the user's quota `home_storage` (real quota store)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from kube_helpers import manifests, validate_strict

from hub.kube.render import SampleUser, hub_config
from hub.kube.spawner import home_capacity
from hub.policy.quota import Policy
from hub.quotas.db import settings_store
from hub.settings import Settings, settings_from_dict

SMALL = {"profile": "small"}


def requested(settings: Settings, user: SampleUser) -> str:
    _, _, pvc = manifests(hub_config(settings), user, SMALL)
    validate_strict(pvc)
    return pvc["spec"]["resources"]["requests"]["storage"]


@pytest.fixture
def quota_settings(pg_data_dir: Path, fresh_db: str) -> Settings:
    return settings_from_dict(
        {
            "data_dir": str(pg_data_dir),
            "quotas": {"database": fresh_db},
            "kubernetes": {"home_size": "10Gi"},
        }
    )


def test_a_group_policy_sizes_the_home_pvc_and_no_policy_keeps_the_setting(
    quota_settings: Settings,
) -> None:
    settings = quota_settings
    store = settings_store(settings)
    store.set_policy("group", "students", Policy(home_storage="20Gi"))
    assert requested(settings, SampleUser("sam", ("students",))) == "20Gi"
    assert requested(settings, SampleUser("olle")) == "10Gi"  # no policy: kubernetes.home_size
    store.set_policy("user", "sam", Policy(home_storage=None))  # unlimited: no size to give
    assert requested(settings, SampleUser("sam", ("students",))) == "10Gi"


def test_exempt_admins_never_get_less_than_the_setting(quota_settings: Settings) -> None:
    settings = quota_settings
    settings_store(settings).set_policy("group", "staff", Policy(home_storage="5Gi"))
    assert requested(settings, SampleUser("ops", ("staff",), admin=True)) == "10Gi"
    assert requested(settings, SampleUser("tom", ("staff",))) == "5Gi"


def test_an_unreachable_quota_database_keeps_the_setting_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_from_dict({"data_dir": str(tmp_path)})  # no PostgreSQL runs there
    with caplog.at_level(logging.WARNING):
        assert requested(settings, SampleUser("sam", ("students",))) == "10Gi"
    assert "Home PVC of sam gets the configured 10Gi" in caplog.text


def test_sizes_are_kubernetes_quantities() -> None:
    assert home_capacity(20 * 2**30, "10Gi") == "20Gi"
    assert home_capacity(1_500_000_000, "10Gi") == "1500000000"
    assert home_capacity(None, "10Gi") == "10Gi"
