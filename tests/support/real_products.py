"""Real ESA products for the tests (see real/README.md), and what their XML says.

Values here are read with plain ElementTree paths, independently of `hub.data.safe`,
so a test comparing the two checks the reader against ESA's metadata, not against
itself. `rebuild` writes full-size bands on the grid a product's metadata declares
(the fixtures keep real metadata with thumbnail bands, or none).
"""

from __future__ import annotations

import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import rasterio
from rasterio.enums import Resampling

from hub.data.sample import write_jp2

REAL = Path(__file__).parents[1] / "data" / "real"
ZIPS = sorted((REAL / "eo-datasets").glob("*.zip"))
SAFES = sorted((REAL / "stactools-sentinel2").glob("*.SAFE"))
NULL_GRANULE = REAL / "eo-datasets/S2A_MSIL1C_20180629T000241_N0206_R030_T56JMM_20180629T012042.zip"
TWINS = (
    REAL / "stactools-sentinel2/S2A_MSIL2A_20230625T234621_N0509_R073_T01WCP_20230626T022157.SAFE",
    REAL / "stactools-sentinel2/S2A_MSIL2A_20230625T234621_N0509_R073_T01WCP_20230626T022158.SAFE",
)
#: Native resolution of the L1C bands, from ESA's product specification.
L1C_RESOLUTION = {"B01": 60, "B09": 60, "B10": 60, "B05": 20, "B06": 20, "B07": 20, "B8A": 20}
L1C_RESOLUTION |= {"B11": 20, "B12": 20}


def _files(product: Path) -> dict[str, bytes | Path]:
    """Relative path -> bytes (zip) or file (folder), for the metadata files only."""
    if product.is_dir():
        return {p.relative_to(product).as_posix(): p for p in product.rglob("*.xml")}
    with zipfile.ZipFile(product) as archive:
        top = next(n.split("/")[0] for n in archive.namelist() if ".SAFE/" in n)
        return {
            n.removeprefix(top + "/"): archive.read(n)
            for n in archive.namelist()
            if n.endswith(".xml") and n.startswith(top + "/")
        }


def _parse(content: bytes | Path) -> ElementTree.Element:
    raw = content.read_bytes() if isinstance(content, Path) else content
    return ElementTree.fromstring(raw)


@dataclass
class EsaMetadata:
    """A product's MTD_MSIL1C/2A.xml and its granule's MTD_TL.xml."""

    product: ElementTree.Element
    tile: ElementTree.Element
    granule_folder: str

    @classmethod
    def of(cls, product: Path) -> EsaMetadata:
        files = _files(product)
        mtd = next(k for k in files if re.fullmatch(r"MTD_MSIL(1C|2A)\.xml", k, re.I))
        root = _parse(files[mtd])
        first = root.find(".//{*}Granule/{*}IMAGE_FILE").text
        folder = "/".join(first.split("/")[:2])
        return cls(root, _parse(files[f"{folder}/MTD_TL.xml"]), folder)

    def value(self, root: str, path: str) -> str:
        found = getattr(self, root).find(path)
        assert found is not None, path
        return found.text.strip()

    @property
    def level(self) -> str:
        return "L1C" if "1C" in self.product.tag else "L2A"

    @property
    def image_files(self) -> list[str]:
        return [e.text.strip() for e in self.product.iterfind(".//{*}Granule/{*}IMAGE_FILE")]

    @property
    def offset(self) -> int:
        tag = "RADIO_ADD_OFFSET" if self.level == "L1C" else "BOA_ADD_OFFSET"
        found = self.product.find(f".//{{*}}{tag}")
        return int(found.text) if found is not None else 0

    def grid(self, resolution: int) -> tuple[int, int, float, float]:
        """(rows, cols, ulx, uly) of the tile at 10, 20 or 60 m."""
        size = self.tile.find(f".//{{*}}Size[@resolution='{resolution}']")
        pos = self.tile.find(f".//{{*}}Geoposition[@resolution='{resolution}']")
        return (
            int(size.find("NROWS").text),
            int(size.find("NCOLS").text),
            float(pos.find("ULX").text),
            float(pos.find("ULY").text),
        )

    def footprint_lonlat(self) -> list[tuple[float, float]]:
        values = [float(v) for v in self.value("product", ".//{*}EXT_POS_LIST").split()]
        return list(zip(values[1::2], values[0::2], strict=True))


def band_resolution(image_file: str, level: str) -> int:
    name = image_file.rsplit("/", 1)[-1]
    if level == "L2A":
        return int(name.rsplit("_", 1)[-1].removesuffix("m"))
    return L1C_RESOLUTION.get(name.rsplit("_", 1)[-1], 10)


def rebuild(product: Path, out: Path, seed: int = 0, bands_from: Path | None = None) -> Path:
    """A SAFE folder with the product's real metadata and full-size bands at every
    listed IMAGE_FILE (but the true-colour previews), georeferenced as MTD_TL says.

    Thumbnail bands in the fixture are upsampled; where there are none the bands are
    a coarse random field (values 1000..3000, SCL classes 4..6). `bands_from`: a rebuilt
    twin whose band files (same paths, same grid) are linked instead of written again.
    """
    meta = EsaMetadata.of(product)
    if product.is_dir():
        target = out / product.name.removeprefix("esa_")
        shutil.copytree(product, target)
    else:
        with zipfile.ZipFile(product) as archive:
            top = next(n.split("/")[0] for n in archive.namelist() if ".SAFE/" in n)
            archive.extractall(out, [n for n in archive.namelist() if not n.endswith(".jp2")])
        target = out / top
    epsg = int(meta.value("tile", ".//{*}HORIZONTAL_CS_CODE").split(":")[1])
    rng = np.random.default_rng(seed)
    for image_file in meta.image_files:
        if image_file.endswith("_TCI") or "_TCI_" in image_file:
            continue
        if bands_from is not None and (bands_from / f"{image_file}.jp2").is_file():
            (target / f"{image_file}.jp2").parent.mkdir(parents=True, exist_ok=True)
            (target / f"{image_file}.jp2").hardlink_to(bands_from / f"{image_file}.jp2")
            continue
        res = band_resolution(image_file, meta.level)
        rows, cols, ulx, uly = meta.grid(res)
        scl = image_file.rsplit("_", 2)[-2] == "SCL"
        data = _thumbnail(product, image_file, rows, cols)
        if data is None:
            coarse = rng.integers(4, 7, (30, 30)) if scl else rng.integers(1000, 3000, (30, 30))
            cell = -(-rows // 30)
            data = np.kron(coarse, np.ones((cell, cell)))[:rows, :cols]
        dtype = "uint8" if scl else "uint16"
        write_jp2(target / f"{image_file}.jp2", data.astype(dtype), epsg, ulx, uly, res)
    return target


def _thumbnail(product: Path, image_file: str, rows: int, cols: int) -> np.ndarray | None:
    if product.is_dir():
        return None
    with zipfile.ZipFile(product) as archive:
        names = [n for n in archive.namelist() if n.endswith(f"/{image_file}.jp2")]
    if not names:
        return None
    with rasterio.open(f"zip://{product.resolve()}!/{names[0]}") as src:
        return src.read(1, out_shape=(rows, cols), resampling=Resampling.nearest)
