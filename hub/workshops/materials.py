"""What a participant's workspace pulls: the handed-out version of each of their workshops.

On Kubernetes nothing writes into homes from the hub pod; each workspace fetches its
materials when it starts (`hub.workshops.pull`) and delivers them itself, as the user,
with the same `hub.workshops.handout` logic. Here is the service's side: which versions
a user may have, and each version as one tar.gz, built once (versions are frozen).

Only a participant of a workshop gets its files, only the version that was handed out,
and only while the workshop runs (as local hand-outs). The archive is bounded by the
limits uploads have: a version larger than a template set may be is refused.
"""

from __future__ import annotations

import os
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.errors import Gone, InvalidRequest, NotFound, TooLarge
from hub.settings import Settings
from hub.templates_seed import template_files
from hub.workshops import sets
from hub.workshops.model import utcnow
from hub.workshops.store import Store
from hub.workshops.tables import Workshop
from hub.workshops.uploads import MAX_FILES, MAX_TOTAL_BYTES

#: What a workspace reports back after a pull; everything else it sends is dropped.
REPORT_KEYS = ("copied", "updated", "unchanged", "kept", "conflicts")
MAX_REPORT_ENTRIES = MAX_FILES


@dataclass(frozen=True)
class Material:
    workshop: str
    title: str
    version: int
    files: int

    def public(self, prefix: str) -> dict[str, Any]:
        return {
            "workshop": self.workshop,
            "title": self.title,
            "version": self.version,
            "files": self.files,
            "archive": f"{prefix}api/materials/{self.workshop}/{self.version}.tar.gz",
        }


def current(settings: Settings, store: Store, username: str) -> list[Material]:
    """The handed-out version of each running workshop `username` takes part in."""
    now = utcnow()
    out = []
    for workshop in sorted(store.workshops_of(username), key=lambda w: w.name):
        if workshop.version == 0 or workshop.ends_at <= now:
            continue
        folder = sets.version_dir(settings, workshop.name, workshop.version)
        if not folder.is_dir():
            continue
        out.append(
            Material(workshop.name, workshop.title, workshop.version, len(template_files(folder)))
        )
    return out


def allowed(store: Store, username: str, name: str, version: int) -> Workshop:
    """The workshop whose version `version` this user may download, or a refusal."""
    workshop = store.find(name)
    if workshop is None or username not in store.participants(name):
        raise NotFound(f"you do not take part in a workshop named {name!r}")
    if workshop.ends_at <= utcnow():
        raise Gone(f"workshop {name!r} has ended")
    if version != workshop.version or version == 0:
        raise NotFound(
            f"version {version} of {name!r} is not the one handed out "
            f"(that is version {workshop.version})"
        )
    return workshop


def archive_path(settings: Settings, name: str, version: int) -> Path:
    """The version as tar.gz (beside the version's folder, readable only by the service)."""
    folder = sets.version_dir(settings, name, version)
    path = sets.archive_file(settings, name, version)
    if path.is_file():
        return path
    if not folder.is_dir():
        raise NotFound(f"version {version} of {name!r} is no longer on the server")
    files = template_files(folder)
    size = sum((folder / f).stat().st_size for f in files)
    if len(files) > MAX_FILES or size > MAX_TOTAL_BYTES:
        raise TooLarge(
            f"version {version} of {name!r} has {len(files)} files, {size // 2**20} MiB; "
            f"the limits are {MAX_FILES} files and {MAX_TOTAL_BYTES // 2**20} MiB"
        )
    fd, name_tmp = tempfile.mkstemp(prefix=f"{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(name_tmp)
    try:
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            for relative in files:
                info = tar.gettarinfo(folder / relative, arcname=relative.as_posix())
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.mode = 0o644
                with (folder / relative).open("rb") as stream:
                    tar.addfile(info, stream)
        os.replace(tmp, path)  # mkstemp made it 0600: only the service reads it
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def clean_report(report: Any) -> dict[str, Any]:
    """A workspace's report, kept to the known keys, strings and a bounded size."""
    if not isinstance(report, dict):
        raise InvalidRequest('give the report as an object, e.g. {"version": 2, "copied": [...]}')
    out: dict[str, Any] = {}
    for key in REPORT_KEYS:
        value = report.get(key)
        if key == "conflicts":
            items = value.items() if isinstance(value, dict) else []
            out[key] = {str(k)[:500]: str(v)[:500] for k, v in list(items)[:MAX_REPORT_ENTRIES]}
        else:
            items = value if isinstance(value, list) else []
            out[key] = [str(v)[:500] for v in items[:MAX_REPORT_ENTRIES]]
    return out


def record_pull(store: Store, username: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
    """What a workspace delivered (or why not): shown to the instructor as a hand-out."""
    version = body.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise InvalidRequest('give the version delivered as {"version": N, ...}')
    allowed(store, username, name, version)
    error = str(body.get("error") or "")[:500]
    if error:
        previous = store.deliveries(name).get(username, {}).get("version", 0)
        store.record_delivery(name, username, previous, {}, f"pull: {error}")
        return {"recorded": previous, "error": error}
    report = {**clean_report(body), "version": version}
    store.record_delivery(name, username, version, report)
    return {"recorded": version}
