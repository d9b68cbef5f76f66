"""The workspace's side of hand-outs on Kubernetes: fetch materials, deliver them here.

Run as the user inside their pod while the server starts (`hub.workspace`), when
SDL_WORKSHOPS_URL is set. For each workshop the user takes part in, the service names
the handed-out version; a version not yet delivered here is downloaded (bounded like
uploads), unpacked into a temporary folder (regular files with safe names only) and
delivered into ~/workshops/<name>/ by `hub.workshops.handout.deliver`: files the user
changed are kept and the new version goes beside them, explained in
WORKSHOP-CONFLICTS.md. The result is reported back for the instructor's page.

Nothing here may keep a user out of their server: every failure becomes a log line.
"""

from __future__ import annotations

import contextlib
import json
import os
import tarfile
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import requests

from hub.workshops.handout import deliver, safe_relative
from hub.workshops.model import NAME
from hub.workshops.uploads import MAX_FILES, MAX_TOTAL_BYTES

TIMEOUT = 10  # seconds to connect, and between bytes of an answer
DEADLINE = 60  # seconds for the whole pull, however many workshops
STATE = ".sdl-workshop.json"  # in ~/workshops/<name>/: the version delivered here
_CHUNK = 2**16


class PullError(Exception):
    pass


def delivered_version(target: Path) -> int:
    try:
        data = json.loads((target / STATE).read_text())
    except (OSError, ValueError):
        return 0
    version = data.get("version") if isinstance(data, dict) else 0
    return version if isinstance(version, int) else 0


def _remember(target: Path, version: int) -> None:
    tmp = target / f"{STATE}.tmp"
    tmp.write_text(json.dumps({"version": version}))
    os.replace(tmp, target / STATE)


def _download(session: requests.Session, url: str, dest: Path, deadline: float) -> None:
    """Save `url` to `dest`, refusing more than a template set may be."""
    with session.get(url, stream=True, timeout=TIMEOUT) as response:
        _check(response, url)
        size = 0
        with dest.open("wb") as out:
            for chunk in response.iter_content(_CHUNK):
                size += len(chunk)
                if size > MAX_TOTAL_BYTES:
                    raise PullError(f"{url}: more than {MAX_TOTAL_BYTES // 2**20} MiB")
                if time.monotonic() > deadline:
                    raise PullError(f"{url}: not downloaded within {DEADLINE} s")
                out.write(chunk)


def unpack(archive: Path, dest: Path) -> int:
    """Regular files with safe relative names only, within the limits of uploads."""
    files = total = 0
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            if member.isdir():
                continue
            if not member.isfile():
                raise PullError(f"{member.name!r} is not a regular file")
            try:
                relative = safe_relative(member.name)
            except ValueError as exc:
                raise PullError(str(exc)) from None
            files += 1
            total += member.size
            if files > MAX_FILES or total > MAX_TOTAL_BYTES:
                raise PullError(f"more than {MAX_FILES} files or {MAX_TOTAL_BYTES // 2**20} MiB")
            path = dest / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            if source is None:
                raise PullError(f"{member.name!r} cannot be read")
            with source, path.open("xb") as out:
                while chunk := source.read(_CHUNK):
                    out.write(chunk)
    return files


def _check(response: requests.Response, url: str) -> None:
    if response.status_code != 200:
        try:
            message = response.json().get("message", "")
        except ValueError:
            message = response.text[:200]
        raise PullError(f"{url}: HTTP {response.status_code} {message}".strip())


def _pull_one(
    session: requests.Session, base: str, item: Mapping[str, Any], home: Path, deadline: float
) -> str:
    if not isinstance(item, Mapping):
        raise PullError(f"the service sent {item!r} instead of a workshop")
    name, version = str(item.get("workshop", "")), item.get("version")
    if not NAME.match(name) or not isinstance(version, int) or version < 1:
        raise PullError(f"the service named an invalid workshop {name!r} version {version!r}")
    target = home / "workshops" / name
    if delivered_version(target) >= version:
        return f"{name}: version {version} already here"
    archive_url = f"{base}api/materials/{name}/{version}.tar.gz"
    with tempfile.TemporaryDirectory(prefix=".sdl-workshop-", dir=home) as tmp:
        archive, source = Path(tmp) / "v.tar.gz", Path(tmp) / "files"
        _download(session, archive_url, archive, deadline)
        unpack(archive, source)
        delivery = deliver(source, target, version)
    _remember(target, version)
    report = asdict(delivery)
    try:
        response = session.post(f"{base}api/materials/{name}/report", json=report, timeout=TIMEOUT)
        _check(response, f"{base}api/materials/{name}/report")
    except (requests.RequestException, PullError) as exc:  # delivered all the same
        return f"{name}: version {version} delivered; not reported to the service: {exc}"
    conflicts = f", {len(delivery.conflicts)} beside your changed files" * bool(delivery.conflicts)
    return (
        f"{name}: version {version}: {len(delivery.copied)} new, "
        f"{len(delivery.updated)} updated{conflicts}"
    )


def pull_materials(home: Path, environ: Mapping[str, str]) -> list[str]:
    """Deliver the handed-out versions of the user's workshops; lines for the server log."""
    base = environ.get("SDL_WORKSHOPS_URL", "")
    if not base:
        return []
    base = base.rstrip("/") + "/"
    token = environ.get("JUPYTERHUB_API_TOKEN", "")
    if not token:
        return ["workshops: no JUPYTERHUB_API_TOKEN; materials not fetched"]
    deadline = time.monotonic() + DEADLINE
    lines = []
    with requests.Session() as session:
        session.headers["Authorization"] = f"token {token}"
        try:
            response = session.get(f"{base}api/materials", timeout=TIMEOUT)
            _check(response, f"{base}api/materials")
            items = response.json().get("materials", [])
        except (requests.RequestException, ValueError, AttributeError, PullError) as exc:
            return [f"workshops: materials not fetched, starting without them: {exc}"]
        for item in items if isinstance(items, list) else []:
            try:
                lines.append("workshops: " + _pull_one(session, base, item, home, deadline))
            except (requests.RequestException, OSError, tarfile.TarError, PullError) as exc:
                name = item.get("workshop") if isinstance(item, dict) else item
                lines.append(f"workshops: {name}: not delivered: {exc}")
                _report_error(session, base, item, str(exc))
    return lines


def _report_error(session: requests.Session, base: str, item: Any, error: str) -> None:
    """Best effort: the instructor sees why this participant has no files."""
    if not isinstance(item, dict) or not NAME.match(str(item.get("workshop", ""))):
        return
    body = {"version": item.get("version"), "error": error[:500]}
    with contextlib.suppress(requests.RequestException):
        session.post(f"{base}api/materials/{item['workshop']}/report", json=body, timeout=TIMEOUT)
