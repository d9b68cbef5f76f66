"""The files of a SAFE product, whether an unpacked `.SAFE` folder or the `.zip` the
Copernicus Data Space serves: listing, reading, and the paths rasterio opens."""

from __future__ import annotations

import zipfile
from pathlib import Path

from hub.data.eo3 import ProductError


class SafeSource:
    """Read files of a SAFE product, whether unpacked or zipped."""

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
        safes = {top for top in tops if top.endswith(".SAFE")}
        if len(safes) != 1:
            raise ProductError(f"{path}: expected one .SAFE folder in the zip, found {len(safes)}")
        self.name = safes.pop()
        self.prefix = self.name + "/"

    def list(self) -> list[str]:
        """Relative paths of all files in the product."""
        if self.zip is not None:
            return [
                n[len(self.prefix) :]
                for n in self.zip.namelist()
                if n.startswith(self.prefix) and not n.endswith("/")
            ]
        return [p.relative_to(self.path).as_posix() for p in self.path.rglob("*") if p.is_file()]

    def granule_folders(self) -> set[str]:
        """`GRANULE/<name>` folders, empty ones too (a null granule is often just that)."""
        if self.zip is not None:
            names = [n.removeprefix(self.prefix) for n in self.zip.namelist()]
        else:
            names = [p.relative_to(self.path).as_posix() + "/" for p in self.path.glob("GRANULE/*")]
        return {
            "/".join(n.split("/")[:2])
            for n in names
            if n.startswith("GRANULE/") and n.count("/") >= 2
        }

    def read(self, relative: str) -> bytes:
        try:
            if self.zip is not None:
                return self.zip.read(self.prefix + relative)
            return (self.path / relative).read_bytes()
        except (KeyError, OSError) as exc:
            raise ProductError(f"{self.path}: {relative} is missing") from exc

    def raster_path(self, relative: str) -> str:
        """What rasterio opens for a file of the product."""
        if self.zip is not None:
            return f"zip://{self.path}!/{self.prefix}{relative}"
        return str(self.path / relative)

    def location(self, mtd: str) -> str:
        if self.zip is not None:
            return f"zip://{self.path}!/{self.prefix}{mtd}"
        return (self.path / mtd).as_uri()

    def measurement_path(self, relative: str) -> str:
        """Path stored in the document: relative in folders, a full URL inside zips."""
        return self.raster_path(relative) if self.zip is not None else relative
