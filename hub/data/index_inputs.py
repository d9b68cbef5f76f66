"""What `add` is given -> products: paths, folders and globs expanded (`expand`), each
read by the reader of its kind into a Prepared product, or rejected with why (`prepare`).
"""

from __future__ import annotations

import glob
from collections.abc import Iterable
from pathlib import Path

from hub.data.eo3 import Prepared, ProductError, check_label, is_eo3, load_document, read_eo3
from hub.data.outcomes import Outcome
from hub.settings.sentinel1 import Sentinel1Grid
from hub.settings.sentinel3 import Sentinel3Grid


def expand(paths: Iterable[str | Path]) -> tuple[list[Path], list[Outcome]]:
    """Files, folders and globs -> candidate products; names that match nothing are rejected."""
    found: list[Path] = []
    missing: list[Outcome] = []
    for raw in paths:
        text = str(raw)
        matches = (
            [Path(p) for p in sorted(glob.glob(text))] if any(c in text for c in "*?[") else []
        )
        for path in matches or [Path(text)]:
            if not path.exists():
                missing.append(Outcome(text, "rejected", reason="no such file or folder"))
            elif path.is_dir() and not _is_product_dir(path):
                found.extend(_scan(path))
            else:
                found.append(path)
    unique = list(dict.fromkeys(p.resolve() for p in found))
    return unique, missing


def _is_product_dir(path: Path) -> bool:
    return path.suffix in (".SAFE", ".SEN3") or any(path.glob("MTD_MSIL*.xml"))


def _scan(folder: Path) -> list[Path]:
    """Products inside a folder: .SAFE folders, .zip files, STAC/eo3 documents."""
    found = []
    for path in sorted(folder.rglob("*")):
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue  # temporary folders of an interrupted conversion
        if (path.is_dir() and path.suffix in (".SAFE", ".SEN3")) or (
            path.is_file()
            and not {".SAFE", ".SEN3"} & {Path(p).suffix for p in path.relative_to(folder).parts}
            and (
                path.suffix.lower() in (".zip", ".json") or path.name.endswith("odc-metadata.yaml")
            )
        ):
            found.append(path)
    return found


def prepare(
    path: Path,
    sentinel3: Sentinel3Grid | None = None,
    sentinel1: Sentinel1Grid | None = None,
) -> Prepared:
    """Read any supported input into a Prepared product, or say why it is not one.

    `sentinel3`: the map grid Sentinel-3 swaths are regridded to (data.sentinel3);
    `sentinel1`: the map grid Sentinel-1 GRD scenes are geocoded to (data.sentinel1).
    """
    from hub.data.s1_ingest import read_s1
    from hub.data.s1_safe import is_s1_safe
    from hub.data.safe import is_safe, read_safe
    from hub.data.sentinel3 import is_sen3, read_sen3
    from hub.data.stac import is_stac_item, read_stac

    item: Prepared | None = None
    if is_sen3(path):
        item = read_sen3(path, sentinel3)
    elif is_s1_safe(path):  # before is_safe, which takes any zip
        item = read_s1(path, sentinel1)
    elif is_safe(path):
        item = read_safe(path)
    elif path.is_file() and path.suffix.lower() in (".json", ".yaml", ".yml"):
        doc = load_document(path)
        if is_stac_item(doc):
            item = read_stac(path)
        elif is_eo3(doc):
            item = read_eo3(path)
    if item is not None:
        check_label(item.label, str(path))  # every reader: the label names output files
        return item
    raise ProductError(
        f"{path}: not a Sentinel-2 SAFE product (.SAFE folder or .zip), Sentinel-1 GRD "
        "product (S1?_IW|EW_GRD?_*.SAFE or .zip), Sentinel-3 product (.SEN3 folder or .SEN3.zip), "
        "STAC item (.json) or eo3 dataset document (.yaml)"
    )
