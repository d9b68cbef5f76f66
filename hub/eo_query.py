"""What an `eo.load` query means: the product, its bands and the area, checked up front.

Products are chosen by mission and processing level from each product definition's own
metadata; band names and aliases are resolved against the product, and every error says
what the index does have (the product's bands, the mission that has the band asked for).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from hub.errors import SdlError

if TYPE_CHECKING:  # datacube is slow to import: at run time only where it is used
    from datacube import Datacube
    from datacube.model import Product

#: The level a mission's queries use when none is given (others: its only level).
DEFAULT_LEVEL = {"sentinel-1": "GRD", "sentinel-2": "L2A"}
#: Where a level has several products and no bands pick one: VV+VH, the usual IW scene.
DEFAULT_PRODUCT = {"sentinel-1": "s1_grd_sigma0"}


class QueryError(SdlError, ValueError):
    """A query names something unknown or matches nothing; the message says what exists."""


def mission_level(product: Product) -> tuple[str, str]:
    """(mission, level) from the product definition's own metadata, as indexed."""
    props = product.definition.get("metadata", {}).get("properties", {})
    return str(props.get("eo:constellation", "")), str(props.get("processing:level", ""))


def products_for(
    dc: Datacube, mission: str, level: str | None = None, product: str | None = None
) -> list[Product]:
    """Products whose metadata says this mission (e.g. sentinel-1) and level (GRD, L2A).

    `level=None` takes the mission's default (L2A for Sentinel-2) or its only level;
    `product` picks one product by name among those matching.
    """
    offered: dict[str, set[str]] = {}
    candidates = []
    for found in dc.index.products.get_all():
        have_mission, have_level = mission_level(found)
        offered.setdefault(have_mission, set()).add(have_level)
        if have_mission.lower() == mission.lower():
            candidates.append(found)
    if not candidates:
        listing = "; ".join(f"{m} ({', '.join(sorted(v))})" for m, v in sorted(offered.items()))
        raise QueryError(
            f"no product for mission={mission!r}; the index has: "
            f"{listing or 'no products (run sdl data init)'}"
        )
    levels = sorted({mission_level(p)[1] for p in candidates})
    if level is None:
        level = DEFAULT_LEVEL.get(mission.lower()) or (levels[0] if len(levels) == 1 else None)
        if level is None:
            raise QueryError(f"{mission} has levels {', '.join(levels)}: give level=")
    found_level = [p for p in candidates if mission_level(p)[1].upper() == level.upper()]
    if not found_level:
        raise QueryError(
            f"no product for mission={mission!r} level={level!r}; {mission} has levels: "
            f"{', '.join(levels)}"
        )
    if product is not None:
        named = [p for p in found_level if p.name == product]
        if not named:
            names = ", ".join(p.name for p in found_level)
            raise QueryError(f"no product {product!r} for {mission} {level}; there are: {names}")
        return named
    return found_level


def pick_product(
    dc: Datacube,
    mission: str,
    level: str | None,
    product: str | None,
    bands: Sequence[str] | None,
) -> Product:
    """The one product a query loads: the mission's and level's, narrowed by the bands
    asked for (e.g. Sentinel-1 VV+VH or HH+HV scenes), else the mission's default."""
    chosen = products_for(dc, mission, level, product)
    if len(chosen) > 1 and bands is not None:
        having = [p for p in chosen if _has_bands(p, bands)]
        chosen = having or chosen[:1]  # none has them: the error names the first's bands
    if len(chosen) > 1 and bands is None:
        default = DEFAULT_PRODUCT.get(mission.lower())
        chosen = [p for p in chosen if p.name == default] or chosen
    if len(chosen) > 1:
        raise QueryError(
            f"several products match: {', '.join(p.name for p in chosen)}; pass product="
        )
    return chosen[0]


def resolve_bands(product: Product, bands: Sequence[str]) -> dict[str, str]:
    """Requested name or alias -> measurement name; unknown names list what exists."""
    lookup: dict[str, str] = {}
    for name, measurement in product.measurements.items():
        for key in [name, *measurement.get("aliases", [])]:
            lookup[key.lower()] = name
    resolved, unknown = {}, []
    for band in bands:
        if band.lower() in lookup:
            resolved[band] = lookup[band.lower()]
        else:
            unknown.append(band)
    if unknown:
        names = ", ".join(
            f"{n} ({'/'.join(m.get('aliases', [])[2:] or m.get('aliases', [])[:1])})"
            for n, m in product.measurements.items()
        )
        mission, level = mission_level(product)
        raise QueryError(
            f"{product.name} has no band {', '.join(map(repr, unknown))} "
            f"({mission} {level}); it has: {names}"
        )
    return resolved


def _has_bands(product: Product, bands: Sequence[str]) -> bool:
    try:
        resolve_bands(product, bands)
    except QueryError:
        return False
    return True


def bands_elsewhere(dc: Datacube, bands: Sequence[str]) -> str:
    """'; red is a band of sentinel-2 L2A': where a band asked of the wrong mission lives."""
    hints = []
    for band in bands:
        homes = sorted(
            " ".join(mission_level(p))
            for p in dc.index.products.get_all()
            if any(
                band.lower() in [n.lower(), *[a.lower() for a in m.get("aliases", [])]]
                for n, m in p.measurements.items()
            )
        )
        if homes:
            hints.append(f"{band!r} is a band of {', '.join(dict.fromkeys(homes))}")
    return f"; {'; '.join(hints)}" if hints else ""


def spatial_query(
    lon: tuple[float, float] | None, lat: tuple[float, float] | None, geometry: Any
) -> dict[str, Any]:
    """datacube's x/y or geopolygon; refuses an unbounded query over the whole archive."""
    if geometry is not None:
        from odc.geo.geom import Geometry

        if not isinstance(geometry, Geometry):
            geometry = Geometry(geometry, crs="EPSG:4326")  # shapely, lon/lat
        return {"geopolygon": geometry}
    if lon is None or lat is None:
        raise QueryError("give lon=(west, east) and lat=(south, north), or geometry=")
    return {"x": tuple(lon), "y": tuple(lat)}


def describe_query(query: dict[str, Any]) -> str:
    """The query's fields as an error message names them (a geometry by its bounds)."""
    parts = [f"{k}={v}" for k, v in query.items() if k != "geopolygon"]
    if "geopolygon" in query:
        parts.append(
            f"geometry with bounds {tuple(round(b, 4) for b in query['geopolygon'].boundingbox)}"
        )
    return ", ".join(parts)
