"""What instructors and participants may do, checked here once for page, API and CLI.

Workshops, participants and accounts here; templates and hand-outs in
`hub.workshops.handouts`; invitations of existing users in `hub.workshops.invitations`;
who is asking and the shared checks in `hub.workshops.actors`.
A workshop's profiles, quota and end time reach the spawner as the quota policy of its
group (`hub.workshops.quota`), written before the workshop itself changes.
"""

from __future__ import annotations

import logging
from typing import Any

from hub.errors import Conflict, Forbidden, InvalidRequest, NotFound, RequestError
from hub.policy.quota import Policy
from hub.profiles import load_profiles
from hub.workshops import INSTRUCTORS_GROUP, sets
from hub.workshops.actors import Actor
from hub.workshops.invitations import Invitations
from hub.workshops.model import (
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
from hub.workshops.quota import check_profiles, group_policy
from hub.workshops.tables import Workshop

log = logging.getLogger("sdl.workshops")
CHANGEABLE = frozenset({"title", "starts_at", "ends_at", "profiles", "quota"})


class Manager(Invitations):
    # -- workshops ------------------------------------------------------------------
    async def create(self, actor: Actor, document: dict[str, Any]) -> Workshop:
        self.require_instructor(actor)
        spec = parse_spec(document)
        if await self.db(self.store.find, spec.name):
            raise Conflict(f"a workshop named {spec.name!r} already exists")
        spec.profiles = check_profiles(spec.profiles, await self.profile_slugs())
        group = group_name(spec.name)
        policy = group_policy(spec.profiles, spec.quota)
        await self.db(self.policies.write, group, policy)
        code = generate_join_code() if spec.join_code else None
        try:
            workshop = await self.db(self.store.create, spec, actor.name, code)
        except BaseException:  # e.g. created at the same moment by someone else
            await self.db(self._restore_policy, spec.name)
            raise
        await self.hub.ensure_group(workshop.group)
        if spec.template.kind == "git":
            await self.set_template(actor, spec.name, spec.template)
        return await self.db(self.store.get, spec.name)

    async def listing(self, actor: Actor) -> list[Workshop]:
        return await self.db(self.store.all, None if actor.admin else actor.name)

    async def update(self, actor: Actor, name: str, changes: dict[str, Any]) -> Workshop:
        workshop = await self.owned(actor, name)
        unknown = set(changes) - CHANGEABLE
        if unknown:
            raise InvalidRequest(
                f"cannot change {', '.join(sorted(unknown))}; "
                f"changeable: {', '.join(sorted(CHANGEABLE))}"
            )
        values = dict(changes)
        for key in ("starts_at", "ends_at"):
            if key in values:
                values[key] = parse_time(values[key])
        if values.get("ends_at", workshop.ends_at) <= values.get("starts_at", workshop.starts_at):
            raise InvalidRequest("ends_at must be after starts_at")
        if "profiles" in values:
            profiles = values["profiles"]
            if not isinstance(profiles, list) or not all(isinstance(p, str) for p in profiles):
                raise InvalidRequest('give the profiles as a list of slugs, e.g. ["small"]')
            values["profiles"] = check_profiles(profiles, await self.profile_slugs())
        if "quota" in values and not isinstance(values["quota"], dict):
            raise InvalidRequest('give the quota as an object, e.g. {"max_cpu": 2}')
        if {"profiles", "quota"} & set(values):
            policy = group_policy(
                values.get("profiles", workshop.profiles), values.get("quota", workshop.quota)
            )
            await self.db(self.policies.write, workshop.group, policy)
        updated = await self.db(self.store.update, name, **values)
        if updated.ends_at <= utcnow():
            await self.stop_expired()
        return updated

    async def delete(self, actor: Actor, name: str) -> None:
        workshop = await self.owned(actor, name)
        await self.db(self.policies.delete, workshop.group)
        await self.db(self.store.delete, name)
        await self.hub.delete_group(workshop.group)
        await self.db(sets.remove, self.settings, name)

    # -- the quota policies of workshop groups -------------------------------------
    async def profile_slugs(self) -> list[str]:
        """The platform's profiles, read again each time (admins may add some)."""
        profiles = await self.db(load_profiles, self.settings.profiles_dir)
        return [profile.slug for profile in profiles]

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
            log.error("policy of %s not restored: %s", name, exc)

    @staticmethod
    def policy_of(workshop: Workshop) -> Policy:
        return group_policy(workshop.profiles, workshop.quota)

    async def sync_policies(self) -> None:
        """At start: every workshop's group policy as its workshop says, no stale ones."""
        wanted = {}
        for workshop in await self.db(self.store.all):
            try:
                wanted[workshop.group] = self.policy_of(workshop)
            except RequestError as exc:  # stored before quotas were checked
                log.warning("workshop %s: quota not applied: %s", workshop.name, exc)
        await self.db(self.policies.sync, wanted)

    # -- participants ---------------------------------------------------------------
    async def add_participants(
        self, actor: Actor, name: str, users: list[str]
    ) -> dict[str, list[str]]:
        """Adds new and own users; existing hub users an instructor names are invited.

        {"added": [...], "invited": [...]}: an admin's names are all added (see
        `hub.workshops.invitations` for who needs to consent).
        """
        workshop = await self.owned(actor, name)
        names = list(dict.fromkeys(check_username(u) for u in users if u.strip()))
        existing: list[str] = []
        for username in names:
            model = await self.hub.user(username)
            if model is None:
                continue
            existing.append(username)
            if username != actor.name and (
                model.get("admin") or INSTRUCTORS_GROUP in (model.get("groups") or [])
            ):
                raise Forbidden(
                    f"{username} is an admin or instructor and cannot be made a participant"
                )
        created = await self.hub.create_users([u for u in names if u not in existing])
        # a name someone else created since we looked is an existing user's too
        existing += [u for u in names if u not in existing and u not in created]
        invite = set(await self.needs_consent(actor, workshop, existing))
        direct = [u for u in names if u not in invite]
        await self.hub.add_to_group(workshop.group, direct)
        added = await self.db(self.store.add_participants, name, direct, "name")
        invited = await self.invite(actor, workshop, [u for u in names if u in invite])
        self.kick()
        return {"added": added, "invited": invited}

    async def remove_participant(self, actor: Actor, name: str, username: str) -> None:
        workshop = await self.owned(actor, name)
        await self.participant(workshop, username)
        await self.hub.remove_from_group(workshop.group, [username])
        await self.db(self.store.remove_participant, name, username)

    async def create_accounts(self, actor: Actor, name: str, count: int) -> dict[str, Any]:
        """N new accounts; their passwords exist only in this answer (shown once)."""
        workshop = await self.owned(actor, name)
        if not workshop.is_open():
            raise Conflict(f"workshop {name!r} has ended; change its end time first")
        taken = await self.db(self._names_taken, name)
        candidates = account_names(name, count, taken)
        free = [u for u in candidates if await self.hub.user(u) is None]
        while len(free) < count:  # a hub user already has one of the names: take more
            taken |= set(candidates)
            candidates = account_names(name, count - len(free), taken)
            free += [u for u in candidates if await self.hub.user(u) is None]
        accounts = [(u, generate_password()) for u in free]
        hashed = await self.db(lambda: [(u, hash_password(p)) for u, p in accounts])
        await self.db(self.store.add_accounts, name, hashed)
        await self.hub.create_users(free)
        await self.hub.add_to_group(workshop.group, free)
        await self.db(self.store.add_participants, name, free, "account")
        login = f"{self.public_url}{self.settings.hub.base_url.rstrip('/')}/hub/login"
        return {
            "accounts": [{"username": u, "password": p} for u, p in accounts],
            "csv": accounts_csv(accounts, login, workshop.ends_at),
            "valid_until": workshop.ends_at.isoformat(),
        }

    def _names_taken(self, name: str) -> set[str]:
        return self.store.account_names() | set(self.store.participants(name))

    async def join(self, username: str, code: str) -> Workshop:
        workshop = await self.db(self.store.by_join_code, code or "")
        if workshop is None:
            raise NotFound("this join code is not valid; check it with your instructor")
        now = utcnow()
        if not workshop.starts_at <= now < workshop.ends_at:
            raise Conflict(f"workshop {workshop.name!r} is not open for joining now")
        await self.hub.add_to_group(workshop.group, [username])
        await self.db(self.store.add_participants, workshop.name, [username], "code")
        self.kick()
        return workshop
