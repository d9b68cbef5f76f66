"""The archive service's own read of the index (hub.archive.index_rows) against datacube's
API, on a real index with the sample cube: the same rows, the same documents, and a
change of the index (a product added, one archived, one purged) seen on the next call."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hub.archive.index_rows import StatusSource, read_rows
from hub.archive.status import Row, _rows, tile_status
from hub.data.db import admin_url, connect
from hub.data.index import add
from hub.data.index_schema import init_index
from hub.settings import Settings, load_settings

NOW = datetime(2026, 9, 10, tzinfo=UTC)


@pytest.fixture(scope="module")
def own(settings: Settings, sample_dir: Path) -> Settings:
    """An index database of its own with the sample cube's Sentinel-2 products (the map's):
    these tests change it."""
    own = load_settings(
        overrides={"data_dir": str(settings.data_dir), "database": {"name": "datacube_rows"}}
    )
    init_index(own)
    result = add(sorted(sample_dir.glob("S2*.SAFE")), own, workers=2)
    assert result.ok
    return own


@pytest.fixture(scope="module")
def url(own: Settings) -> Iterator[str]:
    with admin_url(own) as url:
        yield url


@pytest.fixture
def index(url: str) -> Iterator[Any]:
    index = connect(url)
    yield index
    index.close()


def comparable(row: Row) -> tuple[Any, ...]:
    # the footprint's JSON text is PostgreSQL's here and Python's through datacube
    footprint = json.loads(row.geometry) if row.geometry else None
    return (row.tile, row.time, row.cloud, row.platform, row.level, row.orbit, row.crs, footprint)


def test_the_rows_are_what_datacube_search_returns(url: str, index: Any) -> None:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        ours = read_rows(conn)
    engine.dispose()
    theirs = list(_rows(index))
    assert len(ours) == len(theirs) == 20
    assert sorted(map(comparable, ours.values())) == sorted(map(comparable, theirs))


@pytest.mark.parametrize(
    ("start", "end"),
    [(None, None), (date(2026, 7, 1), date(2026, 7, 27)), (date(2027, 1, 1), None)],
)
def test_the_service_gives_tile_status_s_document(
    url: str, index: Any, start: date | None, end: date | None
) -> None:
    source = StatusSource(url)
    try:
        expected = tile_status(index, start, end, now=NOW)
        assert source.status(start, end, now=NOW) == expected
        assert source.status(start, end, now=NOW) == expected  # cached: the same
    finally:
        source.close()


def test_a_change_of_the_index_is_seen_reading_only_what_changed(
    url: str, own: Settings, index: Any, fresh_product
) -> None:
    source = StatusSource(url)
    try:
        source.status(now=NOW)
        held = source.held
        assert source.refresh() == set()  # nothing changed: nothing read
        added = add([fresh_product(level="L2A", site_index=1)], own, workers=1)
        assert added.ok
        (label,) = [o.label for o in added.outcomes if o.status == "added"]
        (new,) = index.datasets.search_by_metadata({"label": label})
        new_id, new_tile = new.id, new.metadata_doc["properties"]["odc:region_code"]
        gone = next(iter(index.datasets.search(region_code=_other_tile(index, new_tile))))
        index.datasets.archive([gone.id])
        touched = source.refresh()
        assert source.held is held  # updated in place, not read again
        assert touched == {new_tile, gone.metadata_doc["properties"]["odc:region_code"]}
        assert source.status(now=NOW) == tile_status(index, now=NOW)
        # a purge leaves a count the changes do not explain: everything is read again
        index.datasets.purge([gone.id])
        index.datasets.archive([new_id])
        index.datasets.purge([new_id])
        source.refresh()
        assert source.held is not held
        assert source.status(now=NOW) == tile_status(index, now=NOW)
    finally:
        source.close()


def _other_tile(index: Any, tile: str) -> str:
    tiles = {d.metadata_doc["properties"]["odc:region_code"] for d in index.datasets.search()}
    return sorted(tiles - {tile})[0]
