"""Hand a workshop's template version into one home; runs AS THE PARTICIPANT.

    python -I -m hub.workshops.handout deliver SOURCE TARGET --version N
    python -I -m hub.workshops.handout reset SOURCE TARGET --path notebooks/01.ipynb

The service starts this with `runuser -u sdl-<name>`, so every path is followed with
the participant's own rights; root never writes into a home. Builds on
`hub.templates_seed.seed_templates` (the manifest that never overwrites a changed
file) and adds what workshops need: the new version of a changed file is written
beside it, and a WORKSHOP-CONFLICTS.md in the folder tells the participant which.
Prints one JSON report on stdout for the service.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from hub.templates_seed import MANIFEST, _copy, file_hash, seed_templates, template_files
from hub.workshops.model import beside_name

CONFLICTS_FILE = "WORKSHOP-CONFLICTS.md"


@dataclass
class Delivery:
    version: int
    copied: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # changed or deleted, template unchanged
    conflicts: dict[str, str] = field(default_factory=dict)  # your file -> new version beside


def _manifest(target: Path) -> dict[str, str]:
    try:
        data = json.loads((target / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def deliver(source: Path, target: Path, version: int) -> Delivery:
    """Copy `source` into `target`; a changed file whose template moved on is a conflict."""
    before = _manifest(target)
    report = seed_templates(source, target)
    delivery = Delivery(version, report.copied, report.updated, report.unchanged)
    for key in report.kept_user_changes:
        src, dest = source / key, target / key
        new_hash = file_hash(src)
        changed_template = before.get(key) != new_hash
        if dest.is_file() and not dest.is_symlink() and changed_template:
            beside = beside_name(key, version)
            beside_path = target / beside
            if beside_path.is_symlink():
                beside_path.unlink()
            if not (beside_path.is_file() and file_hash(beside_path) == new_hash):
                _copy(src, beside_path)
            delivery.conflicts[key] = beside
        else:
            delivery.kept.append(key)
    write_conflicts_note(target, delivery)
    return delivery


def write_conflicts_note(target: Path, delivery: Delivery) -> None:
    """The participant's view of conflicts, in the folder they work in."""
    note = target / CONFLICTS_FILE
    if note.is_symlink():
        note.unlink()
    if not delivery.conflicts:
        note.unlink(missing_ok=True)
        return
    lines = [
        f"# Version {delivery.version} of this workshop: files you changed",
        "",
        "Your copy was kept. The instructor's new version is beside it:",
        "",
        *(f"- `{mine}` → new version in `{beside}`" for mine, beside in delivery.conflicts.items()),
        "",
        "To throw your changes away and take the template, use *Reset* on the workshop page.",
        "",
    ]
    tmp = target / f".{CONFLICTS_FILE}.tmp"
    tmp.write_text("\n".join(lines))
    os.replace(tmp, note)


def safe_relative(path: str) -> str:
    """A relative path inside the folder, or ValueError (no '..', no absolute paths)."""
    pure = PurePosixPath(path.replace("\\", "/"))
    if not path or pure.is_absolute() or any(part in ("..", "") for part in pure.parts):
        raise ValueError(f"{path!r} is not a path inside the workshop folder")
    return pure.as_posix()


def reset(source: Path, target: Path, path: str) -> str:
    """Replace the participant's copy of one file with the template; remember it."""
    key = safe_relative(path)
    if key not in {p.as_posix() for p in template_files(source)}:
        raise ValueError(f"{key!r} is not a file of this workshop's templates")
    dest = target / key
    if dest.is_symlink() or (dest.exists() and not dest.is_file()):
        raise ValueError(f"{key!r} is not a regular file in your folder; move it away first")
    _copy(source / key, dest)
    manifest = _manifest(target)
    manifest[key] = file_hash(source / key)
    tmp = target / f"{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    os.replace(tmp, target / MANIFEST)
    return key


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m hub.workshops.handout")
    parser.add_argument("action", choices=["deliver", "reset"])
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--version", type=int, default=0)
    parser.add_argument("--path", default="")
    args = parser.parse_args(argv)
    try:
        if args.action == "deliver":
            result: dict[str, object] = asdict(deliver(args.source, args.target, args.version))
        else:
            result = {"reset": reset(args.source, args.target, args.path)}
    except (OSError, ValueError) as exc:
        print(json.dumps({"error": str(exc)}))
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    os.umask(0o077)  # the participant's files stay private to them
    sys.exit(main(sys.argv[1:]))
