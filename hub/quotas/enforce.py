"""Spawn-time quota checks, run in the hub process for the form and the REST API alike.

The hub reads the quota database directly (not the quota service), so spawns are
checked the same while the service restarts. The database being unreachable refuses
the spawn (503) rather than letting it through unchecked.
"""

from __future__ import annotations

import os
import subprocess
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from tornado import web
from traitlets import Bool, Dict, Integer, Unicode
from traitlets.config import Config, LoggingConfigurable

from hub.blocking import in_spawn_thread
from hub.db.embedded import DatabaseError
from hub.db.wait import while_unreachable
from hub.policy.quota import EffectivePolicy, parse_policy
from hub.profiles import Profile
from hub.quotas.checks import (
    CLEANUP_ENV,
    Decision,
    SpawnFacts,
    cleanup_profile,
    decide,
    within_limits,
)
from hub.quotas.store import QuotaStore

CLEANUP_MESSAGE_ENV = "SDL_CLEANUP_MESSAGE"


class QuotaChecker(LoggingConfigurable):
    """Reads policies and usage from the quota database and decides each spawn."""

    enabled = Bool(False, config=True, help="Check quotas at spawn (set by apply_quotas).")
    data_dir = Unicode(config=True, help="The platform's data dir (embedded PostgreSQL).")
    database_url = Unicode(
        "", config=True, help="Admin URL of an external PostgreSQL; empty: the embedded one."
    )
    database = Unicode("sdl", config=True, help="Database holding policies and usage.")
    defaults = Dict(config=True, help="Platform default policy (settings quotas.defaults).")
    budget_window_days = Integer(30, config=True, help="Rolling window of the CPU budget.")
    exempt_admins = Bool(True, config=True, help="Hub admins are not limited by quotas.")
    measure_homes = Bool(
        True, config=True, help="Measure the home (du) at spawn when the spawner has one."
    )

    def store(self) -> QuotaStore:
        from hub.quotas.db import shared_store

        return shared_store(Path(self.data_dir), self.database_url, self.database)

    def facts(
        self, name: str, groups: list[str], admin: bool, home: Path | None, running: int
    ) -> tuple[EffectivePolicy, SpawnFacts]:
        """Blocking: read the database (and measure the home); run in a thread."""
        store = self.store()
        store.remember_users([(name, groups, admin)])
        policy = store.effective(name, groups, parse_policy(self.defaults, "quotas.defaults"))
        window = self.budget_window_days
        used = store.cpu_hours(name, timedelta(days=window))
        home_bytes = None
        # a home is measured at spawn only when a limit needs it; the quota service
        # measures every home in the background (quotas.storage_scan_interval) for the pages
        if policy.value("home_storage") is not None:
            if home is not None and self.measure_homes:
                home_bytes = home_size(home)
                store.set_home_usage(name, home_bytes)
            else:
                home_bytes = store.home_usages().get(name, (None, None))[0]
        return policy, SpawnFacts(running, used, window, home_bytes, date.today())

    def policy(self, name: str, groups: list[str]) -> EffectivePolicy:
        """Blocking: the user's effective policy only (what the spawn form needs)."""
        defaults = parse_policy(self.defaults, "quotas.defaults")
        return self.store().effective(name, groups, defaults)


# keyed by id(config); the config is kept with its checker so that id is never reused
_checkers: dict[int, tuple[Config, QuotaChecker]] = {}


def checker_for(config: Config) -> QuotaChecker:
    """One checker per hub configuration (spawners share the hub's config object)."""
    found = _checkers.get(id(config))
    if found is None:
        found = _checkers[id(config)] = (config, QuotaChecker(config=config))
    return found[1]


def home_size(home: Path, timeout: float = 120) -> int:
    """Bytes under `home` (du, one file system; 0 when it does not exist yet)."""
    if not home.exists():
        return 0
    try:
        out = subprocess.run(
            ["du", "-s", "-B1", "--one-file-system", str(home)],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return int(out.stdout.split()[0])
    except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
        total = 0
        for root, _, files in os.walk(home):
            for name in files:
                try:
                    total += os.lstat(os.path.join(root, name)).st_blocks * 512
                except OSError:
                    continue
        return total


def running_servers(spawner: Any) -> int:
    """Other servers of this user that run or are starting."""
    others = getattr(spawner.user, "spawners", {}) or {}
    return sum(1 for s in others.values() if s is not spawner and getattr(s, "active", False))


def set_cleanup_mode(spawner: Any, decision: Decision) -> None:
    env = {
        key: value
        for key, value in dict(spawner.environment or {}).items()
        if key not in (CLEANUP_ENV, CLEANUP_MESSAGE_ENV)
    }
    if decision.cleanup:
        env[CLEANUP_ENV] = "1"
        env[CLEANUP_MESSAGE_ENV] = decision.message
    spawner.environment = env


async def check_spawn(spawner: Any, profile: Profile) -> None:
    """Raise `tornado.web.HTTPError` when this spawn would exceed the user's quota."""
    checker = checker_for(spawner.config)
    if not checker.enabled:
        return
    user = spawner.user
    admin = bool(user.admin)
    groups = sorted(getattr(group, "name", group) for group in user.groups)  # or names
    if admin and checker.exempt_admins:
        set_cleanup_mode(spawner, Decision(True))
        return
    home = getattr(spawner, "home", None)
    try:
        policy, facts = await while_unreachable(  # a restarting PostgreSQL: wait a little
            lambda: in_spawn_thread(
                checker.facts, user.name, groups, admin, home, running_servers(spawner)
            ),
            f"quota check for {user.name}",
            spawner.log,
        )
    except (sa.exc.SQLAlchemyError, DatabaseError) as exc:
        spawner.log.error("quota check for %s failed: %s", user.name, exc)
        raise web.HTTPError(
            503,
            "Your quota cannot be checked right now (the quota database is not reachable); "
            "try again in a minute, or tell an admin if it persists.",
        ) from None
    available = _available(spawner)
    decision = decide(policy, profile, facts, cleanup_profile(policy, available), available)
    if not decision.allowed:
        spawner.log.warning("quota refused spawn for %s: %s", user.name, decision.message)
        raise web.HTTPError(403, decision.message)
    if decision.cleanup:
        spawner.log.warning("[%s] %s", user.name, decision.message)
    set_cleanup_mode(spawner, decision)
    if hasattr(spawner, "home_limit"):  # the local spawner makes the limit hard
        spawner.home_limit = policy.value("home_storage")


async def quota_offer(spawner: Any, profiles: list[Profile]) -> list[Profile]:
    """The profiles of `profiles` the user's quota admits as far as limits go, so the
    spawn form offers what a submit would get (servers, budget and expiry are decided
    at the submit). Quotas off, an exempt admin or an unreadable database: unchanged."""
    checker = checker_for(spawner.config)
    user = spawner.user
    if not checker.enabled or (user.admin and checker.exempt_admins):
        return profiles
    groups = sorted(getattr(group, "name", group) for group in user.groups)
    try:
        policy = await in_spawn_thread(checker.policy, user.name, groups)
    except (sa.exc.SQLAlchemyError, DatabaseError) as exc:
        spawner.log.warning("spawn form of %s: quota not readable (%s)", user.name, exc)
        return profiles  # the submit then answers 503 with the reason
    return [profile for profile in profiles if within_limits(policy, profile)]


def _available(spawner: Any) -> list[Profile]:
    available = getattr(spawner, "available_profiles", None)
    try:
        return list(available()) if callable(available) else []
    except Exception:  # the catalog already resolved the profile; hints are optional
        return []
