"""Template sets on disk: the current source of a workshop and its published versions.

    <data_dir>/workshops/<name>/source/   what the instructor uploaded or cloned (0700)
    <data_dir>/workshops/<name>/v<N>/     frozen version N, readable by participants

A version is frozen when handed out and only made when the source changed since the
last one, so handing out twice is safe and participants' manifests stay meaningful.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from hub.errors import Conflict
from hub.settings import Settings
from hub.templates_seed import file_hash, template_files
from hub.workshops.store import Store
from hub.workshops.tables import Workshop
from hub.workshops.uploads import clone_git


def root(settings: Settings) -> Path:
    return settings.data_dir / "workshops"


def workshop_dir(settings: Settings, name: str) -> Path:
    """The workshop's folder: traversable (0711), never listable by participants."""
    folder = root(settings) / name
    for path in (root(settings), folder):
        path.mkdir(exist_ok=True)
        path.chmod(0o711)
    return folder


def source_dir(settings: Settings, name: str) -> Path:
    return workshop_dir(settings, name) / "source"


def version_dir(settings: Settings, name: str, version: int) -> Path:
    return root(settings) / name / f"v{version}"


def archive_file(settings: Settings, name: str, version: int) -> Path:
    """Version N as one tar.gz for workspaces that pull (`hub.workshops.materials`)."""
    return root(settings) / name / f".v{version}.tar.gz"


def staging(settings: Settings, name: str) -> Path:
    """A fresh, not yet existing path to build a new source in (same file system)."""
    return Path(tempfile.mkdtemp(prefix=".staging-", dir=workshop_dir(settings, name))) / "t"


def replace_source(settings: Settings, name: str, new: Path) -> None:
    """Make `new` the workshop's source (the old one goes)."""
    target = source_dir(settings, name)
    old = target.with_name(".source-old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    new.rename(target)
    target.chmod(0o700)
    shutil.rmtree(new.parent, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)


def discard(new: Path) -> None:
    shutil.rmtree(new.parent, ignore_errors=True)


def current_source(settings: Settings, workshop: Workshop) -> Path:
    """Where this workshop's notebooks are right now (git sets are fetched again)."""
    if workshop.template_kind == "builtin":
        published = settings.data_dir / "templates"  # `sdl up` copies them there
        return published if published.is_dir() else settings.templates.source
    if workshop.template_kind == "git":
        new = staging(settings, workshop.name)
        try:
            clone_git(workshop.template_url, workshop.template_ref, new)
        except BaseException:
            discard(new)
            raise
        replace_source(settings, workshop.name, new)
    source = source_dir(settings, workshop.name)
    if not source.is_dir():
        raise Conflict(
            f"workshop {workshop.name!r} has no template set yet: upload a folder or zip"
        )
    return source


def tree_digest(source: Path) -> tuple[str, int]:
    """One hash over names and contents of the files that would be handed out."""
    digest = hashlib.sha256()
    files = template_files(source)
    for relative in files:
        digest.update(relative.as_posix().encode() + b"\0" + file_hash(source / relative).encode())
    return digest.hexdigest(), len(files)


def publish(settings: Settings, store: Store, workshop: Workshop) -> tuple[int, bool]:
    """The version to hand out: the last one if the source is unchanged, else a new one."""
    source = current_source(settings, workshop)
    digest, count = tree_digest(source)
    if count == 0:
        raise Conflict(f"the template set of {workshop.name!r} has no files")
    latest = store.latest_version(workshop.name)
    if latest and latest[1] == digest and version_dir(settings, workshop.name, latest[0]).is_dir():
        return latest[0], False
    version = (latest[0] if latest else 0) + 1
    target = version_dir(settings, workshop.name, version)
    building = target.with_name(f".v{version}-building")
    shutil.rmtree(building, ignore_errors=True)
    for relative in template_files(source):
        dest = building / relative
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / relative, dest)
    for path in [building, *building.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    shutil.rmtree(target, ignore_errors=True)
    archive_file(settings, workshop.name, version).unlink(missing_ok=True)  # of an older life
    os.rename(building, target)
    store.add_version(workshop.name, version, digest, count)
    return version, True


def remove(settings: Settings, name: str) -> None:
    shutil.rmtree(root(settings) / name, ignore_errors=True)
