"""Database roles: who may read and who may write the Open Data Cube index.

Open Data Cube's postgres driver creates group roles when it initialises its schema
(`agdc_user` reads; `agdc_ingest`/`agdc_manage`/`agdc_admin` write). Every platform user
gets a login of their own that is only a member of the read-only group, with a
connection limit: the DBA sees who runs what, and one notebook cannot take every
connection of the server.
"""

from __future__ import annotations

import hashlib
import hmac
import re

import sqlalchemy as sa

READ_ONLY_GROUP = "agdc_user"
LOGIN_PREFIX = "sdl_u_"


def login_name(username: str) -> str:
    """A PostgreSQL role name for a platform user: stable, safe, at most 63 bytes."""
    safe = re.sub(r"[^a-z0-9_]", "_", username.lower())
    if safe != username.lower() or len(LOGIN_PREFIX + safe) > 48:
        digest = hashlib.sha256(username.encode()).hexdigest()[:8]
        safe = f"{safe[:38]}_{digest}"
    return LOGIN_PREFIX + safe


def login_password(secret: bytes, username: str) -> str:
    """The user's database password, derived from a platform secret (nothing stored)."""
    return hmac.new(secret, f"db-login:{username}".encode(), hashlib.sha256).hexdigest()


def ensure_user_login(
    engine: sa.Engine, username: str, password: str, connection_limit: int
) -> str:
    """Create or update `username`'s read-only login; return the role name."""
    role = login_name(username)
    _ensure_login(engine, role, password, READ_ONLY_GROUP, connection_limit)
    return role


INGEST_GROUP = "agdc_manage"  # ODC's group that may add datasets and products


def ensure_ingest_login(engine: sa.Engine, role: str, password: str) -> str:
    """Create or update the platform's ingest login (writes the index, nothing else).

    Used by `sdl data add` when it runs against an external PostgreSQL with a dedicated
    admin account; workspaces never receive these credentials.
    """
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,47}", role):
        raise ValueError(f"ingest role {role!r}: use lowercase letters, digits and _")
    _ensure_login(engine, role, password, INGEST_GROUP)
    return role


def _ensure_login(
    engine: sa.Engine, role: str, password: str, group: str, connection_limit: int = -1
) -> None:
    """A login role that is a member of `group` and nothing more (-1: no connection limit)."""
    if not re.fullmatch(r"[A-Za-z0-9_-]{16,128}", password):
        raise ValueError("database passwords must be 16-128 URL-safe characters")
    quote = engine.dialect.identifier_preparer.quote
    with engine.begin() as conn:
        exists = conn.execute(
            sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}
        ).first()
        verb = "ALTER" if exists else "CREATE"
        # Role options cannot be bound parameters: the password was checked above and
        # the names are quoted.
        conn.execute(
            sa.text(
                f"{verb} ROLE {quote(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT "
                f"CONNECTION LIMIT {int(connection_limit)} PASSWORD '{password}'"
            )
        )
        conn.execute(sa.text(f"GRANT {quote(group)} TO {quote(role)}"))
