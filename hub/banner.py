"""What `sdl up`'s banner says about logging in, by auth.type."""

from __future__ import annotations

from hub.config.context import platform_secrets
from hub.settings import MIN_USER_PASSWORD, Settings


def login_help(settings: Settings) -> list[str]:
    """What the banner says about logging in, by auth.type."""
    auth = settings.auth
    if auth.type == "oidc":
        return [f"Log in with {auth.oidc.issuer}."]
    if auth.type == "first-use":
        lines = [
            "Login: personal passwords. A new user name takes the password typed at its "
            f"first login ({MIN_USER_PASSWORD}+ characters); later logins need it."
        ]
    else:
        password = platform_secrets(settings)["shared_password"]
        lines = [f"Login: workshop mode (shared password). Any user name with: {password}"]
    if auth.admin_users:
        where = (
            "SDL_ADMIN_PASSWORD"
            if auth.admin_password
            else f"{settings.data_dir}/secrets/admin_password"
        )
        lines.append(f"Admins ({', '.join(auth.admin_users)}) use the admin password from {where}.")
    return lines
