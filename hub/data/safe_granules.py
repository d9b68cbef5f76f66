"""A SAFE product's own listing: its granules, their folders and IMAGE_FILEs, and the one
granule that holds data (empty "null" granules are skipped with a warning)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from xml.etree import ElementTree

from hub.data.eo3 import ProductError
from hub.data.safe_files import SafeSource
from hub.data.safe_xml import find_all, local_name


@dataclass(frozen=True)
class Granule:
    """One `Granule` element of the product metadata and the folder its files are in."""

    identifier: str  # granuleIdentifier, e.g. S2A_OPER_MSI_L1C_TL_EPAE_..._N02.09
    folder: str  # GRANULE/L1C_T53JQJ_A027984_20201031T004711
    image_files: tuple[str, ...]  # as listed, without the .jp2 extension


def listed_granules(root: ElementTree.Element, where: str) -> list[Granule]:
    """Every granule of Granule_List with its IMAGE_FILEs, paths checked to stay inside."""
    granules = []
    for element in find_all(root, "Granule"):
        listed = [
            (el.text or "").strip()
            for el in element
            if local_name(el) in ("IMAGE_FILE", "IMAGE_FILE_2A") and (el.text or "").strip()
        ]
        for relative in listed:
            parts = PurePosixPath(relative).parts
            if relative.startswith("/") or ".." in parts or len(parts) < 3:
                raise ProductError(f"{where}: IMAGE_FILE {relative!r} is not a path inside it")
        folders = {"/".join(PurePosixPath(f).parts[:2]) for f in listed}
        if len(folders) > 1:
            raise ProductError(f"{where}: a granule's IMAGE_FILEs span {sorted(folders)}")
        identifier = element.get("granuleIdentifier", "")
        granules.append(Granule(identifier, folders.pop() if folders else "", tuple(listed)))
    if not granules or not any(g.image_files for g in granules):
        raise ProductError(f"{where}: lists no granule (Granule_List/IMAGE_FILE)")
    return granules


def granule_with_data(
    source: SafeSource, files: list[str], granules: list[Granule]
) -> tuple[Granule, list[str]]:
    """The product's one granule that holds data, and warnings for the empty ones."""
    present = {f.lower() for f in files}
    full, warnings = [], []
    for granule in granules:
        has_tile_mtd = f"{granule.folder}/MTD_TL.xml".lower() in present
        has_bands = any(f"{f}.jp2".lower() in present for f in granule.image_files)
        if has_tile_mtd or has_bands:
            full.append(granule)
        else:
            warnings.append(f"granule {granule.folder or granule.identifier} is empty: skipped")
    for folder in sorted(source.granule_folders() - {g.folder for g in granules}):
        warnings.append(f"{folder} is not in the product's granule list: ignored")
    if not full:
        first = granules[0]
        raise ProductError(
            f"{source.path}: incomplete product, granule {first.folder or first.identifier} "
            f"is missing ({first.folder}/MTD_TL.xml not found)"
        )
    if len(full) > 1:
        raise ProductError(
            f"{source.path}: lists {len(full)} granules with data; only single-tile "
            "products (compact naming, since 2016-12-06) are supported"
        )
    return full[0], warnings
