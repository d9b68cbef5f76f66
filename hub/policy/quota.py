"""Quota policies: per group, per-user overrides, and the effective policy of one user.

A `Policy` is a partial document: only the fields it sets count at its level. A field
set to `None` means "unlimited" (explicitly); a field left out means "inherit".

How the levels combine, per field (most specific wins):

1. the user's own policy, if it sets the field;
2. else the user's groups that set the field, combined to the **most generous** value
   (unlimited beats any number, larger numbers beat smaller ones, allowed profiles are
   the union, the latest expiry date wins, "no expiry" beats any date);
3. else the platform default (`quotas.defaults` in the settings; unset = unlimited).

Workshop groups (`ws-*`) are written by instructors, not admins, so they only narrow:
they count for a field only where no admin-set group of the user sets it, and then at
most up to the platform default. A workshop never raises what an admin allows.

Every effective value remembers where it came from, so `explain` can say
"max_cpu 8 for user sam (overrides 4 from group students)".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub.errors import SdlError, format_validation_error
from hub.policy.groups import WORKSHOP_GROUP_PREFIX as GROUP_PREFIX
from hub.profiles import Bytes, format_size


class PolicyError(SdlError):
    """A policy document is malformed; the message names the field and what is allowed."""


class Policy(BaseModel):
    """What one group or user may use. Unset fields inherit; `None` means unlimited."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    allowed_profiles: list[str] | None = Field(
        None, description="Profile slugs that may be started; unset/None: every profile."
    )
    max_cpu: float | None = Field(None, gt=0, description="Largest CPU limit of one server.")
    max_memory: Bytes | None = Field(None, description="Largest memory limit of one server.")
    max_gpus: int | None = Field(None, ge=0, description="Most GPUs one server may have.")
    max_servers: int | None = Field(
        None, ge=1, description="Servers (default + named) running at the same time."
    )
    home_storage: Bytes | None = Field(
        None, description="Home size; over it only the smallest profile starts (clean-up)."
    )
    dask_max_cores: float | None = Field(
        None, gt=0, description="Dask cores across all of the user's clusters."
    )
    dask_max_memory: Bytes | None = Field(
        None, description="Dask memory across all of the user's clusters."
    )
    dask_max_workers: int | None = Field(
        None, ge=0, description="Dask workers across all of the user's clusters."
    )
    dask_max_clusters: int | None = Field(
        None, ge=0, description="Dask clusters running at the same time."
    )
    budget_cpu_hours: float | None = Field(
        None, ge=0, description="CPU-hours (cpu_limit x hours) over the rolling window."
    )
    expires: date | None = Field(None, description="Last day of access (YYYY-MM-DD).")

    def set_fields(self) -> dict[str, Any]:
        """Only the fields this level sets (None = unlimited), in declaration order."""
        return {name: getattr(self, name) for name in FIELDS if name in self.model_fields_set}

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", include=set(self.model_fields_set))


FIELDS: tuple[str, ...] = tuple(Policy.model_fields)
SIZE_FIELDS = frozenset({"max_memory", "home_storage", "dask_max_memory"})


def parse_policy(document: Mapping[str, Any] | None, source: str = "policy") -> Policy:
    """A Policy from JSON/YAML, or `PolicyError` naming the field and what is wrong."""
    try:
        return Policy.model_validate(dict(document or {}))
    except ValidationError as exc:
        raise PolicyError(format_validation_error(source, exc)) from exc


def parse_assignments(pairs: Iterable[str]) -> tuple[dict[str, Any], list[str]]:
    """`key=value` words (CLI, console) → (fields to set, fields to unset).

    `unlimited` (or `none`) sets a field to unlimited; `inherit` (or an empty value)
    removes it so the level below applies. Lists are comma-separated.
    """
    values: dict[str, Any] = {}
    unset: list[str] = []
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key, raw = key.strip(), raw.strip()
        if not sep or key not in FIELDS:
            raise PolicyError(
                f"{pair!r}: expected FIELD=VALUE with FIELD one of {', '.join(FIELDS)}"
            )
        if raw.lower() in ("", "inherit"):
            unset.append(key)
        elif raw.lower() in ("unlimited", "none"):
            values[key] = None
        elif key == "allowed_profiles":
            values[key] = [slug.strip() for slug in raw.split(",") if slug.strip()]
        else:
            values[key] = raw
    return values, unset


def updated(policy: Policy | None, values: Mapping[str, Any], unset: Iterable[str]) -> Policy:
    """`policy` with `values` set and `unset` fields removed (validated again)."""
    document = policy.to_json() if policy else {}
    for key in unset:
        document.pop(key, None)
    document.update(values)
    return parse_policy(document)


# -- combining levels ---------------------------------------------------------------
@dataclass(frozen=True)
class Effective:
    """One field's effective value and the level it came from."""

    value: Any
    source: str  # "default", "group students", "groups a, b", "user sam"
    overrides: tuple[tuple[str, Any], ...] = ()  # (source, value) of what it replaced

    @property
    def unlimited(self) -> bool:
        return self.value is None


@dataclass(frozen=True)
class EffectivePolicy:
    user: str
    groups: tuple[str, ...]
    fields: Mapping[str, Effective]

    def __getitem__(self, name: str) -> Effective:
        return self.fields[name]

    def value(self, name: str) -> Any:
        return self.fields[name].value

    def explain(self) -> list[str]:
        return [explain_field(name, self.fields[name]) for name in FIELDS]

    def to_json(self) -> dict[str, Any]:
        return {
            name: {
                "value": _json_value(eff.value),
                "source": eff.source,
                "explanation": explain_field(name, eff),
            }
            for name, eff in self.fields.items()
        }


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _more_generous(name: str, a: Any, b: Any) -> bool:
    """True when value `a` gives more than `b` for field `name` (None: unlimited)."""
    if a is None:
        return b is not None
    if b is None:
        return False
    if name == "allowed_profiles":
        return set(a) > set(b)
    return a > b


def combine_groups(name: str, candidates: list[tuple[str, Any]]) -> Effective:
    """The most generous of several groups' values for one field."""
    if name == "allowed_profiles":
        if any(value is None for _, value in candidates):
            group = next(g for g, value in candidates if value is None)
            return Effective(None, f"group {group}")
        union = sorted({slug for _, value in candidates for slug in value})
        groups = [g for g, _ in candidates]
        label = "group " if len(groups) == 1 else "groups "
        return Effective(union, label + ", ".join(groups))
    best_group, best = candidates[0]
    for group, value in candidates[1:]:
        if _more_generous(name, value, best):
            best_group, best = group, value
    return Effective(best, f"group {best_group}")


def is_workshop_group(group: str) -> bool:
    """Workshop groups' policies come from instructors: they may narrow, never widen."""
    return group.startswith(GROUP_PREFIX)


def narrower(name: str, a: Any, b: Any) -> Any:
    """The stricter of two values of field `name` (None: unlimited / every profile)."""
    if a is None or b is None:
        return b if a is None else a
    if name == "allowed_profiles":
        return sorted(set(a) & set(b))
    return min(a, b)


def _group_candidates(
    name: str, groups: Iterable[str], group_policies: Mapping[str, Policy]
) -> list[tuple[str, Any]]:
    return [
        (group, group_policies[group].set_fields()[name])
        for group in groups
        if group in group_policies and name in group_policies[group].model_fields_set
    ]


def group_level(
    name: str, member_of: tuple[str, ...], group_policies: Mapping[str, Policy], default: Any
) -> Effective:
    """One field below the user's own policy: admin-set groups, else the default narrowed
    by the user's workshops (the admin's value is the ceiling of an instructor's)."""
    admin = [g for g in member_of if not is_workshop_group(g)]
    candidates = _group_candidates(name, admin, group_policies)
    if candidates:
        return combine_groups(name, candidates)
    ceiling = Effective(default, "default")
    workshops = _group_candidates(
        name, [g for g in member_of if is_workshop_group(g)], group_policies
    )
    if not workshops:
        return ceiling
    asked = combine_groups(name, workshops)
    value = narrower(name, asked.value, ceiling.value)
    return asked if value == asked.value else Effective(value, ceiling.source)


def effective_policy(
    user: str,
    groups: Iterable[str],
    group_policies: Mapping[str, Policy],
    user_policy: Policy | None,
    defaults: Policy,
) -> EffectivePolicy:
    """The policy that applies to `user`, field by field, with where each value came from."""
    member_of = tuple(sorted(set(groups)))
    own = user_policy.set_fields() if user_policy else {}
    fields: dict[str, Effective] = {}
    for name in FIELDS:
        below = group_level(name, member_of, group_policies, getattr(defaults, name))
        if name in own:
            fields[name] = Effective(own[name], f"user {user}", ((below.source, below.value),))
        else:
            fields[name] = below
    return EffectivePolicy(user, member_of, fields)


def format_value(name: str, value: Any) -> str:
    if value is None:
        return "no expiry" if name == "expires" else "unlimited"
    if name in SIZE_FIELDS:
        return format_size(int(value))
    if name == "allowed_profiles":
        return ", ".join(value) or "(none)"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def describe_source(source: str) -> str:
    return "platform default" if source == "default" else f"from {source}"


def explain_field(name: str, eff: Effective) -> str:
    """One line: `max_cpu 8 for user sam (overrides 4 from group students)`."""
    shown = format_value(name, eff.value)
    if eff.source.startswith("user "):
        replaced = "; ".join(
            f"{format_value(name, value)} {describe_source(source)}"
            for source, value in eff.overrides
        )
        return f"{name} {shown} for {eff.source} (overrides {replaced})"
    return f"{name} {shown} ({describe_source(eff.source)})"
