"""The `auth:` section: how users and admins log in (first-use, shared password, OIDC)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from hub.settings.base import Strict


class OidcSettings(Strict):
    issuer: str = Field("", description="OpenID Connect issuer URL (discovery is read from it).")
    client_id: str = Field("", description="The hub's client id at the provider.")
    client_secret: str = Field("", description="Prefer SDL_OIDC_CLIENT_SECRET in the environment.")
    callback_url: str = Field("", description="Defaults to <public URL>/hub/oauth_callback.")
    scopes: list[str] = Field(
        default_factory=lambda: ["openid", "profile", "email", "groups"],
        description="Scopes asked for at login.",
    )
    username_claim: str = Field(
        "preferred_username", description="Claim that becomes the hub user name."
    )
    groups_claim: str = Field("groups", description="Claim whose values become hub groups.")
    admin_groups: list[str] = Field(
        default_factory=list, description="Members of these groups become hub admins."
    )
    allowed_groups: list[str] = Field(
        default_factory=list, description="If set, only members of these groups may log in."
    )
    allow_all: bool = Field(
        False,
        description="Let every account of the provider log in; otherwise only members of "
        "allowed_groups and admin_groups (and admin_users) may.",
    )


#: SharedPasswordAuthenticator refuses shorter ones (the hub would stop at start-up)
MIN_ADMIN_PASSWORD = 32
MIN_USER_PASSWORD = 8


class AuthSettings(Strict):
    type: Literal["first-use", "shared-password", "oidc"] = Field(
        "first-use",
        description="first-use: each user's own password, set at their first login (the "
        "default with `sdl up`); shared-password: one workshop password for every user name, "
        "an explicit workshop mode (the default on Kubernetes, where the chart sets the "
        "password); oidc: the lab's OpenID Connect provider, for production.",
    )
    admin_users: list[str] = Field(
        default_factory=list, description="Hub admins (SDL_ADMIN_USERS, comma-separated)."
    )
    shared_password: str = Field(
        "",
        description="shared-password mode: the password for everyone who is not an admin "
        f"(>= {MIN_USER_PASSWORD} characters).",
    )
    admin_password: str = Field(
        "",
        description="Password for admin_users in first-use and shared-password modes "
        f"(>= {MIN_ADMIN_PASSWORD} characters); default: made once in <data_dir>/secrets/.",
    )
    oidc: OidcSettings = Field(default_factory=OidcSettings)

    @field_validator("admin_users", mode="before")
    @classmethod
    def _split_admins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value

    @field_validator("shared_password")
    @classmethod
    def _shared_password_long_enough(cls, value: str) -> str:
        return _long_enough(value, MIN_USER_PASSWORD, "SDL_SHARED_PASSWORD")

    @field_validator("admin_password")
    @classmethod
    def _admin_password_long_enough(cls, value: str) -> str:
        return _long_enough(value, MIN_ADMIN_PASSWORD, "SDL_ADMIN_PASSWORD")

    @model_validator(mode="after")
    def _passwords_differ(self) -> AuthSettings:
        # the hub cannot tell an admin's login from a user's if both are the same
        if self.shared_password and self.shared_password == self.admin_password:
            raise ValueError("shared_password and admin_password must differ")
        return self


def _long_enough(value: str, minimum: int, variable: str) -> str:
    """Checked here so that a short password stops `sdl config check`, not the hub."""
    if value and len(value) < minimum:
        raise ValueError(
            f"must be at least {minimum} characters, not {len(value)} "
            f"(set a longer one in the settings file or {variable}, or leave it empty "
            "to have one made in <data_dir>/secrets/)"
        )
    return value
