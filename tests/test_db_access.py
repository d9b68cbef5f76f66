"""A workspace's read-only login on the real embedded PostgreSQL: the index only, no large
objects, a changed password healed at the next spawn, and slots kept for the platform."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from hub.db.access import ensure_database, lock_down_embedded, private_database_url
from hub.db.capacity import ConnectionCapacityError, check_connection_capacity
from hub.db.embedded import SYSTEM_USER, EmbeddedPostgres, connection_slots
from hub.db.roles import ensure_ingest_login, ensure_user_login, login_name
from hub.db.urls import DRIVER, DatabaseUrlError, PlatformPostgres
from hub.local import start_platform
from hub.ports import platform_port, unprivileged_port_start
from hub.settings import settings_from_dict
from hub.workshops.store import DATABASE as WORKSHOPS
from tests.support.platform import make_data_dir
from tests.support.squat import bind_as

PASSWORD = "p" * 16 + "0123456789abcdef"
INDEX = "datacube"


def _server(data_dir: Path) -> EmbeddedPostgres:
    # few slots, so that filling the users' share is quick: 12 - 3 - 3 = 6 for users
    return EmbeddedPostgres(data_dir, max_connections=12, reserved_connections=3)


@pytest.fixture(scope="module")
def pg() -> Iterator[EmbeddedPostgres]:
    data_dir = make_data_dir("sdl-db-access-")
    server = _server(data_dir)
    with server.ensure_running():
        admin = server.superuser_url("postgres")
        ensure_database(admin, INDEX)
        for database in ("sdl", WORKSHOPS):  # as the quota and workshops services do
            private_database_url(PlatformPostgres(data_dir), database)
        lock_down_embedded(admin, INDEX)  # as `sdl up` does after preparing the index
        with _engine(server.superuser_url(INDEX)).begin() as conn:
            conn.execute(sa.text("CREATE ROLE agdc_user NOLOGIN"))  # ODC's read-only group
            conn.execute(sa.text("CREATE ROLE agdc_manage NOLOGIN"))
        yield server
    shutil.rmtree(data_dir, ignore_errors=True)


def _engine(url: str) -> sa.Engine:
    return sa.create_engine(url, poolclass=sa.pool.NullPool)


def _admin(pg: EmbeddedPostgres) -> sa.Engine:
    return _engine(pg.superuser_url(INDEX))


def _login(pg: EmbeddedPostgres, user: str, limit: int = 2) -> str:
    ensure_user_login(_admin(pg), user, PASSWORD, connection_limit=limit)
    return pg.tcp_url(login_name(user), PASSWORD, INDEX)


@pytest.mark.parametrize("database", ["sdl", "sdl_workshops", "postgres", "template1"])
def test_a_login_reaches_the_index_only(pg: EmbeddedPostgres, database: str) -> None:
    url = _login(pg, "ann")
    with _engine(url).connect() as conn:
        assert conn.execute(sa.text("SELECT current_database()")).scalar() == INDEX
    other = sa.engine.make_url(url).set(database=database)
    with pytest.raises(sa.exc.OperationalError, match="permission denied for database"):
        _engine(other.render_as_string(hide_password=False)).connect()
    with _engine(pg.superuser_url(database)).connect() as conn:  # the platform still may
        assert conn.execute(sa.text("SELECT 1")).scalar() == 1


@pytest.mark.parametrize(
    "statement",
    ["SELECT lo_create(0)", "SELECT lo_creat(-1)", "SELECT lo_from_bytea(0, 'x'::bytea)"],
)
def test_a_login_cannot_create_large_objects(pg: EmbeddedPostgres, statement: str) -> None:
    url = _login(pg, "ann")
    refused = pytest.raises(sa.exc.ProgrammingError, match="permission denied for function")
    with refused, _engine(url).begin() as conn:
        conn.execute(sa.text(statement))
    with _admin(pg).connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM pg_largeobject_metadata")).scalar() == 0


def test_a_login_cannot_create_large_objects_through_libpq(pg: EmbeddedPostgres) -> None:
    """The client-side interface (psycopg2's lobject: libpq's fast-path calls)."""
    raw = _engine(_login(pg, "ann")).raw_connection()
    try:
        with pytest.raises(Exception, match="permission denied for function lo_creat"):
            raw.driver_connection.lobject(0, "wb").write(b"x" * 1024)
    finally:
        raw.close()


def test_a_changed_password_is_set_again_at_the_next_spawn(pg: EmbeddedPostgres) -> None:
    url = _login(pg, "bo")
    with _engine(url).begin() as conn:  # what any login may do to itself
        conn.execute(sa.text(f"ALTER ROLE {login_name('bo')} PASSWORD 'mine-now-0123456789'"))
    with pytest.raises(sa.exc.OperationalError, match="password authentication failed"):
        _engine(url).connect()
    assert _login(pg, "bo") == url  # the next spawn: same role, same limit, same comment
    with _engine(url).connect() as conn:
        assert conn.execute(sa.text("SELECT current_user")).scalar() == login_name("bo")


def test_the_platform_connects_when_users_hold_every_slot_of_theirs(pg: EmbeddedPostgres) -> None:
    held = []
    ingest = ensure_ingest_login(_admin(pg), "sdl_ingest_test", "ingest-" + PASSWORD)
    ingest_url = pg.tcp_url(ingest, "ingest-" + PASSWORD, INDEX)
    try:
        users_share = 12 - 3 - 3  # max_connections - reserved - superuser_reserved
        for index in range(users_share):  # users of 2 connections each, all held
            held.append(_engine(_login(pg, f"u{index // 2}")).connect())
        with pytest.raises(sa.exc.OperationalError, match="reserved for roles"):
            _engine(_login(pg, "late")).connect()  # a user beyond the users' share
        for url in (ingest_url, pg.superuser_url(INDEX)):  # the platform's roles get in
            with _engine(url).connect() as conn:
                assert conn.execute(sa.text("SELECT 1")).scalar() == 1
    finally:
        for conn in held:
            conn.close()


def test_every_running_user_holds_all_their_connections_and_the_platform_gets_in() -> None:
    """Finding 7: 25 users holding their 8 connections each took 187 of 200 slots, and the
    next user's first connection was refused. Sized by the bound on running servers (the
    hub refuses a server beyond it), every one of them holds all of theirs."""
    servers, per_user = 25, 8
    data_dir = make_data_dir("sdl-db-slots-")
    server = EmbeddedPostgres(data_dir, max_connections=connection_slots(servers, per_user))
    held: list[sa.Connection] = []
    try:
        with server.ensure_running():
            ensure_database(server.superuser_url("postgres"), INDEX)
            with _admin(server).begin() as conn:
                conn.execute(sa.text("CREATE ROLE agdc_user NOLOGIN"))
                conn.execute(sa.text("CREATE ROLE agdc_manage NOLOGIN"))
            ingest = ensure_ingest_login(_admin(server), "sdl_ingest_test", "ingest-" + PASSWORD)
            for user in range(servers):  # the last one is the newest user, first connection
                url = _login(server, f"u{user}", limit=per_user)
                held.extend(_engine(url).connect() for _ in range(per_user))
            assert len(held) == servers * per_user
            with _engine(server.tcp_url(ingest, "ingest-" + PASSWORD, INDEX)).connect() as conn:
                assert conn.execute(sa.text("SELECT 1")).scalar() == 1
            # the same server as an external database.url: enough for 25, not for 26
            external = {"url": server.superuser_url("postgres"), "user_connection_limit": 8}
            fits = {"database": external, "hub": {"active_server_limit": servers}}
            assert check_connection_capacity(settings_from_dict(fits)) == 223
            beyond = {"database": external, "hub": {"active_server_limit": servers + 1}}
            with pytest.raises(ConnectionCapacityError, match=r"needs 231: raise max_conn"):
                check_connection_capacity(settings_from_dict(beyond))
    finally:
        for conn in held:
            conn.close()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="privileged ports and other OS users need root")
def test_no_user_can_take_postgresqls_port_while_it_restarts() -> None:
    """Finding 4's rest: PostgreSQL kept an unprivileged port, so a user who bound it
    between a crash and the restart would be handed every workspace's password. As root,
    `sdl up` gives it a privileged port (and the one right to bind it)."""
    data_dir = make_data_dir("sdl-db-port-")
    server = EmbeddedPostgres(data_dir)
    port = platform_port()
    try:
        assert port < unprivileged_port_start(), "a privileged port was free"
        proc = server.start(port)
        postmaster = psutil.Process(proc.pid)
        assert postmaster.username() == SYSTEM_USER
        assert postmaster.uids().effective != 0
        assert any(c.laddr.port == port for c in postmaster.net_connections("tcp"))
        server.stop(proc)
        # what a squatter does first: bind the port while PostgreSQL is down
        assert bind_as("nobody", port) == "refused: Permission denied"
        again = server.start(port)  # the restart takes the same port: every URL holds
        assert server.running() is not None and server.running().port == port
        server.stop(again)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def test_one_place_names_the_server_embedded_or_external(pg: EmbeddedPostgres) -> None:
    """The embedded server as itself and as an external `database.url` (its own admin URL
    with a bare `postgresql://`, as an operator writes one): the same databases, logins
    that connect, and the psycopg2 driver in every URL (NOTES: SQLAlchemy 2.1's trap)."""
    _login(pg, "cy")
    bare = pg.superuser_url("postgres").replace("postgresql+psycopg2://", "postgresql://")
    for server in (PlatformPostgres(pg.data_dir), PlatformPostgres(pg.data_dir, bare)):
        admin = server.admin_url(INDEX)
        login = server.login_url(INDEX, login_name("cy"), PASSWORD)
        assert {make_url(admin).drivername, make_url(login).drivername} == {DRIVER}
        with _engine(admin).connect() as conn:
            who = conn.execute(sa.text("SELECT current_user, current_database()")).one()
            assert tuple(who) == ("postgres", INDEX)
        with _engine(login).connect() as conn:
            assert conn.execute(sa.text("SELECT current_user")).scalar() == login_name("cy")
    with pytest.raises(DatabaseUrlError, match=r"database.url: mysql://a@b/c is not a Post"):
        PlatformPostgres(pg.data_dir, "mysql://a@b/c").admin_url(INDEX)


def test_sdl_up_refuses_an_external_database_too_small_for_its_users(
    pg: EmbeddedPostgres, tmp_path: Path
) -> None:
    """An external `database.url` left with few slots (PostgreSQL's default is 100) would
    let a few users lock out the rest: `sdl up` says so before it starts any part."""
    url = pg.superuser_url("postgres")
    settings = settings_from_dict({"data_dir": str(tmp_path), "database": {"url": url}})
    said: list[str] = []
    with pytest.raises(ConnectionCapacityError) as refused:
        start_platform(settings, None, said.append, with_sample=False)
    message = str(refused.value)
    assert "allows max_connections = 12" in message and "(100) x" in message
    assert "needs 823" in message and "lower one of those two settings" in message
    assert not any("starting" in line for line in said), said
    assert not (tmp_path / "run" / "runtime.json").exists()
    # nobody listens on port 1: the operator hears the server is not there
    wrong = make_url(url).set(query={}, host="127.0.0.1", port=1, password="not-the-password")
    unreachable = {"data_dir": str(tmp_path), "database": {"url": wrong.render_as_string(False)}}
    with pytest.raises(ConnectionCapacityError, match=r"database\.url: cannot connect to ") as no:
        check_connection_capacity(settings_from_dict(unreachable))
    assert "not-the-password" not in str(no.value)  # the URL is shown without it
