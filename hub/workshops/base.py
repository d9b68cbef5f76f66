"""Shared handler plumbing: hub login (OAuth or token), errors, the manager."""

from __future__ import annotations

import json
import logging
from typing import Any

from jupyterhub.services.auth import HubOAuthenticated
from tornado import web

from hub.workshops.manager import Actor, Manager
from hub.workshops.model import WorkshopError
from hub.workshops.uploads import MAX_UPLOAD_BYTES

log = logging.getLogger("sdl.workshops")


class BaseHandler(HubOAuthenticated, web.RequestHandler):
    """Any logged-in hub user may reach the service; what they may do is checked later."""

    @property
    def manager(self) -> Manager:
        return self.settings["manager"]

    @property
    def prefix(self) -> str:
        return self.settings["prefix"]

    async def actor(self) -> Actor:
        user = self.current_user
        if not user:
            raise web.HTTPError(403)
        return await self.manager.actor(user["name"])

    def check_body_size(self) -> None:
        if len(self.request.body) > MAX_UPLOAD_BYTES:
            raise WorkshopError(
                f"upload refused: {len(self.request.body) // 2**20} MiB is more than the "
                f"{MAX_UPLOAD_BYTES // 2**20} MiB allowed",
                413,
            )


class JSONHandler(BaseHandler):
    def body(self) -> dict[str, Any]:
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError:
            raise WorkshopError("the request body is not JSON") from None
        if not isinstance(data, dict):
            raise WorkshopError("the request body must be a JSON object")
        return data

    def reply(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data, default=str))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None))[1]
        message = str(exc) if isinstance(exc, WorkshopError) else self._reason
        if isinstance(exc, web.HTTPError) and exc.log_message:
            message = exc.log_message
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"status": status_code, "message": message}))

    def _handle_request_exception(self, e: BaseException) -> None:
        if isinstance(e, WorkshopError):
            log.warning("refused %s %s: %s", self.request.method, self.request.path, e)
            self.send_error(e.status, exc_info=(type(e), e, e.__traceback__))
            return
        super()._handle_request_exception(e)
