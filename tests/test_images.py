"""The image package sets: the user image's lock really pins what its requirements name."""

from __future__ import annotations

import re
from pathlib import Path

IMAGES = Path(__file__).resolve().parent.parent / "images"


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;#]+)", line.strip())
        if match:
            found[match.group(1).lower().replace("_", "-")] = match.group(2)
    return found


def test_user_lock_pins_every_requirement_at_the_same_version() -> None:
    wanted = pins(IMAGES / "user" / "requirements.txt")
    locked = pins(IMAGES / "user" / "requirements.lock")
    assert wanted, "no pins found in images/user/requirements.txt"
    mismatched = {
        name: (version, locked.get(name))
        for name, version in wanted.items()
        if locked.get(name) != version
    }
    assert not mismatched, f"re-run uv pip compile (see the lock's header): {mismatched}"
    assert len(locked) > len(wanted)  # transitive dependencies are pinned too


def test_every_image_has_a_dockerfile_and_pinned_requirements() -> None:
    for image in ("hub", "user", "ingest"):
        assert (IMAGES / image / "Dockerfile").is_file()
        requirements = pins(IMAGES / image / "requirements.txt")
        assert requirements, f"images/{image}/requirements.txt pins nothing"
