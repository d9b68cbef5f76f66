"""The products this index defines, read from their YAML (hub/data/products/*.yaml).

One place that knows, for every mission, which products exist, their mission and
processing level (from each definition's `metadata.properties`) and their bands, so the
readers, the checks before indexing and the notebook helpers need no per-mission lists.
A reader for a new mission adds its YAML file here and nothing else.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PRODUCTS_DIR = Path(__file__).parent / "products"
METADATA_TYPE = "eo3_sdl.yaml"


@dataclass(frozen=True)
class ProductDef:
    """One product definition as the index will hold it."""

    name: str
    mission: str  # eo:constellation, e.g. sentinel-1
    level: str  # processing:level, e.g. L2A, GRD
    bands: tuple[str, ...]  # measurement names, in the YAML's order
    doc: dict[str, Any]


@functools.cache
def definitions() -> dict[str, ProductDef]:
    """Every product YAML in PRODUCTS_DIR, by product name (sorted, so order is stable)."""
    found: dict[str, ProductDef] = {}
    for path in sorted(PRODUCTS_DIR.glob("*.yaml")):
        if path.name == METADATA_TYPE:
            continue
        doc = yaml.safe_load(path.read_text())
        props = doc.get("metadata", {}).get("properties", {})
        found[doc["name"]] = ProductDef(
            name=doc["name"],
            mission=str(props.get("eo:constellation", "")),
            level=str(props.get("processing:level", "")),
            bands=tuple(m["name"] for m in doc["measurements"]),
            doc=doc,
        )
    return found


def product_def(name: str) -> ProductDef:
    """The definition of a product, or an error naming those this index defines."""
    from hub.data.eo3 import ProductError

    try:
        return definitions()[name]
    except KeyError:
        raise ProductError(
            f"unknown product {name!r}; this index holds {', '.join(definitions())}"
        ) from None


def missing_bands(name: str, present: set[str]) -> list[str]:
    """Bands a dataset of this product must carry but does not (sorted)."""
    return sorted(set(product_def(name).bands) - present)
