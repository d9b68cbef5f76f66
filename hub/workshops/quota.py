"""A workshop's profiles, quota and end time, enforced as the quota policy of its group.

Each workshop writes the policy of its hub group (`ws-<name>`) in the quota database
(`hub.quotas`), which the hub checks at every spawn:

- `allowed_profiles`: the workshop's profiles (left out when it names none, so the
  group does not restrict them);
- the fields of the workshop's `quota` (`max_cpu`, `max_memory`, `budget_cpu_hours`, …).

The end time is deliberately not written as `expires`: group policies seldom set it, so
it would lock a researcher who once joined a workshop out of the lab after the event.
Pre-created workshop accounts end at the exact end time anyway (`hub.workshops.auth`).

The workshop owns that policy: it is written when the workshop is created, again when
its profiles, quota or end time change, and deleted with the workshop; an admin's edit
of a `ws-*` group policy is overwritten by the next change (and at the service's start).
Quotas are enforced only while `quotas.enabled` is on (the default).

How it combines with a participant's other levels (`hub.policy.quota`), field by
field: the user's own policy wins; else the most generous value among their admin-set
groups that set the field; else the workshop's value, **capped by the platform
default**. An instructor narrows, never widens:

- a participant keeps what another group of theirs allows: if `students` allows
  `medium`, a student in a workshop limited to `small` may still start `medium`, and a
  workshop that offers `large` gives it to nobody whose admin groups do not.
- fields the other groups do not set come from the workshop, at most up to the
  default: a workshop asking `max_cpu: 512` on a platform whose default is 2 gets 2;
  a student whose group sets only `max_cpu` is held to the workshop's profiles.

An instructor who needs more than the admins allow must ask an admin to set it on the
participants' groups or on the users themselves.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from hub.db.embedded import DatabaseError
from hub.errors import InvalidRequest, Unavailable
from hub.policy.quota import FIELDS, Policy, PolicyError, parse_policy
from hub.quotas.db import settings_store
from hub.quotas.store import QuotaStore
from hub.settings import Settings
from hub.workshops import GROUP_PREFIX

log = logging.getLogger("sdl.workshops")

WRITER = "workshops"  # `updated_by` of the policies written here
OWN_FIELDS = ("allowed_profiles", "expires")  # set from `profiles` and `ends_at`
QUOTA_FIELDS = tuple(f for f in FIELDS if f not in OWN_FIELDS)


def check_profiles(requested: Iterable[str], known: Iterable[str]) -> list[str]:
    """`requested` (duplicates dropped) or a 400 naming each unknown slug."""
    slugs = list(dict.fromkeys(requested))
    available = sorted(set(known))
    unknown = [slug for slug in slugs if slug not in available]
    if unknown:
        raise InvalidRequest(
            f"profiles: {', '.join(repr(s) for s in unknown)} "
            f"{'is not a profile' if len(unknown) == 1 else 'are not profiles'} of this "
            f"platform; choose from {', '.join(available)}"
        )
    return slugs


def group_policy(profiles: list[str], quota: Mapping[str, Any]) -> Policy:
    """The policy of a workshop's group, or a 400 naming the wrong quota field."""
    taken = [key for key in quota if key in OWN_FIELDS]
    if taken:
        raise InvalidRequest(
            f"quota: {', '.join(taken)} cannot be set here; a workshop's allowed profiles "
            "are its `profiles`, and its accounts end at its `ends_at`"
        )
    unknown = [key for key in quota if key not in QUOTA_FIELDS]
    if unknown:
        raise InvalidRequest(
            f"quota: unknown field {', '.join(map(repr, unknown))}; use {', '.join(QUOTA_FIELDS)}"
        )
    document: dict[str, Any] = dict(quota)
    if profiles:
        document["allowed_profiles"] = list(profiles)
    try:
        return parse_policy(document, "quota")
    except PolicyError as exc:
        raise InvalidRequest(str(exc)) from None


class GroupPolicies:
    """Writes and deletes workshop group policies in the platform's quota database.

    Blocking (SQLAlchemy): the manager calls these in a thread. The store is the one
    `hub.quotas.db.settings_store` opens for the hub's own settings.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def write(self, group: str, policy: Policy) -> None:
        self._call(lambda store: store.set_policy("group", group, policy, by=WRITER))

    def delete(self, group: str) -> None:
        self._call(lambda store: store.delete_policy("group", group))

    def sync(self, wanted: Mapping[str, Policy]) -> None:
        """Make the database hold exactly `wanted` among the policies written here.

        Run at the service's start: workshops created before their policies existed
        get one, and policies left behind by a failed delete go.
        """

        def apply(store: QuotaStore) -> None:
            for group, policy in wanted.items():
                store.set_policy("group", group, policy, by=WRITER)
            for (_, group), row in store.policies("group").items():
                ours = group.startswith(GROUP_PREFIX) and row.updated_by == WRITER
                if ours and group not in wanted:
                    store.delete_policy("group", group)

        self._call(apply)

    def _call(self, action: Callable[[QuotaStore], Any]) -> None:
        try:
            action(settings_store(self.settings))
        except (sa.exc.SQLAlchemyError, DatabaseError) as exc:
            log.error("quota database: %s", exc)
            raise Unavailable(
                "the quota database is not reachable, so the workshop's profiles and quota "
                "cannot be applied; nothing was changed, try again in a minute"
            ) from None
