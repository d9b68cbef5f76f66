"""`eo.coverage_map()`: the archive's status map in a notebook, as an ipyleaflet Map.

    from hub import eo
    eo.coverage_map(time=("2026-06-01", "2026-08-31"))

The same data as the hub's archive page (`hub.archive.status.tile_status`): one GeoJSON
feature per MGRS tile, yellow, with its products, dates, cloud cover and expected next
passes in the hover text. Drawn on the bundled Nordic outline; no web tiles unless
`tile_url` is given, so it works without internet.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from hub.archive import STATIC
from hub.archive.page import satellite
from hub.archive.status import parse_day, tile_status
from hub.data.db import datacube_for

if TYPE_CHECKING:
    from datacube import Datacube
    from ipyleaflet import Map

HELD_STYLE = {"color": "#b08a00", "weight": 2, "fillColor": "#ffd400", "fillOpacity": 0.55}
LAND_STYLE = {"color": "#888", "weight": 1, "fillColor": "#f4f1ea", "fillOpacity": 1}


def coverage_map(
    time: tuple[str | date | None, str | date | None] | None = None,
    dc: Datacube | None = None,
    url: str | None = None,
    now: datetime | None = None,
    passes: int = 4,
    tile_url: str = "",
) -> Map:
    """The tiles the archive holds (sensed within `time`, whole days, both ends included),
    on an offline outline; `dc`/`url` as in `eo.load` (default: the workspace's index)."""
    from ipyleaflet import GeoJSON, Map, TileLayer, WidgetControl
    from ipywidgets import HTML

    dc = dc or datacube_for(url)
    start, end = time or (None, None)
    status = tile_status(dc.index, _day(start, "from"), _day(end, "to"), now=now, passes=passes)
    for feature in status["features"]:  # what the hover text shows
        feature["properties"]["summary"] = summary(feature["properties"])
    outline = json.loads((STATIC / "nordic.geojson").read_text())
    layers: list[Any] = [GeoJSON(data=outline, style=LAND_STYLE, name="outline")]
    if tile_url:
        layers.insert(0, TileLayer(url=tile_url, name="tiles"))
    held = GeoJSON(
        data={k: status[k] for k in ("type", "features")},
        style=HELD_STYLE,
        hover_style={"fillOpacity": 0.8},
        name="archive",
    )
    layers.append(held)
    # layers given explicitly: no default OpenStreetMap basemap (no internet needed)
    m = Map(layers=tuple(layers), center=_centre(status), zoom=5, scroll_wheel_zoom=True)
    label = HTML(f"{len(status['features'])} tiles, {status['products']} products; hover a tile")
    m.add(WidgetControl(widget=label, position="topright"))

    def show(feature: dict[str, Any], **_: Any) -> None:
        label.value = feature["properties"]["summary"]

    held.on_hover(show)
    m.archive_status = status  # the document behind the map, for code that wants the numbers
    return m


def summary(p: dict[str, Any]) -> str:
    """One line per tile: products, dates, cloud cover, next pass."""
    nxt = p["next_passes"][0] if p["next_passes"] else None
    then = f"; next {nxt['time'][:10]} {satellite(nxt['platform'])}" if nxt else ""
    return (
        f"{p['tile']}: {p['products']} products, {p['first'][:10]} to {p['latest'][:10]}, "
        f"cloud mean {p['cloud_mean']} %{then}"
    )


def _day(value: str | date | None, name: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return parse_day(value, name)


def _centre(status: dict[str, Any]) -> tuple[float, float]:
    """(lat, lon) of the tiles' middle; Sweden's when there are none."""
    from shapely.geometry import shape
    from shapely.ops import unary_union

    shapes = [shape(f["geometry"]) for f in status["features"] if f["geometry"]]
    if not shapes:
        return (62.0, 16.0)
    middle = unary_union(shapes).centroid
    return (middle.y, middle.x)
