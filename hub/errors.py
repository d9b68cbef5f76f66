"""Errors that users and operators read: each names the place and what to do."""

from __future__ import annotations

from pydantic import ValidationError

#: settings whose values an error message must not repeat
SECRET_FIELDS = frozenset({"shared_password", "admin_password", "client_secret"})


class SdlError(Exception):
    """Base of every error the platform reports to a person."""


class SettingsError(SdlError):
    """A settings or profile file is malformed; the message names file, field and fix."""


def format_validation_error(source: str, exc: ValidationError) -> str:
    """One line per problem: `file: field.path: what is wrong (got X)`."""
    lines = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown setting (check the spelling; see the configuration reference)"
        given = error.get("input")
        got = "" if error["type"] == "missing" or isinstance(given, dict) else f" (got {given!r})"
        if error["loc"] and error["loc"][-1] in SECRET_FIELDS:
            got = ""  # a password never goes to the terminal or a log
        lines.append(f"{source}: {field}: {message}{got}")
    return "\n".join(lines)
