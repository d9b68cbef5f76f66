"""The files of an ESA product folder (`.SAFE`, `.SEN3`), whether unpacked or in the `.zip`
the Copernicus Data Space serves: opening it either way, and reading its files.

`safe_files.SafeSource` (Sentinel-1, Sentinel-2) and `s3_meta.Sen3Source` (Sentinel-3)
add what their readers need on top.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from hub.data.eo3 import ProductError


class ProductSource:
    """A product folder, or a zip holding exactly one (named by `suffix`)."""

    suffix = ""  # the product folder's suffix: .SAFE, .SEN3

    def __init__(self, path: Path) -> None:
        self.path = path.resolve()
        self.zip: zipfile.ZipFile | None = None
        self.prefix = ""
        if path.is_dir():
            self.name = path.name
            return
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise ProductError(f"{path}: not a readable zip archive ({exc})") from exc
        tops = {n.split("/", 1)[0] for n in self.zip.namelist() if "/" in n}
        found = [top for top in tops if top.endswith(self.suffix)]
        if len(found) != 1:
            raise ProductError(
                f"{path}: expected one {self.suffix} folder in the zip, found {len(found)}"
            )
        self.name = found[0]
        self.prefix = self.name + "/"

    def has(self, relative: str) -> bool:
        if self.zip is not None:
            return self.prefix + relative in self.zip.namelist()
        return (self.path / relative).is_file()

    def read(self, relative: str) -> bytes:
        try:
            if self.zip is not None:
                return self.zip.read(self.prefix + relative)
            return (self.path / relative).read_bytes()
        except (KeyError, OSError) as exc:
            raise ProductError(f"{self.path}: {relative} is missing") from exc
