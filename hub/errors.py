"""Errors that users and operators read: each names the place and what to do."""

from __future__ import annotations

from pydantic import ValidationError

#: settings whose values an error message must not repeat
SECRET_FIELDS = frozenset({"shared_password", "admin_password", "client_secret"})


class SdlError(Exception):
    """Base of every error the platform reports to a person."""


class SettingsError(SdlError):
    """A settings or profile file is malformed; the message names file, field and fix."""


class RequestError(SdlError):
    """A request that cannot be done as asked; the message says why and what to do.

    Domain code raises the subclass that names the reason; the HTTP edge (the service
    kit's handlers, the spawners' hooks) answers with its `status`.
    """

    status = 400

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status


class InvalidRequest(RequestError):
    """The request itself is wrong: a field, a value, a body."""

    status = 400


class Forbidden(RequestError):
    """This user may not do this."""

    status = 403


class NotFound(RequestError):
    """What the request names does not exist (or is not this user's to see)."""

    status = 404


class Conflict(RequestError):
    """It cannot be done in the present state (exists already, ended, in use)."""

    status = 409


class Gone(RequestError):
    """It existed but is over (an ended workshop)."""

    status = 410


class TooLarge(RequestError):
    """The request's body is larger than allowed."""

    status = 413


class UpstreamError(RequestError):
    """A part this one depends on answered with an error (the hub's API)."""

    status = 502


class Unavailable(RequestError):
    """A part this one depends on cannot be reached now; trying later may work."""

    status = 503


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
