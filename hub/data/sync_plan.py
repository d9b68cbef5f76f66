"""Planning `sdl data sync`: which found items need a download, and what to fetch.

An item's product name is the label the readers give the product (so the same
deterministic dataset id, `hub.data.eo3.dataset_id`); names, collections and asset keys
name folders and files, so each must be a plain label (`check_label`: no `/`, no `..`).
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlparse

from hub.data.bands import PRODUCTS
from hub.data.eo3 import ProductError, check_label, dataset_id
from hub.data.sync_download import Remote
from hub.errors import SdlError
from hub.settings import Settings, SyncSettings

if TYPE_CHECKING:  # datacube is slow to import: at run time only where it is used
    from datacube.index import Index

Status = Literal["added", "skipped", "rejected", "planned"]
ARCHIVE_KEYS = ("product", "zip", "archive")


@dataclass
class SyncOutcome:
    name: str
    collection: str
    status: Status
    reason: str = ""
    size: int | None = None


@dataclass
class Planned:
    """An item to download: its files (local name -> remote) and the shape it lands in."""

    name: str
    collection: str
    shape: Literal["archive", "bands"]
    item: dict[str, Any]
    files: dict[str, Remote]
    keys: dict[str, str] = field(default_factory=dict)  # bands: asset key -> file name

    @property
    def size(self) -> int | None:
        sizes = [r.size for r in self.files.values()]
        return None if None in sizes else sum(s or 0 for s in sizes)


def plan(
    settings: Settings, opts: SyncSettings, items: list[dict[str, Any]], out: list[SyncOutcome]
) -> list[Planned]:
    """Items not yet indexed, as download plans; the others go to `out` with the reason."""
    from hub.data.db import open_index

    todo: list[Planned] = []
    seen: set[str] = set()
    with open_index(settings) as index:
        for item in items:
            collection = str(item.get("collection") or opts.collections[0])
            try:
                planned = plan_item(item, collection)
            except SdlError as exc:
                out.append(SyncOutcome(str(item.get("id")), collection, "rejected", str(exc)))
                continue
            if planned.name in seen:
                continue  # one product listed twice (two collections, paging)
            seen.add(planned.name)
            why = _known(index, planned, settings.data.twins)
            if why:
                out.append(SyncOutcome(planned.name, collection, "skipped", why, planned.size))
            else:
                todo.append(planned)
    return todo


def product_name(item: dict[str, Any]) -> str:
    """The ESA product name the readers label the product with (no .SAFE, no .zip)."""
    props = item.get("properties") or {}
    name = str(props.get("s2:product_uri") or item.get("id") or "")
    name = name.removesuffix(".zip").removesuffix(".SAFE")
    return check_label(name, f"STAC item {item.get('id')!r}")


def plan_item(item: dict[str, Any], collection: str) -> Planned:
    name = product_name(item)
    check_label(collection, f"STAC item {name}: collection")  # it names a folder
    archive = _archive_asset(item)
    if archive is not None:
        return Planned(name, collection, "archive", item, {f"{name}.zip": _remote(archive)})
    keys = _band_files(item, name)
    files = {file: _remote(item["assets"][key]) for key, file in keys.items()}
    return Planned(name, collection, "bands", item, files, keys)


def _archive_asset(item: dict[str, Any]) -> dict[str, Any] | None:
    for key, asset in (item.get("assets") or {}).items():
        path = urlparse(str(asset.get("href", ""))).path.lower()
        if (
            "zip" in str(asset.get("type", ""))
            or path.endswith(".zip")
            or key.lower() in ARCHIVE_KEYS
        ):
            return asset
    return None


def _band_files(item: dict[str, Any], name: str) -> dict[str, str]:
    """Asset key -> local file name of the assets the STAC reader uses (it checks the
    item before any download: a missing band refuses the product here)."""
    from hub.data.stac import read_stac

    with tempfile.TemporaryDirectory() as folder:
        probe = Path(folder) / "item.json"
        probe.write_text(json.dumps(item))
        wanted = set(read_stac(probe).files.values())
    files: dict[str, str] = {}
    for key, asset in item["assets"].items():
        if asset.get("href") in wanted:
            check_label(key, f"STAC item {name}: asset")  # it names a file
            suffix = Path(urlparse(asset["href"]).path).suffix.lower()
            files[key] = key + (suffix if re.fullmatch(r"\.[a-z0-9]{1,5}", suffix) else "")
    return files


def _remote(asset: dict[str, Any]) -> Remote:
    size = asset.get("file:size")
    return Remote(
        str(asset["href"]), int(size) if size is not None else None, asset.get("file:checksum")
    )


def _known(index: Index, planned: Planned, twins: str) -> str:
    """Why this product needs no download ('' when it does)."""
    dataset = index.datasets.get(dataset_id(planned.name))
    if dataset is not None:
        return "already indexed" + (
            " (archived: a newer twin replaced it)" if dataset.is_archived else ""
        )
    if twins != "newest":
        return ""
    from hub.data.twins import indexed_twins

    doc = _twin_doc(planned)
    for twin in indexed_twins(index, doc) if doc else []:
        label = str(twin.metadata_doc.get("label", ""))
        if _freshness(label) >= _freshness(planned.name):
            return f"a newer twin is indexed ({label}); data.twins: newest"
    return ""


def _twin_doc(planned: Planned) -> dict[str, Any] | None:
    """What twins.indexed_twins needs, from the item alone (no download)."""
    from hub.data.stac import item_level

    props = planned.item.get("properties") or {}
    tile = re.search(r"_T(\d{2}[A-Z]{3})_", planned.name)
    try:
        level = item_level(planned.item, Path(planned.name))
    except ProductError:
        return None
    platform = str(props.get("platform") or f"sentinel-{planned.name[1:3]}").lower()
    return {
        "id": dataset_id(planned.name),
        "product": {"name": PRODUCTS[level]},
        "properties": {
            "datetime": str(props.get("datetime") or ""),
            "eo:platform": platform,
            "odc:region_code": tile.group(1) if tile else "",
        },
    }


def _freshness(name: str) -> tuple[str, str]:
    """(baseline, discriminator) from an ESA name: what makes one twin newer."""
    parts = name.split("_")
    baseline = next((p for p in parts if re.fullmatch(r"N\d{4}", p)), "")
    return baseline, parts[-1]
