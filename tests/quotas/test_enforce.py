"""`check_spawn` with a stand-in spawner and a real database: each limit, clean-up mode."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tornado import web
from traitlets.config import Config

from hub.policy.quota import Policy
from hub.profiles import load_profiles
from hub.quotas.db import shared_store
from hub.quotas.enforce import check_spawn
from hub.quotas.store import UsageRecord
from hub.settings import settings_from_dict

PROFILES = {p.slug: p for p in load_profiles(settings_from_dict({}).profiles_dir)}


@dataclass
class Group:
    name: str


@dataclass
class FakeUser:
    name: str
    groups: list[Group]
    admin: bool = False
    spawners: dict[str, Any] = field(default_factory=dict)


@dataclass
class FakeSpawner:
    config: Config
    user: FakeUser
    home: Path | None = None
    environment: dict[str, str] = field(default_factory=lambda: {"KEEP": "1"})
    active: bool = False
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("test"))

    def available_profiles(self) -> list:
        return [PROFILES[s] for s in ("small", "medium", "large")]


@pytest.fixture
def hub_config(pg_data_dir: Path, fresh_db) -> Config:
    c = Config()
    c.QuotaChecker.enabled = True
    c.QuotaChecker.data_dir = str(pg_data_dir)
    c.QuotaChecker.database = fresh_db[0]
    c.QuotaChecker.defaults = {"max_servers": 2}
    return c


def store_of(c: Config):
    q = c.QuotaChecker
    return shared_store(Path(q.data_dir), "", q.database)


def spawner(c: Config, name="sam", groups=("students",), admin=False, **kw) -> FakeSpawner:
    user = FakeUser(name, [Group(g) for g in groups], admin)
    made = FakeSpawner(c, user, **kw)
    user.spawners[""] = made
    return made


def refusal(s: FakeSpawner, slug: str) -> web.HTTPError:
    with pytest.raises(web.HTTPError) as caught:
        asyncio.run(check_spawn(s, PROFILES[slug]))
    return caught.value


def test_disabled_checks_nothing() -> None:
    asyncio.run(check_spawn(spawner(Config()), PROFILES["large"]))


def test_each_limit_from_the_database(hub_config: Config) -> None:
    store = store_of(hub_config)
    s = spawner(hub_config)
    asyncio.run(check_spawn(s, PROFILES["large"]))  # nothing set yet: allowed
    assert store.known_user("sam").groups == ("students",)  # remembered for the CLI

    store.set_policy("group", "students", Policy(max_cpu=4, allowed_profiles=["small", "medium"]))
    error = refusal(s, "large")
    assert error.status_code == 403 and "allowed_profiles" in error.log_message
    store.set_policy("user", "sam", Policy(allowed_profiles=None, max_memory="8Gi"))
    assert "max_memory 8Gi, from user sam" in refusal(s, "medium").log_message
    asyncio.run(check_spawn(s, PROFILES["small"]))

    other = FakeSpawner(hub_config, s.user, active=True)
    s.user.spawners.update({"a": other, "b": FakeSpawner(hub_config, s.user, active=True)})
    assert "max_servers, platform default" in refusal(s, "small").log_message
    other.active = False
    asyncio.run(check_spawn(s, PROFILES["small"]))


def test_budget_from_usage_records(hub_config: Config) -> None:
    store = store_of(hub_config)
    store.set_policy("group", "students", Policy(budget_cpu_hours=10))
    now = datetime.now(UTC)
    s = spawner(hub_config, name="bea")
    store.add_usage(
        UsageRecord(
            "server",
            "bea",
            "",
            "small",
            2.0,
            0,
            now - timedelta(hours=4),
            now - timedelta(hours=1),
            now,
        )
    )
    asyncio.run(check_spawn(s, PROFILES["small"]))  # 6 of 10 CPU-hours
    store.record_cluster_usage("bea", "c", 2.0, 0, now - timedelta(hours=2), now)
    assert "You have used 10.0 of your 10 CPU-hours" in refusal(s, "small").log_message


def test_expiry(hub_config: Config) -> None:
    store_of(hub_config).set_policy("user", "old", Policy(expires="2020-01-31"))
    assert "expired on 2020-01-31" in refusal(spawner(hub_config, name="old"), "small").log_message


def test_home_over_quota_starts_only_small_in_cleanup_mode(hub_config: Config, tmp_path) -> None:
    store_of(hub_config).set_policy("group", "students", Policy(home_storage="1Mi"))
    home = tmp_path / "home"
    home.mkdir()
    (home / "big.bin").write_bytes(b"x" * 2 * 2**20)
    s = spawner(hub_config, name="hoa", home=home)
    assert "only profile 'small' may start, in clean-up mode" in refusal(s, "medium").log_message
    asyncio.run(check_spawn(s, PROFILES["small"]))
    assert s.environment["SDL_CLEANUP_MODE"] == "1" and s.environment["KEEP"] == "1"
    assert "delete files" in s.environment["SDL_CLEANUP_MESSAGE"]
    assert store_of(hub_config).home_usages()["hoa"][0] >= 2 * 2**20  # shown in the console

    (home / "big.bin").unlink()
    asyncio.run(check_spawn(s, PROFILES["medium"]))
    assert "SDL_CLEANUP_MODE" not in s.environment and s.environment["KEEP"] == "1"


def test_admins_are_exempt(hub_config: Config) -> None:
    store_of(hub_config).set_policy("user", "ada", Policy(max_cpu=1))
    asyncio.run(check_spawn(spawner(hub_config, name="ada", admin=True), PROFILES["large"]))
    hub_config.QuotaChecker.exempt_admins = False
    c2 = Config(hub_config)  # a new hub configuration: a new checker
    assert "max_cpu" in refusal(spawner(c2, name="ada", admin=True), "large").log_message


def test_unreachable_database_refuses_with_503(tmp_path) -> None:
    c = Config()
    c.QuotaChecker.enabled = True
    c.QuotaChecker.database_url = "postgresql://nobody@127.0.0.1:1/none"
    error = refusal(spawner(c), "small")
    assert error.status_code == 503 and "cannot be checked right now" in error.log_message
