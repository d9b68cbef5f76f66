"""The REST API under /services/workshops/api/ (JSON; hub tokens or the page's cookie).

GET    api/workshops                         your workshops (admins: all)
POST   api/workshops                         create {name, starts_at, ends_at, ...}
GET    api/workshops/<name>                  workshop, who received which version, who is invited
PATCH  api/workshops/<name>                  change title/times/profiles/quota
DELETE api/workshops/<name>
POST   api/workshops/<name>/participants     {"users": [...]} → added, or invited (below)
DELETE api/workshops/<name>/participants/<user>
DELETE api/workshops/<name>/invitations/<user>  withdraw one not yet answered
POST   api/workshops/<name>/accounts         {"count": N} → passwords, once
PUT    api/workshops/<name>/template         zip body, or {"kind": "builtin"|"git", ...}
POST   api/workshops/<name>/handout
POST   api/workshops/<name>/reset            {"user": ..., "path": ...}
GET    api/me                                the workshops you take part in
POST   api/join                              {"code": ...}
GET    api/invitations                       the workshops you are invited to
POST   api/invitations/<name>/accept         take part (you join its group); not once ended
POST   api/invitations/<name>/decline        the invitation is deleted
GET    api/materials                         handed-out versions of your workshops (pull)
GET    api/materials/<name>/<N>.tar.gz       version N's files, if you take part
POST   api/materials/<name>/report           what your workspace delivered {"version": N, ...}

An instructor who names an existing hub user invites them (`hub.workshops.invitations`).
Every call acts as the user the hub says the token or cookie belongs to; a server's own
JUPYTERHUB_API_TOKEN is that user's (the `server` role has access to this service).
"""

from __future__ import annotations

import asyncio

from pydantic import ValidationError
from tornado import web

from hub.errors import InvalidRequest
from hub.workshops import materials
from hub.workshops.base import JSONHandler
from hub.workshops.model import TemplateChoice, nbgitpuller_link


class WorkshopsAPI(JSONHandler):
    @web.authenticated
    async def get(self) -> None:
        actor = await self.actor()
        self.reply([w.public() for w in await self.manager.listing(actor)])

    @web.authenticated
    async def post(self) -> None:
        workshop = await self.manager.create(await self.actor(), self.body())
        self.reply(workshop.public(), 201)


class WorkshopAPI(JSONHandler):
    @web.authenticated
    async def get(self, name: str) -> None:
        status = await self.manager.status(await self.actor(), name)
        workshop = status["workshop"]
        if workshop["template_kind"] == "git":
            status["nbgitpuller_link"] = nbgitpuller_link(
                self.manager.public_url, workshop["template_url"], workshop["template_ref"]
            )
        self.reply(status)

    @web.authenticated
    async def patch(self, name: str) -> None:
        workshop = await self.manager.update(await self.actor(), name, self.body())
        self.reply(workshop.public())

    @web.authenticated
    async def delete(self, name: str) -> None:
        await self.manager.delete(await self.actor(), name)
        self.set_status(204)
        self.finish()


class ParticipantsAPI(JSONHandler):
    @web.authenticated
    async def post(self, name: str) -> None:
        users = self.body().get("users")
        if not isinstance(users, list) or not all(isinstance(u, str) for u in users):
            raise InvalidRequest('give the participants as {"users": ["name", ...]}')
        self.reply(await self.manager.add_participants(await self.actor(), name, users))

    @web.authenticated
    async def delete(self, name: str, username: str) -> None:
        await self.manager.remove_participant(await self.actor(), name, username)
        self.set_status(204)
        self.finish()


class InvitedAPI(JSONHandler):
    """The instructor's side of an invitation: withdrawn while it is not answered."""

    @web.authenticated
    async def delete(self, name: str, username: str) -> None:
        await self.manager.withdraw(await self.actor(), name, username)
        self.set_status(204)
        self.finish()


class AccountsAPI(JSONHandler):
    @web.authenticated
    async def post(self, name: str) -> None:
        count = self.body().get("count")
        if not isinstance(count, int) or isinstance(count, bool):
            raise InvalidRequest('give the number of accounts as {"count": N}')
        self.reply(await self.manager.create_accounts(await self.actor(), name, count), 201)


class TemplateAPI(JSONHandler):
    @web.authenticated
    async def put(self, name: str) -> None:
        self.check_body_size()
        actor = await self.actor()
        kind = self.request.headers.get("Content-Type", "").split(";")[0].strip()
        if kind in ("application/zip", "application/octet-stream"):
            workshop = await self.manager.upload(actor, name, self.request.body, [])
        else:
            try:
                choice = TemplateChoice.model_validate(self.body())
            except ValidationError as exc:
                raise InvalidRequest(str(exc.errors()[0]["msg"])) from None
            if choice.kind == "upload":
                raise InvalidRequest("send the zip itself with Content-Type: application/zip")
            workshop = await self.manager.set_template(actor, name, choice)
        self.reply(workshop.public())


class HandoutAPI(JSONHandler):
    @web.authenticated
    async def post(self, name: str) -> None:
        self.reply(await self.manager.handout(await self.actor(), name))


class ResetAPI(JSONHandler):
    @web.authenticated
    async def post(self, name: str) -> None:
        actor = await self.actor()
        body = self.body()
        username = str(body.get("user") or actor.name)
        path = str(body.get("path") or "")
        self.reply(await self.manager.reset(actor, name, username, path))


class MeAPI(JSONHandler):
    @web.authenticated
    async def get(self) -> None:
        self.reply(await self.manager.mine(self.current_user["name"]))


class JoinAPI(JSONHandler):
    @web.authenticated
    async def post(self) -> None:
        workshop = await self.manager.join(self.current_user["name"], str(self.body().get("code")))
        self.reply({"joined": workshop.name})


class InvitationsAPI(JSONHandler):
    @web.authenticated
    async def get(self) -> None:
        self.reply(await self.manager.invitations(self.current_user["name"]))


class InvitationAPI(JSONHandler):
    """Only the invited user answers: the invitation looked up is always their own."""

    @web.authenticated
    async def post(self, name: str, answer: str) -> None:
        user = self.current_user["name"]
        if answer == "accept":
            workshop = await self.manager.accept(user, name)
            return self.reply({"joined": workshop.name})
        await self.manager.decline(user, name)
        self.reply({"declined": name})


class MaterialsAPI(JSONHandler):
    @web.authenticated
    async def get(self) -> None:
        user = self.current_user["name"]
        found = await asyncio.to_thread(
            materials.current, self.manager.settings, self.manager.store, user
        )
        self.reply({"user": user, "materials": [m.public(self.prefix) for m in found]})


class MaterialArchiveAPI(JSONHandler):
    CHUNK = 2**16

    @web.authenticated
    async def get(self, name: str, version: str) -> None:
        user, m = self.current_user["name"], self.manager
        await asyncio.to_thread(materials.allowed, m.store, user, name, int(version))
        path = await asyncio.to_thread(materials.archive_path, m.settings, name, int(version))
        self.set_header("Content-Type", "application/gzip")
        self.set_header("Cache-Control", "no-store")
        with path.open("rb") as stream:
            self.set_header("Content-Length", str(path.stat().st_size))
            while chunk := stream.read(self.CHUNK):
                self.write(chunk)
                await self.flush()
        self.finish()


class MaterialReportAPI(JSONHandler):
    @web.authenticated
    async def post(self, name: str) -> None:
        user, body = self.current_user["name"], self.body()
        self.reply(
            await asyncio.to_thread(materials.record_pull, self.manager.store, user, name, body)
        )


def api_routes(prefix: str) -> list[tuple[str, type]]:
    name = r"([a-z][a-z0-9-]{1,28}[a-z0-9])"
    return [
        (rf"{prefix}api/workshops", WorkshopsAPI),
        (rf"{prefix}api/workshops/{name}", WorkshopAPI),
        (rf"{prefix}api/workshops/{name}/participants", ParticipantsAPI),
        (rf"{prefix}api/workshops/{name}/participants/([^/]+)", ParticipantsAPI),
        (rf"{prefix}api/workshops/{name}/invitations/([^/]+)", InvitedAPI),
        (rf"{prefix}api/workshops/{name}/accounts", AccountsAPI),
        (rf"{prefix}api/workshops/{name}/template", TemplateAPI),
        (rf"{prefix}api/workshops/{name}/handout", HandoutAPI),
        (rf"{prefix}api/workshops/{name}/reset", ResetAPI),
        (rf"{prefix}api/me", MeAPI),
        (rf"{prefix}api/join", JoinAPI),
        (rf"{prefix}api/invitations", InvitationsAPI),
        (rf"{prefix}api/invitations/{name}/(accept|decline)", InvitationAPI),
        (rf"{prefix}api/materials", MaterialsAPI),
        (rf"{prefix}api/materials/{name}/([1-9][0-9]{{0,8}})\.tar\.gz", MaterialArchiveAPI),
        (rf"{prefix}api/materials/{name}/report", MaterialReportAPI),
    ]
