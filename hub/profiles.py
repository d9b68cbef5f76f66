"""Server profiles: `spawner_profiles/*.yaml` → validated `Profile` objects.

A profile says how big a workspace is and who may have it. The same objects feed the
local spawner, KubeSpawner's `profile_list` and the spawn-time policy check.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from hub.errors import SettingsError, format_validation_error
from hub.yamlio import read_yaml_mapping

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(|k|K|M|G|T|Ki|Mi|Gi|Ti)\s*$")
_FACTORS = {
    "": 1,
    "k": 10**3,
    "K": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
}
_SLUG = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"


def parse_size(value: Any) -> int:
    """Bytes from a Kubernetes-style quantity: 8Gi (binary), 8G (decimal) or an integer."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a size; use e.g. '32G' or '32Gi'")
    if isinstance(value, int):
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a size; use e.g. '32G' or '32Gi'")
    number, unit = match.groups()
    return int(float(number) * _FACTORS[unit])


def format_size(size: int) -> str:
    """The shortest exact binary form: 8589934592 → '8Gi'."""
    for unit in ("Ti", "Gi", "Mi", "Ki"):
        if size % _FACTORS[unit] == 0:
            return f"{size // _FACTORS[unit]}{unit}"
    return str(size)


Bytes = Annotated[int, BeforeValidator(parse_size), Field(ge=0)]


class Toleration(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    key: str
    operator: str = Field("Equal", pattern="^(Equal|Exists)$")
    value: str | None = None
    effect: str | None = Field(None, pattern="^(NoSchedule|PreferNoSchedule|NoExecute)$")


class Profile(BaseModel):
    """One size of workspace. Guarantees are reserved; limits are the ceiling."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    slug: str = Field(pattern=_SLUG, description="Short name used in spawn requests.")
    display_name: str = Field(min_length=1)
    description: str = ""
    cpu_guarantee: float = Field(gt=0, le=512)
    cpu_limit: float = Field(gt=0, le=512)
    mem_guarantee: Bytes
    mem_limit: Bytes
    gpus: int = Field(0, ge=0, le=16)
    image: str | None = Field(None, description="Container image on Kubernetes; default image.")
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[Toleration] = Field(default_factory=list)
    groups: list[str] = Field(
        default_factory=list, description="Groups that may use this profile; empty: everyone."
    )
    default: bool = False

    @model_validator(mode="after")
    def _guarantee_within_limit(self) -> Profile:
        if self.cpu_guarantee > self.cpu_limit:
            raise ValueError(
                f"cpu_guarantee {self.cpu_guarantee} exceeds cpu_limit {self.cpu_limit}"
            )
        if self.mem_guarantee > self.mem_limit:
            raise ValueError(
                f"mem_guarantee {format_size(self.mem_guarantee)} exceeds "
                f"mem_limit {format_size(self.mem_limit)}"
            )
        return self

    def allows(self, groups: Iterable[str]) -> bool:
        return not self.groups or bool(set(self.groups) & set(groups))

    def summary(self) -> str:
        gpu = f", {self.gpus} GPU" if self.gpus else ""
        return f"{self.cpu_limit:g} CPU, {format_size(self.mem_limit)} RAM{gpu}"


def load_profile(path: Path) -> Profile:
    try:
        return Profile.model_validate(read_yaml_mapping(path))
    except ValidationError as exc:
        raise SettingsError(format_validation_error(str(path), exc)) from exc


def load_profiles(directory: Path) -> list[Profile]:
    """Every `*.yaml` in `directory`, sorted by CPU limit; at least one, slugs unique."""
    if not directory.is_dir():
        raise SettingsError(f"{directory}: profiles directory does not exist (profiles_dir)")
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    if not files:
        raise SettingsError(f"{directory}: no profile files (*.yaml) found (profiles_dir)")
    profiles: list[Profile] = []
    seen: dict[str, Path] = {}
    for path in files:
        profile = load_profile(path)
        if profile.slug in seen:
            raise SettingsError(
                f"{path}: slug: {profile.slug!r} is already used by {seen[profile.slug]}"
            )
        seen[profile.slug] = path
        profiles.append(profile)
    defaults = [p.slug for p in profiles if p.default]
    if len(defaults) > 1:
        raise SettingsError(
            f"{directory}: default: only one profile may be default, got {defaults}"
        )
    return sorted(profiles, key=lambda p: (p.cpu_limit, p.mem_limit, p.slug))
