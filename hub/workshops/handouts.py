"""Templates, hand-outs and what each participant received; the background reconciler.

Locally the service delivers into homes itself (`hub.workshops.delivery`). On Kubernetes
(`pull`) homes are volumes of the users' own pods: a hand-out only freezes and records
the version, and each workspace fetches it at its next start (`hub.workshops.pull`).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from datetime import datetime
from typing import Any

from hub.errors import Conflict, InvalidRequest
from hub.workshops import delivery, sets
from hub.workshops.actors import Actor, ManagerBase
from hub.workshops.model import TemplateChoice, utcnow
from hub.workshops.tables import Workshop
from hub.workshops.uploads import clone_git, extract_zip, save_files

RETRY_AFTER = 60  # seconds before a failed hand-out is tried again
log = logging.getLogger("sdl.workshops")


class Handouts(ManagerBase):
    # -- templates and hand-out -----------------------------------------------------
    async def set_template(self, actor: Actor, name: str, choice: TemplateChoice) -> Workshop:
        await self.owned(actor, name)
        note = ""
        if choice.kind == "git":
            new = sets.staging(self.settings, name)
            try:
                note = await self.db(clone_git, choice.url, choice.ref, new)
            except BaseException:
                sets.discard(new)
                raise
            await self.db(sets.replace_source, self.settings, name, new)
        return await self.db(
            self.store.update,
            name,
            template_kind=choice.kind,
            template_url=choice.url,
            template_ref=choice.ref,
            template_note=note,
        )

    async def upload(
        self, actor: Actor, name: str, zip_bytes: bytes | None, files: list[tuple[str, bytes]]
    ) -> Workshop:
        """A zip or a folder's files become the workshop's template set."""
        await self.owned(actor, name)
        new = sets.staging(self.settings, name)
        try:
            if zip_bytes is not None:
                count = await self.db(extract_zip, io.BytesIO(zip_bytes), new)
            else:
                count = await self.db(save_files, files, new)
        except BaseException:
            sets.discard(new)
            raise
        await self.db(sets.replace_source, self.settings, name, new)
        note = f"{count} files uploaded"
        return await self.db(
            self.store.update,
            name,
            template_kind="upload",
            template_url="",
            template_ref="",
            template_note=note,
        )

    async def handout(self, actor: Actor, name: str) -> dict[str, Any]:
        """Freeze a version; deliver it to running servers now, to the others at spawn."""
        workshop = await self.owned(actor, name)
        version, new = await self.db(sets.publish, self.settings, self.store, workshop)
        workshop = await self.db(self.store.get, name)
        participants = list(await self.db(self.store.participants, name))
        if self.pull:  # recorded; every workspace fetches it when it next starts
            return {
                "version": version,
                "new_version": new,
                "delivered": {},
                "pending": participants,
                "at_next_start": len(participants),
            }
        ready = await self.hub.ready_users()
        now = [u for u in participants if u in ready]
        reports = await asyncio.gather(*(self._deliver(workshop, u, version) for u in now))
        return {
            "version": version,
            "new_version": new,
            "delivered": dict(zip(now, reports, strict=True)),
            "pending": [u for u in participants if u not in ready],
        }

    async def _deliver(self, workshop: Workshop, username: str, version: int) -> dict[str, Any]:
        async with self.lock(username), self._parallel:
            received = (await self.db(self.store.deliveries, workshop.name)).get(username)
            if received and received["version"] >= version and not received["error"]:
                return {**received["report"], "already": True}
            return await delivery.deliver(self.settings, self.store, workshop, username, version)

    async def status(self, actor: Actor, name: str) -> dict[str, Any]:
        workshop = await self.owned(actor, name)
        received = await self.db(self.store.deliveries, name)
        rows = []
        for username, via in (await self.db(self.store.participants, name)).items():
            got = received.get(username) or {}
            report = got.get("report") or {}
            rows.append(
                {
                    "username": username,
                    "via": via,
                    "version": got.get("version", 0),
                    "delivered_at": got.get("delivered_at"),
                    "error": got.get("error", ""),
                    "conflicts": report.get("conflicts", {}),
                }
            )
        invited = await self.db(self.store.invited, name)
        return {"workshop": workshop.public(), "participants": rows, "invited": invited}

    async def reset(self, actor: Actor, name: str, username: str, path: str) -> dict[str, Any]:
        workshop = await self.db(self.store.get, name)
        if username != actor.name:
            workshop = await self.owned(actor, name)
        await self.participant(workshop, username)
        if self.pull:
            raise Conflict(
                "reset is not available on Kubernetes: the service cannot write into homes. "
                "The instructor's version of a file you changed is beside it "
                "(<name>.workshop-v<N>.<ext>); copy it over yours"
            )
        async with self.lock(username):
            report = await delivery.reset_file(self.settings, self.store, workshop, username, path)
        if "error" in report:
            raise InvalidRequest(f"reset refused: {report['error']}")
        return report

    async def mine(self, username: str) -> list[dict[str, Any]]:
        return await self.db(self._mine, username)

    def _mine(self, username: str) -> list[dict[str, Any]]:
        out = []
        for workshop in self.store.workshops_of(username):
            got = self.store.deliveries(workshop.name).get(username) or {}
            out.append(
                {
                    "workshop": workshop.public(),
                    "version": got.get("version", 0),
                    "conflicts": (got.get("report") or {}).get("conflicts", {}),
                    "error": got.get("error", ""),
                }
            )
        return out

    # -- background: deliveries at spawn, expiry ------------------------------------
    _wake: asyncio.Event | None = None

    def kick(self) -> None:
        """Run the reconciler soon (after a join or new participants)."""
        if self._wake is not None:
            self._wake.set()

    async def reconcile(self) -> None:
        """Hand the current version to participants whose server runs without it."""
        ready = await self.hub.ready_users()
        jobs = [
            self._deliver(workshop, username, workshop.version)
            for workshop, username in await self.db(self._behind, ready)
        ]
        await asyncio.gather(*jobs)
        await self.stop_expired(ready)

    def _behind(self, ready: set[str]) -> list[tuple[Workshop, str]]:
        """(workshop, participant) pairs whose running server lacks the current version."""
        now = utcnow()
        behind = []
        for workshop in [] if self.pull else self.store.all():
            if workshop.version == 0 or workshop.ends_at <= now:
                continue
            received = self.store.deliveries(workshop.name)
            for username in self.store.participants(workshop.name):
                got = received.get(username)
                if username in ready and (not got or got["version"] < workshop.version):
                    if got and got["error"] and _recent(got["delivered_at"], RETRY_AFTER):
                        continue  # it failed a moment ago: do not retry every tick
                    behind.append((workshop, username))
        return behind

    async def stop_expired(self, ready: set[str] | None = None) -> None:
        """Servers of pre-created accounts end with their workshop."""
        ready = await self.hub.ready_users() if ready is None else ready
        for username in await self.db(self.store.expired_accounts, utcnow()):
            if username in ready:
                await self.hub.stop_server(username)

    async def run_forever(self, every: float = 3.0) -> None:
        self._wake = asyncio.Event()
        while True:
            try:
                await self.reconcile()
            except Exception as exc:  # keep reconciling; the log says why it failed
                log.exception("reconcile failed: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), every)
            self._wake.clear()


def _recent(iso: str, seconds: float) -> bool:
    return (utcnow() - datetime.fromisoformat(iso)).total_seconds() < seconds
