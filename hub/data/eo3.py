"""What every reader produces (an eo3 dataset document + its band files) and the checks
that run before anything is indexed: a product whose bands do not decode is refused.

Also reads plain eo3 dataset documents (`odc-metadata.yaml`), e.g. written by
`--convert` or by other tools.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rasterio
import yaml
from rasterio.errors import RasterioError

from hub.data.product_defs import missing_bands, product_def
from hub.errors import SdlError

EO3_SCHEMA = "https://schemas.opendatacube.org/dataset"
#: Namespace of dataset ids: the same ESA product always gets the same id.
ID_NAMESPACE = uuid.UUID("6f1e6c3e-5b0a-4c8e-9a57-2d0e8f3b9c11")


class ProductError(SdlError):
    """A product cannot be indexed; the message names the file and the reason."""


@dataclass
class Prepared:
    """A product ready to index: its eo3 document and where each band is read from."""

    source: Path  # what the user named (folder, zip, json, yaml)
    kind: str  # SAFE, STAC or eo3
    doc: dict[str, Any]
    location: str  # URI the document's relative measurement paths resolve against
    files: dict[str, str] = field(default_factory=dict)  # band -> path rasterio opens
    warnings: list[str] = field(default_factory=list)  # e.g. an empty granule skipped
    # work the check phase does first and returns the product to index (Sentinel-3:
    # regrid the swath into COGs); picklable, so it also runs on Dask workers
    build: Callable[[Prepared], Prepared] | None = None

    @property
    def id(self) -> str:
        return str(self.doc["id"])

    @property
    def label(self) -> str:
        return str(self.doc.get("label") or self.doc["id"])

    @property
    def product(self) -> str:
        return str(self.doc["product"]["name"])


#: What a label (ESA product name, STAC id, eo3 label) may be: it names output files.
PLAIN_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,199}")


def check_label(label: str, where: str) -> str:
    """A label that is a plain file name; `/`, `..` or control characters are refused,
    since `--convert` names folders and files after it."""
    if not PLAIN_LABEL.fullmatch(label) or ".." in label:
        raise ProductError(
            f"{where}: product label {label!r} is not a plain name (letters, digits, "
            "'_', '-', '.', '+'; no '/' or '..'): refused, nothing written"
        )
    return label


def dataset_id(product_name: str) -> str:
    """Deterministic dataset id from the ESA product name (without .SAFE)."""
    return str(uuid.uuid5(ID_NAMESPACE, product_name.removesuffix(".SAFE")))


def level_of(product: str) -> str:
    """s2_l2a -> L2A; a product we do not define is an error naming the known ones."""
    return product_def(product).level


# -- checks before indexing -------------------------------------------------------------
def check_jp2_complete(path: str) -> None:
    """JPEG 2000 structure: every box fits in the file and the codestream ends with EOC.

    A truncated download still opens in GDAL (the header is intact) and only fails, or
    silently decodes fewer layers, when pixels are read; this catches it in milliseconds.
    """
    if not os.path.isfile(path):
        return  # inside a zip or remote: decoding checks it instead
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        offset, codestream_end = 0, None
        while offset < size:
            f.seek(offset)
            header = f.read(8)
            if len(header) < 8:
                raise ProductError(f"{path}: truncated JPEG 2000 (incomplete box header)")
            length = int.from_bytes(header[:4], "big")
            kind = header[4:8]
            if length == 1:
                length = int.from_bytes(f.read(8), "big")
            elif length == 0:
                length = size - offset
            if length < 8 or offset + length > size:
                raise ProductError(
                    f"{path}: truncated JPEG 2000 ({kind.decode(errors='replace')} box needs "
                    f"{offset + length} bytes, file has {size})"
                )
            if kind == b"jp2c":
                codestream_end = offset + length
            offset += length
        if codestream_end is None:
            raise ProductError(f"{path}: not a JPEG 2000 file (no codestream box)")
        f.seek(codestream_end - 2)
        if f.read(2) != b"\xff\xd9":
            raise ProductError(f"{path}: truncated JPEG 2000 (codestream has no end marker)")


def check_band(path: str, band: str, full_read_pixels: int = 4_000_000) -> tuple[int, int]:
    """Open and decode a band file (all of it if small, else its last block); return shape."""
    if path.lower().endswith(".jp2"):
        check_jp2_complete(path)
    try:
        with rasterio.open(path) as src:
            if src.width * src.height <= full_read_pixels:
                src.read(1)
            else:
                (row, col), _ = list(src.block_windows(1))[-1]
                src.read(1, window=src.block_window(1, row, col))
            return src.height, src.width
    except RasterioError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ProductError(f"{path}: band {band} cannot be read: {reason}") from exc


def check_prepared(item: Prepared) -> None:
    """Every band the product defines is present and decodes at its grid's shape."""
    missing = missing_bands(item.product, set(item.doc.get("measurements", {})))
    if missing:
        raise ProductError(f"{item.source}: {item.kind} product lacks band(s) {', '.join(missing)}")
    grids = item.doc["grids"]
    for name, path in item.files.items():
        shape = check_band(path, name)
        grid = item.doc["measurements"][name].get("grid", "default")
        want = tuple(grids[grid]["shape"])
        if shape != want:
            raise ProductError(
                f"{path}: band {name} is {shape[0]}x{shape[1]} px, "
                f"its metadata says {want[0]}x{want[1]}"
            )


# -- plain eo3 documents -----------------------------------------------------------------
def load_document(path: Path) -> dict[str, Any]:
    """Parse a YAML or JSON document, naming the file when it is not one."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ProductError(f"{path}: cannot read: {exc}") from exc
    try:
        doc = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ProductError(f"{path}: not valid {path.suffix[1:].upper() or 'YAML'}: {exc}") from exc
    if not isinstance(doc, dict):
        raise ProductError(f"{path}: expected a document (mapping), got {type(doc).__name__}")
    return doc


def is_eo3(doc: dict[str, Any]) -> bool:
    return doc.get("$schema") == EO3_SCHEMA


def read_eo3(path: Path) -> Prepared:
    """An eo3 dataset document; measurement paths resolve against the document's folder."""
    doc = load_document(path)
    if not is_eo3(doc):
        raise ProductError(f"{path}: not an eo3 dataset document ($schema is not {EO3_SCHEMA})")
    for key in ("id", "product", "crs", "grids", "measurements", "properties"):
        if key not in doc:
            raise ProductError(f"{path}: eo3 document lacks {key!r}")
    try:
        uuid.UUID(str(doc["id"]))
    except ValueError as exc:
        raise ProductError(f"{path}: id {doc['id']!r} is not a UUID") from exc
    product = doc["product"].get("name") if isinstance(doc["product"], dict) else None
    level_of(str(product))
    files = {}
    for name, measurement in doc["measurements"].items():
        target = str(measurement.get("path", ""))
        if not target:
            raise ProductError(f"{path}: measurement {name} has no path")
        if "://" in target or target.startswith("/vsi"):
            files[name] = target
        else:
            files[name] = str((path.parent / target).resolve())
    return Prepared(path, "eo3", doc, path.resolve().as_uri(), files)
