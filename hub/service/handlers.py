"""Handler bases of the hub's services: hub login, domain errors at the edge, JSON, pages.

Every service runs behind the hub's OAuth (a browser's cookie) or a hub token
(Authorization header); what a user may do is the service's own check. Domain code
raises `hub.errors.RequestError` subclasses; here they become an answer with their
status and message, as JSON for the API and as a page for browsers.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import sqlalchemy as sa
from jupyterhub.services.auth import HubOAuthenticated
from tornado import web

from hub.errors import InvalidRequest, RequestError, Unavailable
from hub.service.html import e

P = ParamSpec("P")
T = TypeVar("T")
log = logging.getLogger("sdl.service")


class ServiceHandler(HubOAuthenticated, web.RequestHandler):
    """Any logged-in hub user reaches the handler; the handler checks what they may do."""

    #: the 503 when the database does not answer (the exception's class name follows)
    UNAVAILABLE = "the database is unavailable"

    async def db(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`fn` off the event loop; a database that does not answer is a 503."""
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except sa.exc.SQLAlchemyError as exc:
            raise Unavailable(f"{self.UNAVAILABLE}: {exc.__class__.__name__}") from None

    def error_message(self, **kwargs: Any) -> str:
        """What `write_error` tells the client: the refusal's own message if there is one."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, RequestError):
            return str(exc)
        if isinstance(exc, web.HTTPError) and exc.log_message:
            return str(exc.log_message)
        return self._reason

    def _handle_request_exception(self, e: BaseException) -> None:
        if isinstance(e, RequestError):  # a refusal, not a crash: no traceback in the log
            log.warning("refused %s %s: %s", self.request.method, self.request.path, e)
            self.send_error(e.status, exc_info=(type(e), e, e.__traceback__))
            return
        super()._handle_request_exception(e)


class JsonHandler(ServiceHandler):
    """The REST API: JSON bodies in, JSON documents and `{status, message}` errors out."""

    BODY_NOT_JSON = "the request body is not JSON"
    BODY_NOT_OBJECT = "the request body must be a JSON object"

    def body(self) -> dict[str, Any]:
        try:
            document = json.loads(self.request.body or b"{}")
        except ValueError:
            raise InvalidRequest(self.BODY_NOT_JSON) from None
        if not isinstance(document, dict):
            raise InvalidRequest(self.BODY_NOT_OBJECT)
        return document

    def reply(self, document: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(document, default=str))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"status": status_code, "message": self.error_message(**kwargs)}))


class PageHandler(ServiceHandler):
    """Server-rendered pages; each service gives its shell (`page`) and error page."""

    def page(self, title: str, body: str) -> str:
        raise NotImplementedError

    def error_page(self, status_code: int, message: str) -> tuple[str, str]:
        """(title, body) of the page that says a request was refused."""
        return f"Error {status_code}", f"<p class='bad' id='error'>{e(message)}</p>"

    def render_page(self, title: str, body: str, status: int | None = None) -> None:
        if status is not None:
            self.set_status(status)
        self.finish(self.page(title, body))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        title, body = self.error_page(status_code, self.error_message(**kwargs))
        self.render_page(title, body, status_code)


class HealthHandler(web.RequestHandler):
    """`<prefix>health`: the service answers (no login: the hub and probes ask)."""

    def get(self) -> None:
        self.finish({"ok": True})
