"""Copy notebook templates into a home without ever overwriting what the user changed.

A manifest in the home remembers the hash of every file as it was handed out. On the
next seeding a file is updated only if the user left it as handed out; a file the user
changed is kept, and so is the user's choice to delete one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST = ".sdl-templates.json"


@dataclass
class SeedReport:
    copied: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    kept_user_changes: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def template_files(source: Path) -> list[Path]:
    """Files to hand out: everything but hidden files and notebook checkpoints."""
    return sorted(
        p.relative_to(source)
        for p in source.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(source).parts)
    )


def seed_templates(source: Path, target: Path) -> SeedReport:
    """Hand out `source` into `target`. Must run as the home's owner (never as root)."""
    report = SeedReport()
    if not source.is_dir():
        return report
    target.mkdir(parents=True, exist_ok=True)
    manifest_path = target / MANIFEST
    try:
        handed_out: dict[str, str] = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        handed_out = {}
    for relative in template_files(source):
        key = relative.as_posix()
        src, dest = source / relative, target / relative
        new_hash = file_hash(src)
        if dest.is_symlink() or (dest.exists() and not dest.is_file()):
            report.kept_user_changes.append(key)
            continue
        if not dest.exists():
            if key in handed_out:  # the user deleted it: respect that
                report.kept_user_changes.append(key)
                continue
            _copy(src, dest)
            report.copied.append(key)
        elif file_hash(dest) == new_hash:
            report.unchanged.append(key)
        elif handed_out.get(key) == file_hash(dest):  # untouched by the user: update
            _copy(src, dest)
            report.updated.append(key)
        else:
            report.kept_user_changes.append(key)
            continue
        handed_out[key] = new_hash
    tmp = manifest_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(handed_out, indent=1, sort_keys=True))
    os.replace(tmp, manifest_path)
    return report


def _copy(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.sdl-tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dest)
