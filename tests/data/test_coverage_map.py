"""eo.coverage_map: the archive's status map in a notebook (ipyleaflet), offline."""

from __future__ import annotations

from datetime import date

from shapely.geometry import shape
from shapely.ops import unary_union

from hub.archive.status import archive_status
from hub.settings import Settings
from tests.data.test_archive_status import NOW, site_tiles


def test_coverage_map_has_one_feature_per_tile_and_no_web_tiles(settings: Settings, dc) -> None:
    from ipyleaflet import GeoJSON, Map, TileLayer

    from hub import eo

    m = eo.coverage_map(time=("2026-07-01", "2026-07-31"), dc=dc, now=NOW)
    assert isinstance(m, Map)
    assert not [layer for layer in m.layers if isinstance(layer, TileLayer)]  # offline
    held = next(layer for layer in m.layers if layer.name == "archive")
    assert isinstance(held, GeoJSON)
    tiles = [f["properties"]["tile"] for f in held.data["features"]]
    assert sorted(tiles) == sorted(site_tiles())  # July: every site has a date
    # the same document as the service's API serves for this range
    same = archive_status(settings, start=date(2026, 7, 1), end=date(2026, 7, 31), now=NOW)
    assert [f["geometry"] for f in held.data["features"]] == [
        f["geometry"] for f in same["features"]
    ]
    assert "next 2026-09-1" in held.data["features"][0]["properties"]["summary"]
    west, south, east, north = unary_union([shape(f["geometry"]) for f in same["features"]]).bounds
    assert south < m.center[0] < north and west < m.center[1] < east  # centred on the tiles
    assert len(eo.coverage_map(time=("2027-01-01", None), dc=dc).layers[-1].data["features"]) == 0
