"""The archive's status per tile, on the real index with the sample cube indexed."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from shapely.geometry import Point, shape

from hub.archive.status import ArchiveQueryError, archive_status, parse_day, tile_status
from hub.data import sample
from hub.data.catalog import list_datasets, reading
from hub.settings import Settings

NOW = datetime(2026, 9, 10, tzinfo=UTC)
PLATFORMS = {"S2B": "sentinel-2b", "S2C": "sentinel-2c"}


def site_tiles() -> dict[str, sample.Site]:
    return {sample.mgrs_tile(s.lon, s.lat, s.epsg): s for s in sample.SITES}


def by_tile(settings: Settings) -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in list_datasets(settings):
        if row["product"].startswith("s2_"):  # the map is of Sentinel-2's MGRS tiles
            rows[row["tile"]].append(row)
    return rows


def features(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["properties"]["tile"]: f for f in status["features"]}


def test_one_feature_per_tile_with_the_datasets_counts_dates_and_clouds(
    settings: Settings, indexed
) -> None:
    status = archive_status(settings, now=NOW)
    found = features(status)
    expected = by_tile(settings)
    assert sorted(found) == sorted(expected) == sorted(site_tiles())
    assert status["products"] == sum(len(rows) for rows in expected.values()) == 20
    for tile, rows in expected.items():
        props = found[tile]["properties"]
        times = sorted(r["time"] for r in rows)
        assert props["products"] == len(rows)
        assert props["acquisitions"] == len(rows) // 2  # each date as L1C and L2A
        assert (props["first"], props["latest"]) == (times[0], times[-1])
        assert props["levels"] == {"L1C": len(rows) // 2, "L2A": len(rows) // 2}
        clouds = [r["cloud_cover"] for r in rows]
        assert props["cloud_mean"] == pytest.approx(sum(clouds) / len(clouds), abs=0.01)
        last = [r["cloud_cover"] for r in rows if r["time"] == times[-1]]
        assert props["cloud_last"] == pytest.approx(sum(last) / len(last), abs=0.01)
        assert props["platforms"] == sorted({r["platform"] for r in rows})
        site = site_tiles()[tile]
        assert props["relative_orbits"] == [site.orbit]
        # the footprint is the products' own, in lon/lat, around the site
        assert shape(found[tile]["geometry"]).contains(Point(site.lon, site.lat))
    assert "every 10 days" in status["assumption"] and status["revisit_days"] == 10


def test_next_passes_add_whole_ten_day_cycles_per_satellite(settings: Settings, indexed) -> None:
    found = features(archive_status(settings, now=NOW, passes=4))
    for tile, rows in by_tile(settings).items():
        site = site_tiles()[tile]
        expected = []
        for platform in {r["platform"] for r in rows}:
            last = max(datetime.fromisoformat(r["time"]) for r in rows if r["platform"] == platform)
            while last <= NOW:
                last += timedelta(days=10)
            expected += [(last + timedelta(days=10 * k), platform) for k in range(4)]
        expected = sorted(expected)[:4]
        passes = found[tile]["properties"]["next_passes"]
        assert [(datetime.fromisoformat(p["time"]), p["platform"]) for p in passes] == expected
        assert {p["relative_orbit"] for p in passes} == {site.orbit}
        assert all(datetime.fromisoformat(p["time"]) > NOW for p in passes)
    # Luleå, read off the sample's dates: S2C last 21 Aug, S2B last 27 Jul: 5 days apart
    lulea = sample.mgrs_tile(sample.SITES[0].lon, sample.SITES[0].lat, sample.SITES[0].epsg)
    days = [(p["time"][:10], p["platform"]) for p in found[lulea]["properties"]["next_passes"]]
    assert days == [
        ("2026-09-10", "sentinel-2c"),
        ("2026-09-15", "sentinel-2b"),
        ("2026-09-20", "sentinel-2c"),
        ("2026-09-25", "sentinel-2b"),
    ]


def test_time_range_keeps_whole_days_at_both_ends(settings: Settings, indexed) -> None:
    july = features(archive_status(settings, start=date(2026, 7, 1), end=date(2026, 7, 27)))
    wanted: dict[str, set[str]] = defaultdict(set)
    for name, day, _, _ in sample.ACQUISITIONS:
        if "2026-07-01" <= day <= "2026-07-27":
            site = next(s for s in sample.SITES if s.name == name)
            wanted[sample.mgrs_tile(site.lon, site.lat, site.epsg)].add(day)
    assert sorted(july) == sorted(wanted)
    for tile, days in wanted.items():
        props = july[tile]["properties"]
        assert props["products"] == 2 * len(days)
        assert (props["first"][:10], props["latest"][:10]) == (min(days), max(days))
        # the prediction still starts from the tile's latest product, outside the range too
        assert props["next_passes"]
    assert features(archive_status(settings, start=date(2027, 1, 1))) == {}


def test_read_through_another_connection_and_refuse_bad_ranges(
    settings: Settings, indexed, url: str
) -> None:
    with reading(settings, url) as index:
        assert len(tile_status(index, now=NOW)["features"]) == len(sample.SITES)
    with pytest.raises(ArchiveQueryError, match="after"):
        archive_status(settings, start=date(2026, 8, 1), end=date(2026, 7, 1))
    with pytest.raises(ArchiveQueryError, match="YYYY-MM-DD"):
        parse_day("last week", "from")
    assert parse_day("", "from") is None and parse_day("2026-07-01", "to") == date(2026, 7, 1)
