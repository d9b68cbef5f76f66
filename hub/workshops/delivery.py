"""Run `hub.workshops.handout` as a participant's OS user and record what happened.

The service runs as root (like the hub); it never opens a path inside a home itself.
`runuser -u sdl-<name>` drops to the participant's rights first, and `python -I`
keeps their files out of the interpreter's import path.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import sys
from pathlib import Path
from typing import Any

from hub.accounts import home_folder
from hub.settings import Settings
from hub.workshops.sets import version_dir
from hub.workshops.store import Store
from hub.workshops.tables import Workshop

TIMEOUT = 120


def home_of(settings: Settings, username: str) -> Path:
    """The same home `SdlLocalSpawner` gives this user."""
    return settings.data_dir / "homes" / home_folder(username)


def target_of(settings: Settings, username: str, workshop: str) -> Path:
    return home_of(settings, username) / "workshops" / workshop


async def run_as(home: Path, args: list[str]) -> dict[str, Any]:
    """`python -I -m hub.workshops.handout ARGS` as the home's owner (the user's own
    account, whatever this platform's account prefix); its JSON report."""
    command = [sys.executable, "-I", "-m", "hub.workshops.handout", *args]
    if os.geteuid() == 0:
        owner = pwd.getpwuid(home.stat().st_uid).pw_name
        command = ["runuser", "-u", owner, "--", *command]
    proc = await asyncio.create_subprocess_exec(
        *command,
        cwd="/",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    except TimeoutError:
        proc.kill()
        return {"error": f"hand-out took more than {TIMEOUT} s"}
    try:
        report = json.loads(out.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        tail = err.decode(errors="replace").strip()[-500:]
        return {"error": f"hand-out failed (exit {proc.returncode}): {tail}"}
    return report if isinstance(report, dict) else {"error": "hand-out gave no report"}


async def deliver(
    settings: Settings, store: Store, workshop: Workshop, username: str, version: int
) -> dict[str, Any]:
    """Hand version `version` to one participant whose home exists; record the result."""
    home = home_of(settings, username)
    if not home.is_dir():
        report: dict[str, Any] = {"error": "no home yet: delivered at the first spawn"}
    else:
        source = version_dir(settings, workshop.name, version)
        target = target_of(settings, username, workshop.name)
        report = await run_as(
            home, ["deliver", str(source), str(target), "--version", str(version)]
        )
    await asyncio.to_thread(_record, store, workshop.name, username, version, report)
    return report


def _record(store: Store, name: str, username: str, version: int, report: dict[str, Any]) -> None:
    """A failed hand-out keeps the version the participant had, with the error."""
    if "error" in report:
        previous = store.deliveries(name).get(username, {}).get("version", 0)
        store.record_delivery(name, username, previous, {}, report["error"])
    else:
        store.record_delivery(name, username, version, report)


async def reset_file(
    settings: Settings, store: Store, workshop: Workshop, username: str, path: str
) -> dict[str, Any]:
    """Put the template of the version this participant last received back in place."""
    received = (await asyncio.to_thread(store.deliveries, workshop.name)).get(username)
    if not received or not received["version"]:
        return {"error": f"{username} has not received {workshop.name!r} yet"}
    version = received["version"]
    source = version_dir(settings, workshop.name, version)
    target = target_of(settings, username, workshop.name)
    home = home_of(settings, username)
    report = await run_as(home, ["reset", str(source), str(target), "--path", path])
    if "error" not in report:
        conflicts = dict(received["report"].get("conflicts", {}))
        if conflicts.pop(report["reset"], None) is not None:
            kept = {**received["report"], "conflicts": conflicts}
            await asyncio.to_thread(store.record_delivery, workshop.name, username, version, kept)
    return report
