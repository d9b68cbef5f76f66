"""Database roles: who may read and who may write the Open Data Cube index.

Open Data Cube's postgres driver creates group roles when it initialises its schema
(`agdc_user` reads; `agdc_ingest`/`agdc_manage`/`agdc_admin` write). Every platform user
gets a login of their own that is only a member of the read-only group, with a
connection limit: the DBA sees who runs what, and one notebook cannot take every
connection of the server.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Any

import sqlalchemy as sa

from hub.db.access import RESERVED_SLOTS_ROLE, may_grant_reserved_slots

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
    _ensure_login(engine, role, password, READ_ONLY_GROUP, connection_limit, fingerprint=True)
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
    grant_reserved_slots(engine, role)
    return role


def grant_reserved_slots(engine: sa.Engine, role: str) -> bool:
    """Let a platform role use the connection slots users' logins cannot take
    (PostgreSQL 16's `reserved_connections`); False where our admin may not grant it."""
    quote = engine.dialect.identifier_preparer.quote
    with engine.begin() as conn:
        if not may_grant_reserved_slots(conn):
            return False
        conn.execute(sa.text(f"GRANT {RESERVED_SLOTS_ROLE} TO {quote(role)}"))
    return True


#: Role comment that fingerprints what `ensure_user_login` last set (password included).
_FINGERPRINT = "sdl-login:{}"


def login_fingerprint(role: str, password: str, group: str, connection_limit: int) -> str:
    """Changes whenever the password, the group or the limit would.

    Role comments are readable by every database user. The passwords fingerprinted are
    256-bit HMACs (`login_password`), and the digest is salted with the role and
    stretched, so it gives nothing away; admin-chosen passwords are never fingerprinted.
    """
    digest = hashlib.pbkdf2_hmac(
        "sha256",
        f"{password}\0{group}\0{int(connection_limit)}".encode(),
        f"sdl-login:{role}".encode(),
        1000,
    )
    return _FINGERPRINT.format(digest.hex()[:32])


def _ensure_login(
    engine: sa.Engine,
    role: str,
    password: str,
    group: str,
    connection_limit: int = -1,
    fingerprint: bool = False,
) -> None:
    """A login role that is a member of `group` and nothing more (-1: no connection limit).

    With `fingerprint`, a role already set up exactly so (flags, limit, membership and
    the fingerprint of its password in its comment) is left alone: one SELECT instead of
    DDL, which PostgreSQL serialises when many people start at once.
    """
    if not re.fullmatch(r"[A-Za-z0-9_-]{16,128}", password):
        raise ValueError("database passwords must be 16-128 URL-safe characters")
    quote = engine.dialect.identifier_preparer.quote
    mark = login_fingerprint(role, password, group, connection_limit) if fingerprint else ""
    with engine.begin() as conn:
        found = conn.execute(_CURRENT, {"r": role, "g": group}).first()
        if (
            found is not None
            and mark
            and _is_current(found, connection_limit, mark)
            and _password_is(conn, found, role, password)
        ):
            return
        verb = "ALTER" if found is not None else "CREATE"
        # Role options cannot be bound parameters: the password was checked above and
        # the names are quoted.
        conn.execute(
            sa.text(
                f"{verb} ROLE {quote(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT "
                f"CONNECTION LIMIT {int(connection_limit)} PASSWORD '{password}'"
            )
        )
        conn.execute(sa.text(f"GRANT {quote(group)} TO {quote(role)}"))
        # a fingerprint is hex; NULL removes an old one (an ALTER without fingerprint)
        comment = f"'{mark}'" if mark else "NULL"
        conn.execute(sa.text(f"COMMENT ON ROLE {quote(role)} IS {comment}"))


_CURRENT = sa.text(
    """SELECT r.rolcanlogin, r.rolsuper, r.rolcreatedb, r.rolcreaterole, r.rolinherit,
              r.rolconnlimit, shobj_description(r.oid, 'pg_authid') AS comment,
              has_table_privilege('pg_catalog.pg_authid', 'SELECT') AS sees_secrets,
              EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                      WHERE m.member = r.oid AND g.rolname = :g) AS member
       FROM pg_roles r WHERE r.rolname = :r"""
)


def _is_current(row: Any, connection_limit: int, fingerprint: str) -> bool:
    return (
        row.rolcanlogin
        and row.rolinherit
        and row.member
        and not (row.rolsuper or row.rolcreatedb or row.rolcreaterole)
        and row.rolconnlimit == int(connection_limit)
        and row.comment == fingerprint
    )


def _password_is(conn: sa.Connection, row: Any, role: str, password: str) -> bool:
    """True if the role's password is still `password`.

    Any login may change its own password (PostgreSQL cannot forbid it), which would
    lock its workspace out for good; the comment cannot tell, so the stored SCRAM
    verifier is checked. Where it cannot be read (the admin is no superuser), False:
    the password is set again at every spawn.
    """
    if not row.sees_secrets:
        return False
    stored = conn.execute(
        sa.text("SELECT rolpassword FROM pg_authid WHERE rolname = :r"), {"r": role}
    ).scalar()
    return scram_verifies(stored, password)


_SCRAM = re.compile(r"SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)")


def scram_verifies(verifier: str | None, password: str) -> bool:
    """Does PostgreSQL's `SCRAM-SHA-256$iter:salt$StoredKey:ServerKey` match `password`?

    RFC 5802 / 7677; our passwords are ASCII, which SASLprep leaves as they are.
    """
    match = _SCRAM.fullmatch(verifier or "")
    if match is None:
        return False
    iterations, salt, stored_key, server_key = (
        int(match[1]),
        *(base64.b64decode(part) for part in match.group(2, 3, 4)),
    )
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    server = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    return hmac.compare_digest(hashlib.sha256(client_key).digest(), stored_key) and (
        hmac.compare_digest(server, server_key)
    )
