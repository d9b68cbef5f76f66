"""Small builders for workshop tests: zips (good and hostile), polling."""

from __future__ import annotations

import io
import zipfile


def make_zip(files: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in files.items():
            archive.writestr(name, body)
    return buffer.getvalue()


def zip_bomb(size: int = 300 * 2**20) -> bytes:
    """A few hundred KiB on the wire, `size` bytes of zeros unpacked."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("course/zeros.ipynb", "w", force_zip64=True) as member,
    ):
        chunk = b"\0" * 2**20
        for _ in range(size // 2**20):
            member.write(chunk)
    return buffer.getvalue()
