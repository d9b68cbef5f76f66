"""The workshops service's handler plumbing on the service kit: the manager, the actor."""

from __future__ import annotations

from hub.errors import Forbidden, TooLarge
from hub.service.handlers import JsonHandler, PageHandler, ServiceHandler
from hub.workshops.actors import Actor
from hub.workshops.manager import Manager
from hub.workshops.uploads import MAX_UPLOAD_BYTES


class WorkshopsHandler(ServiceHandler):
    """Any logged-in hub user may reach the service; what they may do is checked later."""

    UNAVAILABLE = "workshops database unavailable"

    @property
    def manager(self) -> Manager:
        return self.settings["manager"]

    @property
    def prefix(self) -> str:
        return self.settings["prefix"]

    async def actor(self) -> Actor:
        user = self.current_user
        if not user:
            raise Forbidden("log in to the hub first")
        return await self.manager.actor(user["name"])

    def check_body_size(self) -> None:
        if len(self.request.body) > MAX_UPLOAD_BYTES:
            raise TooLarge(
                f"upload refused: {len(self.request.body) // 2**20} MiB is more than the "
                f"{MAX_UPLOAD_BYTES // 2**20} MiB allowed"
            )


class JSONHandler(WorkshopsHandler, JsonHandler):
    """The REST API's handlers."""


class WorkshopPageHandler(WorkshopsHandler, PageHandler):
    """The pages' handlers (their shell: `hub.workshops.pages`)."""
