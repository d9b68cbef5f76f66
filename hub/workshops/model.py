"""What a workshop is, and the small pure rules around it (names, times, passwords).

Kept free of the database, the hub and the file system so that every rule is tested
without starting anything; the service and the CLI share these checks.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote, urlencode

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hub.errors import InvalidRequest
from hub.workshops import GROUP_PREFIX

NAME = re.compile(r"^[a-z][a-z0-9-]{1,28}[a-z0-9]$")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@+-]{0,63}$")
_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/l/I
_RELATIVE = re.compile(r"^\+(\d+)([mhd])$")
MAX_ACCOUNTS = 200
GIT_SCHEMES = ("https://", "http://")


def check_name(name: str) -> str:
    if not NAME.match(name or ""):
        raise InvalidRequest(
            f"workshop name {name!r} is not allowed: use 3-30 lowercase letters, digits "
            "and '-', starting with a letter (e.g. 'eo-intro-2026')"
        )
    return name


def check_username(name: str) -> str:
    """Hub user names as participants: lowercase, no path or shell characters."""
    name = (name or "").strip().lower()
    if not USERNAME.match(name):
        raise InvalidRequest(
            f"user name {name!r} is not allowed: lowercase letters, digits and . _ @ + -"
        )
    return name


def group_name(workshop: str) -> str:
    return f"{GROUP_PREFIX}{workshop}"


def parse_time(value: str | datetime, now: datetime | None = None) -> datetime:
    """ISO 8601 (no offset means UTC) or relative to now: '+90m', '+3h', '+2d'."""
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value).strip()
        match = _RELATIVE.match(text)
        if match:
            amount, unit = int(match.group(1)), match.group(2)
            step = {"m": "minutes", "h": "hours", "d": "days"}[unit]
            return (now or utcnow()) + timedelta(**{step: amount})
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidRequest(
                f"time {text!r} is not understood; use ISO 8601 such as "
                "'2026-05-04T09:00+02:00' or a relative time such as '+3h'"
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class TemplateChoice(BaseModel):
    """Where a workshop's notebooks come from."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["builtin", "upload", "git"] = "builtin"
    url: str = ""
    ref: str = ""

    @model_validator(mode="after")
    def _git_needs_url(self) -> TemplateChoice:
        if self.kind == "git":
            if not self.url.startswith(GIT_SCHEMES):
                raise ValueError(f"git url {self.url!r} must start with https:// or http://")
            if any(c.isspace() for c in self.url) or self.ref.startswith("-"):
                raise ValueError("git url and ref may not contain spaces or start with '-'")
        return self


class WorkshopSpec(BaseModel):
    """A request to create a workshop, from the page, the REST API or the CLI."""

    model_config = ConfigDict(extra="forbid")
    name: str
    title: str = Field("", max_length=200)
    starts_at: datetime
    ends_at: datetime
    profiles: list[str] = Field(default_factory=list, description="Profile slugs allowed.")
    quota: dict[str, int | float | str] = Field(default_factory=dict)
    template: TemplateChoice = Field(default_factory=TemplateChoice)
    join_code: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value)

    @field_validator("starts_at", "ends_at", mode="before")
    @classmethod
    def _time(cls, value: Any) -> datetime:
        return parse_time(value)

    @model_validator(mode="after")
    def _order(self) -> WorkshopSpec:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


def parse_spec(document: dict[str, Any]) -> WorkshopSpec:
    """A `WorkshopSpec`, or `InvalidRequest` naming each wrong field."""
    try:
        return WorkshopSpec.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'request'}: "
            f"{e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise InvalidRequest(problems) from None


def generate_password(length: int = 14) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def generate_join_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET.upper().replace("I", "")) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def hash_password(password: str) -> str:
    """scrypt with a random salt: a leaked table does not reveal the passwords."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=2**14, r=8, p=1)
    return hmac.compare_digest(candidate.hex(), digest)


#: What `account_names` makes: `<workshop name>-<two or more digits>`.
ACCOUNT_NAME = re.compile(r"^[a-z][a-z0-9-]{1,28}[a-z0-9]-[0-9]{2,}$")


def account_names(workshop: str, count: int, taken: set[str]) -> list[str]:
    """`<workshop>-01`, `-02`, … skipping names already in use."""
    if not 1 <= count <= MAX_ACCOUNTS:
        raise InvalidRequest(f"count must be between 1 and {MAX_ACCOUNTS} (got {count})")
    names: list[str] = []
    number = 1
    while len(names) < count:
        candidate = f"{workshop}-{number:02d}"
        if candidate not in taken:
            names.append(candidate)
        number += 1
    return names


def accounts_csv(accounts: list[tuple[str, str]], login_url: str, ends_at: datetime) -> str:
    """The one-time hand-out sheet: user name, password, where to log in, valid until."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["username", "password", "login_url", "valid_until"])
    for username, password in accounts:
        writer.writerow([username, password, login_url, ends_at.isoformat(timespec="minutes")])
    return out.getvalue()


def nbgitpuller_link(hub_url: str, repo: str, ref: str = "", target: str = "") -> str:
    """A link that makes nbgitpuller (if installed in workspaces) pull `repo` on click."""
    folder = target or repo.rstrip("/").removesuffix(".git").rsplit("/", 1)[-1]
    params = {"repo": repo, "urlpath": f"lab/tree/{folder}"}
    if ref:
        params["branch"] = ref
    query = urlencode(params, quote_via=quote, safe="/")
    return f"{hub_url.rstrip('/')}/hub/user-redirect/git-pull?{query}"


def beside_name(relative: str, version: int) -> str:
    """Where version N of a file goes when the participant changed their copy."""
    head, _, name = relative.rpartition("/")
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem:  # "README" or ".env": the marker goes at the end
        stem, suffix = name, ""
    beside = f"{stem}.workshop-v{version}" + (f".{suffix}" if suffix else "")
    return f"{head}/{beside}" if head else beside
