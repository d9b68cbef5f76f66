"""User accounts never share a namespace with the platform's own, or borrow an account."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from hub.accounts import AccountError, ensure_user_account, os_username
from hub.db.embedded import SYSTEM_USER, EmbeddedPostgres, pgserver_bin_dir
from hub.ossetup import LEGACY_PLATFORM_ACCOUNTS, ensure_system_user
from tests.support.platform import make_data_dir

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="OS accounts need root")


def test_no_user_name_maps_onto_a_platform_account() -> None:
    assert SYSTEM_USER == "_sdl-postgres"
    for name in ("postgres", "Postgres", "_sdl-postgres", "sdl-postgres"):
        account = os_username(name)
        assert account != SYSTEM_USER and account not in LEGACY_PLATFORM_ACCOUNTS
        assert account.startswith("sdl-"), account
    assert os_username("postgres").startswith("sdl-postgres-")  # the hashed form
    assert os_username("_sdl-postgres", prefix="") != SYSTEM_USER  # even without prefix
    assert os_username("alice") == "sdl-alice"  # everyone else keeps their name


@pytest.fixture
def data_dir() -> Iterator[Path]:
    path = make_data_dir("sdl-accounts-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _delete_account(name: str) -> None:
    subprocess.run(["userdel", name], capture_output=True)


@as_root
def test_user_postgres_cannot_reach_the_superuser_socket(data_dir: Path) -> None:
    pg = EmbeddedPostgres(data_dir)
    account = os_username("postgres")
    home = data_dir / "homes" / account.removeprefix("sdl-")
    home.mkdir(parents=True)
    with pg.ensure_running() as running:
        try:
            entry = ensure_user_account(account, "postgres", home)
            server = pwd.getpwnam(SYSTEM_USER)
            assert entry.pw_uid != server.pw_uid and entry.pw_gid != server.pw_gid
            assert pg.pgdata.stat().st_uid == server.pw_uid
            psql = [
                str(pgserver_bin_dir() / "psql"),
                "-h",
                str(running.socket_dir),
                "-p",
                str(running.port),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-Atc",
                "SELECT current_user",
            ]
            as_user = subprocess.run(
                ["runuser", "-u", account, "--", *psql], capture_output=True, text=True
            )
            assert as_user.returncode != 0
            assert "Permission denied" in as_user.stderr, as_user.stderr
            # the same command works for the platform: the refusal is the OS's, not a typo
            as_root_ = subprocess.run(psql, capture_output=True, text=True)
            assert as_root_.stdout.strip() == "postgres", as_root_.stderr
        finally:
            _delete_account(account)


@as_root
def test_an_account_not_made_for_the_user_is_refused(data_dir: Path) -> None:
    home = data_dir / "homes" / "x"
    with pytest.raises(AccountError, match="'root' already exists"):
        ensure_user_account(os_username("root", prefix=""), "root", home)
    ensure_system_user("sdl-probe-svc")  # a service account in the users' namespace
    ensure_user_account("sdl-probe-own", "probe-own", home)
    try:
        with pytest.raises(AccountError, match="not made by Space Data Lab"):
            ensure_user_account("sdl-probe-svc", "probe-svc", home)
        ensure_user_account("sdl-probe-own", "probe-own", home)  # its own user: fine
        with pytest.raises(AccountError, match="for user 'Probe-Own'"):
            ensure_user_account("sdl-probe-own", "Probe-Own", home)  # another user
    finally:
        _delete_account("sdl-probe-svc")
        _delete_account("sdl-probe-own")


@as_root
def test_an_account_belongs_to_one_platform_on_the_machine(data_dir: Path) -> None:
    """Two platforms on one machine, a user `uma` on each: the second may not use the
    first one's account (which would let either write the other's home)."""
    other = make_data_dir("sdl-accounts-other-")
    first, second = data_dir / "homes" / "uma", other / "homes" / "uma"
    try:
        ensure_user_account("sdl-probe-uma", "uma", first)
        with pytest.raises(AccountError, match="another Space Data Lab platform") as refused:
            ensure_user_account("sdl-probe-uma", "uma", second)
        assert "hub.os_user_prefix" in str(refused.value) and str(first) in str(refused.value)
        ensure_user_account("sdl-probe2-uma", "uma", second)  # its own prefix: its own account
        assert pwd.getpwnam("sdl-probe-uma").pw_uid != pwd.getpwnam("sdl-probe2-uma").pw_uid
        ensure_user_account("sdl-probe-uma", "uma", first)  # the first platform: still fine
    finally:
        _delete_account("sdl-probe-uma")
        _delete_account("sdl-probe2-uma")
        shutil.rmtree(other, ignore_errors=True)


@as_root
def test_a_workshop_of_new_users_all_get_accounts_at_once(data_dir: Path) -> None:
    """A workshop's first minute: many first spawns make accounts at the same moment.
    On a loaded machine concurrent useradds failed with "cannot lock /etc/passwd" (the
    load benchmark of 100 users lost 31 spawns to it); every one must get its account."""
    names = [f"crowd{i:02d}" for i in range(16)]
    accounts = [f"sdl-probe-{name}" for name in names]
    homes = [data_dir / "homes" / name for name in names]
    try:
        with ThreadPoolExecutor(len(names)) as pool:
            made = list(pool.map(ensure_user_account, accounts, names, homes))
        assert [entry.pw_name for entry in made] == accounts
        assert len({entry.pw_uid for entry in made}) == len(names)
    finally:
        for account in accounts:
            _delete_account(account)


@as_root
def test_a_cluster_of_the_old_account_moves_to_the_platform_account(data_dir: Path) -> None:
    pg = EmbeddedPostgres(data_dir)
    with pg.ensure_running():
        pass
    old = ensure_system_user("sdl-postgres")  # the account earlier versions ran it as
    for path in [pg.pgdata, *pg.pgdata.rglob("*")]:
        os.chown(path, old.pw_uid, old.pw_gid, follow_symlinks=False)
    with pg.ensure_running() as running:
        assert pg.pgdata.stat().st_uid == pwd.getpwnam(SYSTEM_USER).pw_uid
        assert running.pid > 0


@as_root
def test_clusters_never_run_as_an_account_that_is_not_the_users() -> None:
    from dask_gateway_server.backends.base import PublicException

    from hub.gateway.backend import SdlLocalBackend

    gateway = SdlLocalBackend(run_as_os_users=True, os_user_prefix="")
    with pytest.raises(PublicException, match="'root' already exists"):
        gateway.os_account("root")  # the name maps to root itself without a prefix
    with pytest.raises(PublicException, match="'daemon' already exists"):
        gateway.os_account("daemon")
