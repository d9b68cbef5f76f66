"""The Open Data Cube schema and our products in it (`init_index`, `ensure_products`).

Run by `sdl data init` and as `sdl up` starts (`firststart`): what is there already is
left alone, a product or metadata type whose definition changed is updated in place.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import yaml

from hub.data.db import open_index
from hub.data.product_defs import METADATA_TYPE, PRODUCTS_DIR, definitions
from hub.settings import Settings

if TYPE_CHECKING:  # datacube is slow to import: at run time only where it is used
    from datacube.index import Index


def ensure_products(index: Index) -> list[str]:
    """Add our metadata type and products if missing (unchanged ones are left alone)."""
    changed = []
    mdt_doc = yaml.safe_load((PRODUCTS_DIR / METADATA_TYPE).read_text())
    existing_type = index.metadata_types.get_by_name(mdt_doc["name"])
    if existing_type is None:
        index.metadata_types.add(index.metadata_types.from_doc(mdt_doc))
        changed.append(mdt_doc["name"])
    elif _plain(existing_type.definition) != _plain(mdt_doc):  # e.g. new missions' fields
        index.metadata_types.update_document(mdt_doc, allow_unsafe_updates=True)
        changed.append(mdt_doc["name"])
    for product in definitions().values():
        doc = product.doc
        existing = index.products.get_by_name(doc["name"])
        if existing is None:
            index.products.add(index.products.from_doc(doc))
            changed.append(doc["name"])
        elif _plain(existing.definition) != _plain(doc):
            index.products.update(index.products.from_doc(doc), allow_unsafe_updates=True)
            changed.append(doc["name"])
    return changed


def _plain(doc: object) -> object:
    return json.loads(json.dumps(doc))


def init_index(settings: Settings) -> list[str]:
    """Create the database, the ODC schema (and its agdc_* roles) and our products.

    Returns what was created or updated (empty when everything was there already).
    """
    _forget_dynamic_indexes()
    with open_index(settings, validate=False, create=True) as index:
        created = (
            ["schema"] if index.init_db(with_default_types=True, with_permissions=True) else []
        )
        return created + ensure_products(index)


def _forget_dynamic_indexes() -> None:
    """Work around datacube 1.9 keeping per-product indexes in its global table metadata.

    They are created with each product, but also land on `agdc.dataset` in SQLAlchemy's
    process-wide MetaData, so a later `init_db` of another database in the same process
    creates them early and then fails with "relation dix_... already exists".
    """
    try:
        from datacube.drivers.postgres import _schema

        indexes = _schema.DATASET.indexes
    except (ImportError, AttributeError):  # a datacube without the quirk (or the table)
        return
    for index in list(indexes):
        if (index.name or "").startswith("dix_"):
            indexes.discard(index)
