"""Workspaces read the index with their own login; they can never write it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from hub import eo
from hub.data.db import admin_url
from hub.db.embedded import EmbeddedPostgres
from hub.db.roles import ensure_user_login

PASSWORD = "a" * 12 + "B" * 12 + "0123456789"


@pytest.fixture(scope="module")
def user_url(settings, engine, indexed) -> str:
    ensure_user_login(engine, "alice@example.org", PASSWORD, connection_limit=2)
    from hub.db.roles import login_name

    return EmbeddedPostgres(settings.data_dir).tcp_url(
        login_name("alice@example.org"), PASSWORD, settings.database.name
    )


def test_user_can_read_and_load(user_url: str) -> None:
    engine = sa.create_engine(user_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM agdc.dataset")).scalar_one() >= 20
    dc = eo.connect(user_url)
    ds = eo.load(
        lon=(22.11, 22.19),
        lat=(65.565, 65.595),
        time="2026-07-27",
        bands=["red"],
        dc=dc,
        dask_chunks=None,
    )
    assert ds.sizes["time"] == 1
    dc.close()


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO agdc.metadata_type (name, definition) VALUES ('x', '{}')",
        "UPDATE agdc.dataset SET archived = now()",
        "DELETE FROM agdc.dataset_location",
        "CREATE TABLE agdc.evil (id int)",
    ],
)
def test_user_cannot_write(user_url: str, statement: str, engine, row_counts) -> None:
    before = row_counts()
    user = sa.create_engine(user_url, poolclass=sa.pool.NullPool)
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"), user.begin() as conn:
        conn.execute(sa.text(statement))
    assert row_counts() == before


def test_user_cannot_write_through_datacube(user_url: str, sample_dir) -> None:
    from hub.data.db import connect

    index = connect(user_url)
    try:
        with pytest.raises(Exception, match="permission denied"):
            index.datasets.archive([next(iter(index.datasets.search(product="s2_l1c"))).id])
    finally:
        index.close()


def test_connection_limit(user_url: str) -> None:
    user = sa.create_engine(user_url, poolclass=sa.pool.NullPool)
    first, second = user.connect(), user.connect()
    try:
        with pytest.raises(sa.exc.OperationalError, match="too many connections for role"):
            user.connect()
    finally:
        first.close()
        second.close()
    user.connect().close()  # freed again


def test_user_cannot_use_the_superuser_socket(settings, user_url: str) -> None:
    with admin_url(settings) as url:
        assert "postgres@" in url and "host=" in url  # superuser: socket only
    wrong = user_url.replace(PASSWORD, "not-the-password-at-all")
    with pytest.raises(sa.exc.OperationalError, match="password authentication failed"):
        sa.create_engine(wrong, poolclass=sa.pool.NullPool).connect()


def test_ingest_login_writes_but_is_no_superuser(settings, engine, indexed, fresh_product):
    from hub.data.index import add
    from hub.db.roles import ensure_ingest_login

    role = ensure_ingest_login(engine, "sdl_ingest", "ingest-" + PASSWORD)
    url = EmbeddedPostgres(settings.data_dir).tcp_url(role, "ingest-" + PASSWORD, "datacube")
    external = settings.model_copy(
        update={"database": settings.database.model_copy(update={"url": url})}
    )  # an external server: the ingest login's URL
    result = add([fresh_product()], external)
    assert result.ok and result.count("added") == 1
    ingest = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"), ingest.begin() as c:
        c.execute(sa.text("CREATE ROLE someone_else"))


def test_users_can_list_with_their_login(settings, user_url: str) -> None:
    import json

    from click.testing import CliRunner

    from hub.cli import cli

    args = ["--data-dir", str(settings.data_dir), "--db-url", user_url]
    result = CliRunner().invoke(cli, ["data", "ls", "--json", *args])
    assert result.exit_code == 0, result.output
    from hub.data.product_defs import definitions

    assert {row["product"] for row in json.loads(result.output)} == set(definitions())


def _role_version(engine: sa.Engine, role: str) -> tuple[str, str | None]:
    """The row version of the role in pg_authid (changes with any ALTER) and its comment."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT xmin::text, shobj_description(oid, 'pg_authid') "
                "FROM pg_authid WHERE rolname = :r"
            ),
            {"r": role},
        ).one()
    return row[0], row[1]


def test_a_current_login_is_left_alone_and_a_changed_one_is_refreshed(engine) -> None:
    from hub.db.roles import login_name

    role = login_name("bea")
    ensure_user_login(engine, "bea", PASSWORD, connection_limit=2)
    first, comment = _role_version(engine, role)
    assert comment and comment.startswith("sdl-login:") and PASSWORD not in comment
    ensure_user_login(engine, "bea", PASSWORD, connection_limit=2)  # a repeat spawn
    assert _role_version(engine, role) == (first, comment)  # no DDL ran
    ensure_user_login(engine, "bea", PASSWORD, connection_limit=3)  # the limit changed
    second, changed = _role_version(engine, role)
    assert second != first and changed != comment
    with engine.begin() as conn:  # someone widened the role behind the platform's back
        conn.execute(sa.text(f'ALTER ROLE "{role}" CREATEDB'))
    ensure_user_login(engine, "bea", PASSWORD, connection_limit=3)
    with engine.connect() as conn:
        assert (
            conn.execute(
                sa.text("SELECT rolcreatedb FROM pg_roles WHERE rolname = :r"), {"r": role}
            ).scalar_one()
            is False
        )
