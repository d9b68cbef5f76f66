"""The files of a SAFE product, whether an unpacked `.SAFE` folder or the `.zip` the
Copernicus Data Space serves: listing, reading, and the paths rasterio opens."""

from __future__ import annotations

from hub.data.product_files import ProductSource


class SafeSource(ProductSource):
    """Read files of a SAFE product, whether unpacked or zipped."""

    suffix = ".SAFE"

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
