"""What instructors and participants may do, checked here once for page, API and CLI.

Instructors (group `instructors`) create workshops and act only on their own; admins
may act on any. Participants act only on themselves. Every refusal names the reason.
A workshop's profiles, quota and end time reach the spawner as the quota policy of its
group (`hub.workshops.quota`), written before the workshop itself changes.

Locally the service delivers into homes itself (`hub.workshops.delivery`). On Kubernetes
(`pull`) homes are volumes of the users' own pods: a hand-out only freezes and records
the version, and each workspace fetches it at its next start (`hub.workshops.pull`).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.policy.quota import Policy
from hub.profiles import load_profiles
from hub.settings import Settings
from hub.workshops import INSTRUCTORS_GROUP, delivery, sets
from hub.workshops.hubapi import HubAPI
from hub.workshops.model import (
    TemplateChoice,
    WorkshopError,
    account_names,
    accounts_csv,
    check_username,
    generate_join_code,
    generate_password,
    group_name,
    hash_password,
    parse_spec,
    parse_time,
    utcnow,
)
from hub.workshops.quota import GroupPolicies, check_profiles, group_policy
from hub.workshops.store import Store, Workshop
from hub.workshops.uploads import clone_git, extract_zip, save_files

PARALLEL = 4  # hand-outs at once (each is a short subprocess)
RETRY_AFTER = 60  # seconds before a failed hand-out is tried again


@dataclass(frozen=True)
class Actor:
    name: str
    admin: bool = False
    instructor: bool = False


class Manager:
    def __init__(self, settings: Settings, store: Store, hub: HubAPI, public_url: str) -> None:
        self.settings, self.store, self.hub = settings, store, hub
        self.public_url = public_url
        self.policies = GroupPolicies(settings)
        self._locks: dict[str, asyncio.Lock] = {}
        self._parallel = asyncio.Semaphore(PARALLEL)
        #: Kubernetes: workspaces pull their materials at start; nothing is pushed.
        self.pull = settings.mode == "kubernetes"

    # -- who is asking --------------------------------------------------------------
    async def actor(self, name: str) -> Actor:
        model = await self.hub.user(name) or {}
        groups = set(model.get("groups") or [])
        return Actor(name, bool(model.get("admin")), INSTRUCTORS_GROUP in groups)

    def owned(self, actor: Actor, name: str) -> Workshop:
        workshop = self.store.get(name)
        if workshop.owner != actor.name and not actor.admin:
            raise WorkshopError(
                f"workshop {name!r} belongs to {workshop.owner}; only they (or an admin) may "
                "manage it",
                403,
            )
        return workshop

    @staticmethod
    def require_instructor(actor: Actor) -> None:
        if not (actor.instructor or actor.admin):
            raise WorkshopError(
                f"{actor.name} is not an instructor: ask an admin to add you to the "
                f"{INSTRUCTORS_GROUP!r} group",
                403,
            )

    # -- workshops ------------------------------------------------------------------
    async def create(self, actor: Actor, document: dict[str, Any]) -> Workshop:
        self.require_instructor(actor)
        spec = parse_spec(document)
        if self.store.find(spec.name):
            raise WorkshopError(f"a workshop named {spec.name!r} already exists", 409)
        spec.profiles = check_profiles(spec.profiles, self.profile_slugs())
        group = group_name(spec.name)
        policy = group_policy(spec.profiles, spec.quota)
        await asyncio.to_thread(self.policies.write, group, policy)
        code = generate_join_code() if spec.join_code else None
        try:
            workshop = self.store.create(spec, actor.name, code)
        except BaseException:  # e.g. created at the same moment by someone else
            await asyncio.to_thread(self._restore_policy, spec.name)
            raise
        await self.hub.ensure_group(workshop.group)
        if spec.template.kind == "git":
            await self.set_template(actor, spec.name, spec.template)
        return self.store.get(spec.name)

    def listing(self, actor: Actor) -> list[Workshop]:
        return self.store.all(None if actor.admin else actor.name)

    async def update(self, actor: Actor, name: str, changes: dict[str, Any]) -> Workshop:
        workshop = self.owned(actor, name)
        allowed = {"title", "starts_at", "ends_at", "profiles", "quota"}
        unknown = set(changes) - allowed
        if unknown:
            raise WorkshopError(
                f"cannot change {', '.join(sorted(unknown))}; "
                f"changeable: {', '.join(sorted(allowed))}"
            )
        values = dict(changes)
        for key in ("starts_at", "ends_at"):
            if key in values:
                values[key] = parse_time(values[key])
        if values.get("ends_at", workshop.ends_at) <= values.get("starts_at", workshop.starts_at):
            raise WorkshopError("ends_at must be after starts_at")
        if "profiles" in values:
            profiles = values["profiles"]
            if not isinstance(profiles, list) or not all(isinstance(p, str) for p in profiles):
                raise WorkshopError('give the profiles as a list of slugs, e.g. ["small"]')
            values["profiles"] = check_profiles(profiles, self.profile_slugs())
        if "quota" in values and not isinstance(values["quota"], dict):
            raise WorkshopError('give the quota as an object, e.g. {"max_cpu": 2}')
        if {"profiles", "quota"} & set(values):
            policy = group_policy(
                values.get("profiles", workshop.profiles), values.get("quota", workshop.quota)
            )
            await asyncio.to_thread(self.policies.write, workshop.group, policy)
        updated = self.store.update(name, **values)
        if updated.ends_at <= utcnow():
            await self.stop_expired()
        return updated

    async def delete(self, actor: Actor, name: str) -> None:
        workshop = self.owned(actor, name)
        await asyncio.to_thread(self.policies.delete, workshop.group)
        self.store.delete(name)
        await self.hub.delete_group(workshop.group)
        await asyncio.to_thread(sets.remove, self.settings, name)

    # -- the quota policies of workshop groups -------------------------------------
    def profile_slugs(self) -> list[str]:
        """The platform's profiles, read again each time (admins may add some)."""
        return [profile.slug for profile in load_profiles(self.settings.profiles_dir)]

    def _restore_policy(self, name: str) -> None:
        """After a failed create: the policy of the workshop as stored, or none.

        Best effort: what fails here is put right by `sync_policies` at the next start.
        """
        try:
            workshop = self.store.find(name)
            if workshop is None:
                self.policies.delete(group_name(name))
            else:
                self.policies.write(workshop.group, self.policy_of(workshop))
        except Exception as exc:
            logging.getLogger("sdl.workshops").error("policy of %s not restored: %s", name, exc)

    @staticmethod
    def policy_of(workshop: Workshop) -> Policy:
        return group_policy(workshop.profiles, workshop.quota)

    async def sync_policies(self) -> None:
        """At start: every workshop's group policy as its workshop says, no stale ones."""
        wanted = {}
        for workshop in self.store.all():
            try:
                wanted[workshop.group] = self.policy_of(workshop)
            except WorkshopError as exc:  # stored before quotas were checked
                logging.getLogger("sdl.workshops").warning(
                    "workshop %s: quota not applied: %s", workshop.name, exc
                )
        await asyncio.to_thread(self.policies.sync, wanted)

    # -- participants ---------------------------------------------------------------
    async def add_participants(self, actor: Actor, name: str, users: list[str]) -> list[str]:
        workshop = self.owned(actor, name)
        names = [check_username(u) for u in users if u.strip()]
        for username in names:
            model = await self.hub.user(username)
            if (
                model
                and username != actor.name
                and (model.get("admin") or INSTRUCTORS_GROUP in (model.get("groups") or []))
            ):
                raise WorkshopError(
                    f"{username} is an admin or instructor and cannot be made a participant", 403
                )
        await self.hub.create_users([u for u in names if await self.hub.user(u) is None])
        await self.hub.add_to_group(workshop.group, names)
        added = self.store.add_participants(name, names, "name")
        self.kick()
        return added

    def participant(self, workshop: Workshop, username: str) -> None:
        if username not in self.store.participants(workshop.name):
            raise WorkshopError(f"{username} is not a participant of {workshop.name!r}", 404)

    async def remove_participant(self, actor: Actor, name: str, username: str) -> None:
        workshop = self.owned(actor, name)
        self.participant(workshop, username)
        await self.hub.remove_from_group(workshop.group, [username])
        self.store.remove_participant(name, username)

    async def create_accounts(self, actor: Actor, name: str, count: int) -> dict[str, Any]:
        """N new accounts; their passwords exist only in this answer (shown once)."""
        workshop = self.owned(actor, name)
        if not workshop.is_open():
            raise WorkshopError(f"workshop {name!r} has ended; change its end time first", 409)
        taken = self.store.account_names() | set(self.store.participants(name))
        candidates = account_names(name, count, taken)
        free = [u for u in candidates if await self.hub.user(u) is None]
        while len(free) < count:  # a hub user already has one of the names: take more
            taken |= set(candidates)
            candidates = account_names(name, count - len(free), taken)
            free += [u for u in candidates if await self.hub.user(u) is None]
        accounts = [(u, generate_password()) for u in free]
        hashed = await asyncio.to_thread(lambda: [(u, hash_password(p)) for u, p in accounts])
        self.store.add_accounts(name, hashed)
        await self.hub.create_users(free)
        await self.hub.add_to_group(workshop.group, free)
        self.store.add_participants(name, free, "account")
        login = f"{self.public_url}{self.settings.hub.base_url.rstrip('/')}/hub/login"
        return {
            "accounts": [{"username": u, "password": p} for u, p in accounts],
            "csv": accounts_csv(accounts, login, workshop.ends_at),
            "valid_until": workshop.ends_at.isoformat(),
        }

    async def join(self, username: str, code: str) -> Workshop:
        workshop = self.store.by_join_code(code or "")
        if workshop is None:
            raise WorkshopError("this join code is not valid; check it with your instructor", 404)
        now = utcnow()
        if not workshop.starts_at <= now < workshop.ends_at:
            raise WorkshopError(f"workshop {workshop.name!r} is not open for joining now", 409)
        await self.hub.add_to_group(workshop.group, [username])
        self.store.add_participants(workshop.name, [username], "code")
        self.kick()
        return workshop

    # -- templates and hand-out -----------------------------------------------------
    async def set_template(self, actor: Actor, name: str, choice: TemplateChoice) -> Workshop:
        self.owned(actor, name)
        note = ""
        if choice.kind == "git":
            new = sets.staging(self.settings, name)
            try:
                note = await asyncio.to_thread(clone_git, choice.url, choice.ref, new)
            except BaseException:
                sets.discard(new)
                raise
            sets.replace_source(self.settings, name, new)
        return self.store.update(
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
        self.owned(actor, name)
        new = sets.staging(self.settings, name)
        try:
            if zip_bytes is not None:
                count = await asyncio.to_thread(extract_zip, io.BytesIO(zip_bytes), new)
            else:
                count = await asyncio.to_thread(save_files, files, new)
        except BaseException:
            sets.discard(new)
            raise
        sets.replace_source(self.settings, name, new)
        note = f"{count} files uploaded"
        return self.store.update(
            name, template_kind="upload", template_url="", template_ref="", template_note=note
        )

    async def handout(self, actor: Actor, name: str) -> dict[str, Any]:
        """Freeze a version; deliver it to running servers now, to the others at spawn."""
        workshop = self.owned(actor, name)
        version, new = await asyncio.to_thread(sets.publish, self.settings, self.store, workshop)
        workshop = self.store.get(name)
        participants = list(self.store.participants(name))
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
        lock = self._locks.setdefault(username, asyncio.Lock())
        async with lock, self._parallel:
            received = self.store.deliveries(workshop.name).get(username)
            if received and received["version"] >= version and not received["error"]:
                return {**received["report"], "already": True}
            return await delivery.deliver(self.settings, self.store, workshop, username, version)

    def status(self, actor: Actor, name: str) -> dict[str, Any]:
        workshop = self.owned(actor, name)
        received = self.store.deliveries(name)
        rows = []
        for username, via in self.store.participants(name).items():
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
        return {"workshop": workshop.public(), "participants": rows}

    async def reset(self, actor: Actor, name: str, username: str, path: str) -> dict[str, Any]:
        workshop = self.store.get(name)
        if username != actor.name:
            workshop = self.owned(actor, name)
        self.participant(workshop, username)
        if self.pull:
            raise WorkshopError(
                "reset is not available on Kubernetes: the service cannot write into homes. "
                "The instructor's version of a file you changed is beside it "
                "(<name>.workshop-v<N>.<ext>); copy it over yours",
                409,
            )
        async with self._locks.setdefault(username, asyncio.Lock()):
            report = await delivery.reset_file(self.settings, self.store, workshop, username, path)
        if "error" in report:
            raise WorkshopError(f"reset refused: {report['error']}", 400)
        return report

    def mine(self, username: str) -> list[dict[str, Any]]:
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
        now = utcnow()
        jobs = []
        for workshop in [] if self.pull else self.store.all():
            if workshop.version == 0 or workshop.ends_at <= now:
                continue
            received = self.store.deliveries(workshop.name)
            for username in self.store.participants(workshop.name):
                got = received.get(username)
                if username in ready and (not got or got["version"] < workshop.version):
                    if got and got["error"] and _recent(got["delivered_at"], RETRY_AFTER):
                        continue  # it failed a moment ago: do not retry every tick
                    jobs.append(self._deliver(workshop, username, workshop.version))
        await asyncio.gather(*jobs)
        await self.stop_expired(ready)

    async def stop_expired(self, ready: set[str] | None = None) -> None:
        """Servers of pre-created accounts end with their workshop."""
        ready = await self.hub.ready_users() if ready is None else ready
        for username in self.store.expired_accounts(utcnow()):
            if username in ready:
                await self.hub.stop_server(username)

    async def run_forever(self, every: float = 3.0) -> None:
        self._wake = asyncio.Event()
        while True:
            try:
                await self.reconcile()
            except Exception as exc:  # keep reconciling; the log says why it failed
                logging.getLogger("sdl.workshops").exception("reconcile failed: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), every)
            self._wake.clear()


def _recent(iso: str, seconds: float) -> bool:
    return (utcnow() - datetime.fromisoformat(iso)).total_seconds() < seconds
