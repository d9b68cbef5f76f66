"""Template sets from instructors: a zip, a folder of files, or a git repository.

Everything an instructor sends is untrusted: names may climb out of the folder
('../../etc/passwd', '/root/x', 'C:\\x'), a zip may be a bomb (tiny on the wire, huge
unpacked, or with sizes in its headers that lie), a repository may hold symlinks. We
refuse bad names, never create symlinks, and count every byte actually written.
"""

from __future__ import annotations

import functools
import os
import shutil
import stat
import subprocess
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from hub.errors import InvalidRequest

MAX_UPLOAD_BYTES = 20 * 2**20  # what may arrive over HTTP (the zip or the files)
MAX_TOTAL_BYTES = 100 * 2**20  # a whole template set, unpacked
MAX_FILES = 1000
MAX_RATIO = 100  # unpacked / packed, per zip member above 1 MiB
_CHUNK = 2**16
_SKIP = ("__MACOSX", ".git", ".ipynb_checkpoints")


@dataclass(frozen=True)
class Limits:
    upload_bytes: int = MAX_UPLOAD_BYTES
    total_bytes: int = MAX_TOTAL_BYTES
    files: int = MAX_FILES
    ratio: int = MAX_RATIO


def member_path(name: str) -> PurePosixPath | None:
    """A safe relative path for an uploaded name; None to skip it quietly; else refuse."""
    if "\x00" in name or "\\" in name:
        raise InvalidRequest(f"upload refused: {name!r} has a backslash or NUL in its name")
    pure = PurePosixPath(name)
    parts = [p for p in pure.parts if p not in ("", ".")]
    if pure.is_absolute() or ".." in parts or (parts and ":" in parts[0]):
        raise InvalidRequest(f"upload refused: {name!r} points outside the template folder")
    if not parts or any(p.startswith(".") or p in _SKIP for p in parts):
        return None  # hidden files, checkpoints, macOS metadata
    return PurePosixPath(*parts)


def _strip_common_top(paths: list[PurePosixPath]) -> list[PurePosixPath]:
    """'course/01.ipynb', 'course/data/x' → '01.ipynb', 'data/x' (a zipped folder)."""
    tops = {p.parts[0] for p in paths}
    if len(tops) == 1 and all(len(p.parts) > 1 for p in paths):
        return [PurePosixPath(*p.parts[1:]) for p in paths]
    return paths


class _Writer:
    """Writes files under `root`, counting files and bytes against the limits."""

    def __init__(self, root: Path, limits: Limits) -> None:
        self.root, self.limits = root, limits
        self.files = self.bytes = 0

    def write(self, relative: PurePosixPath, chunks: Iterable[bytes]) -> None:
        self.files += 1
        if self.files > self.limits.files:
            raise InvalidRequest(f"upload refused: more than {self.limits.files} files")
        dest = self.root.joinpath(*relative.parts)
        dest.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        with os.fdopen(os.open(dest, flags, 0o644), "wb") as out:
            for chunk in chunks:
                self.bytes += len(chunk)
                if self.bytes > self.limits.total_bytes:
                    raise InvalidRequest(
                        f"upload refused: unpacks to more than "
                        f"{self.limits.total_bytes // 2**20} MiB (a zip bomb?)"
                    )
                out.write(chunk)


def extract_zip(data: BinaryIO, dest: Path, limits: Limits = Limits()) -> int:
    """Unpack a zip into the new folder `dest`; returns the number of files."""
    try:
        archive = zipfile.ZipFile(data)
    except zipfile.BadZipFile:
        raise InvalidRequest("upload refused: not a zip file") from None
    with archive:
        members: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
        declared = 0
        for info in archive.infolist():
            path = member_path(info.filename)
            if info.is_dir() or path is None:
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                raise InvalidRequest(f"upload refused: {info.filename!r} is a symbolic link")
            declared += info.file_size
            packed = max(info.compress_size, 1)
            if info.file_size > 2**20 and info.file_size / packed > limits.ratio:
                raise InvalidRequest(
                    f"upload refused: {info.filename!r} expands {info.file_size // packed}x "
                    f"(more than {limits.ratio}x: a zip bomb?)"
                )
            members.append((info, path))
        if declared > limits.total_bytes or len(members) > limits.files:
            raise InvalidRequest(
                f"upload refused: {len(members)} files, {declared // 2**20} MiB unpacked; "
                f"the limits are {limits.files} files and {limits.total_bytes // 2**20} MiB"
            )
        paths = _strip_common_top([p for _, p in members])
        dest.mkdir(parents=True)
        writer = _Writer(dest, limits)
        for (info, _), path in zip(members, paths, strict=True):
            with archive.open(info) as stream:  # sizes are counted as really read
                writer.write(path, iter(functools.partial(stream.read, _CHUNK), b""))
        return writer.files


def save_files(files: list[tuple[str, bytes]], dest: Path, limits: Limits = Limits()) -> int:
    """Files of an uploaded folder (browser-relative names) into the new folder `dest`."""
    named = [(member_path(name), body) for name, body in files]
    kept = [(path, body) for path, body in named if path is not None]
    if not kept:
        raise InvalidRequest("upload refused: no files (hidden files are skipped)")
    paths = _strip_common_top([p for p, _ in kept])
    dest.mkdir(parents=True)
    writer = _Writer(dest, limits)
    for path, (_, body) in zip(paths, kept, strict=True):
        writer.write(path, [body])
    return writer.files


def clone_git(url: str, ref: str, dest: Path, limits: Limits = Limits()) -> str:
    """A shallow clone of `url` at `ref` into the new folder `dest`; returns the commit.

    Only http(s): file://, ssh and ext are refused, also for submodules and redirects.
    Symlinks are checked out as plain files and then removed.
    """
    with tempfile.TemporaryDirectory(prefix="sdl-git-") as home:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": home,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_NOSYSTEM": "1",
        }
        command = [
            "git",
            "-c",
            "protocol.allow=never",
            "-c",
            "protocol.https.allow=always",
            "-c",
            "protocol.http.allow=always",
            "-c",
            "core.symlinks=false",
            "clone",
            "--depth",
            "1",
            "--no-recurse-submodules",
            "--quiet",
        ]
        if ref:
            command += ["--branch", ref]
        try:
            result = subprocess.run(
                [*command, "--", url, str(dest)],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
        except subprocess.TimeoutExpired:
            shutil.rmtree(dest, ignore_errors=True)
            raise InvalidRequest(f"git clone of {url} took more than 120 s") from None
        if result.returncode != 0:
            shutil.rmtree(dest, ignore_errors=True)
            raise InvalidRequest(f"git clone of {url} failed: {result.stderr.strip()[-500:]}")
        head = subprocess.run(
            ["git", "-C", str(dest), "rev-parse", "HEAD"], env=env, capture_output=True, text=True
        ).stdout.strip()
    shutil.rmtree(dest / ".git", ignore_errors=True)
    check_tree(dest, limits)
    return head


def check_tree(root: Path, limits: Limits) -> None:
    """Remove symlinks; refuse a tree beyond the limits (a clone can be anything)."""
    files = size = 0
    for path in list(root.rglob("*")):
        if path.is_symlink():
            path.unlink()
        elif path.is_file():
            files += 1
            size += path.stat().st_size
    if files > limits.files or size > limits.total_bytes:
        shutil.rmtree(root, ignore_errors=True)
        raise InvalidRequest(
            f"template set refused: {files} files, {size // 2**20} MiB; the limits are "
            f"{limits.files} files and {limits.total_bytes // 2**20} MiB"
        )
