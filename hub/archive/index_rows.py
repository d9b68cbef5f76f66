"""The status map's rows straight from the index's tables, for the archive service.

datacube's `search_returning` builds a Python object per dataset (~10 s for 10^5 here);
this reads the same fields with one SQL query per metadata type, their JSON paths taken
from the index's own metadata type definitions (as datacube's postgres driver builds its
search expressions: `least` of a range's `min_offset`s through `agdc.common_timestamp`),
so it needs neither datacube nor its API objects (the hub pod on Kubernetes has neither).
`tests/data/test_archive_rows.py` checks it returns what `search_returning` does.

`StatusSource` is what the service reads through, caching by index change: every active
dataset's row in memory (read once, in the background from the service's start) and
each tile's feature per time range. A change of the index (one cheap query: active
count, latest added, updated and archived times) fetches only the rows added or changed
since (`added`/`updated`/`archived` after the last seen; the table's own columns, no
JSON read for the others) and recomputes only the tiles they touch; a count that does
not add up (a purge) reads everything again. The expected passes, which move with the
clock, are recounted on each request from each tile's latest rows. The index is looked
at again at most every RECHECK_S seconds, so a burst of requests costs one look.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa

from hub.archive.status import (
    CONSTELLATION,
    SENTINEL_2,
    Row,
    envelope,
    next_passes,
    query_bounds,
    tile_feature,
)

log = logging.getLogger("sdl.archive")

#: Search fields of the map, by their names in the metadata types.
FIELDS = {"tile": "region_code", "cloud": "cloud_cover", "platform": "platform"}
LEVEL_FIELD = "processing_level"
ORBIT = "sat:relative_orbit"  # under properties
CACHED_RANGES = 16  # time ranges whose features are kept
#: Requests within this many seconds of the last look at the index are answered without
#: another (its state query reads the whole dataset table's columns: ~0.1 s at 10^5).
RECHECK_S = 5.0
Range = tuple[date | None, date | None]


def _path(offset: list[str] | tuple[str, ...]) -> str:
    """A jsonb path literal, e.g. '{properties,eo:platform}' (each key double-quoted)."""
    keys = ",".join('"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"' for key in offset)
    return "'{" + keys.replace("'", "''") + "}'"


#: The products the map shows (Sentinel-2's), by their definitions' metadata.
MAPPED_PRODUCTS = (
    "SELECT id FROM agdc.dataset_type WHERE metadata #>> "
    f"{_path(('properties', CONSTELLATION))} = '{SENTINEL_2}'"
)


def _value(fields: dict[str, Any], name: str) -> str:
    """The field's text from the row's properties (`p`) or its whole document (`m`)."""
    offset = (fields.get(name) or {}).get("offset")
    if not offset:
        return "NULL"
    if offset[0] == "properties" and len(offset) > 1:
        return f"p #>> {_path(offset[1:])}"
    return f"m #>> {_path(offset)}"


def _time(fields: dict[str, Any]) -> str:
    parts = [
        f"agdc.common_timestamp({_value({'t': {'offset': o}}, 't')})"
        for o in fields["time"]["min_offset"]
    ]
    return parts[0] if len(parts) == 1 else f"least({', '.join(parts)})"


def _select(type_id: int, fields: dict[str, Any], where: str) -> str:
    # each reference to the stored document decompresses it again: take the two small
    # parts the map reads once each (OFFSET 0 keeps PostgreSQL from inlining them back);
    # `m` stays for a field outside properties (read from the document only then)
    return (
        f"SELECT id, {_value(fields, FIELDS['tile'])} AS tile, {_time(fields)} AS time, "
        f"CAST({_value(fields, FIELDS['cloud'])} AS double precision) AS cloud, "
        f"{_value(fields, FIELDS['platform'])} AS platform, "
        f"{_value(fields, LEVEL_FIELD)} AS level, p ->> '{ORBIT}' AS orbit, "
        "g ->> 'spatial_reference' AS crs, g ->> 'valid_data' AS geometry "
        "FROM (SELECT id, metadata AS m, metadata -> 'properties' AS p, "
        "metadata #> '{grid_spatial,projection}' AS g FROM agdc.dataset "
        f"WHERE archived IS NULL AND metadata_type_ref = {int(type_id)} AND ({where}) "
        f"AND dataset_type_ref IN ({MAPPED_PRODUCTS}) "
        "OFFSET 0) AS d"
    )


def read_rows(conn: sa.Connection, where: str = "true", **params: Any) -> dict[Any, Row]:
    """Active datasets matching `where` (SQL on agdc.dataset's columns) as status rows by
    id: the fields `status._rows` reads through datacube."""
    types = conn.execute(sa.text("SELECT id, definition FROM agdc.metadata_type")).all()
    rows: dict[Any, Row] = {}
    for type_id, definition in types:
        fields = definition.get("dataset", {}).get("search_fields", {})
        if "time" not in fields:
            continue  # not a metadata type of acquisitions (datacube's telemetry)
        for found in conn.execute(sa.text(_select(type_id, fields, where)), params):
            start = found.time if found.time.tzinfo else found.time.replace(tzinfo=UTC)
            rows[found.id] = Row(
                tile=str(found.tile or "?"),
                time=start,
                cloud=found.cloud,
                platform=str(found.platform or "unknown"),
                level=str(found.level or "?"),
                orbit=int(found.orbit) if found.orbit not in (None, "") else None,
                crs=str(found.crs or "EPSG:4326"),
                geometry=found.geometry or "",
            )
    return rows


@dataclass(frozen=True)
class IndexState:
    active: int
    added: datetime | None
    updated: datetime | None
    archived: datetime | None


def index_state(conn: sa.Connection) -> IndexState:
    """Changes whenever a dataset is added, archived, restored, updated or purged."""
    active, added, updated, archived = conn.execute(
        sa.text(
            "SELECT count(*) FILTER (WHERE archived IS NULL AND dataset_type_ref IN "
            f"({MAPPED_PRODUCTS})), max(added), max(updated), max(archived) FROM agdc.dataset"
        )
    ).one()
    return IndexState(int(active), added, updated, archived)


@dataclass
class Held:
    """What the service holds of the index: rows by id, and by tile."""

    state: IndexState | None = None
    rows: dict[Any, Row] = field(default_factory=dict)
    ids_by_tile: dict[str, set[Any]] = field(default_factory=dict)
    latest_by_tile: dict[str, list[Row]] = field(default_factory=dict)

    def tile_rows(self, tile: str) -> list[Row]:
        return [self.rows[i] for i in self.ids_by_tile.get(tile, ())]

    def latest(self, tile: str) -> list[Row]:
        """The tile's latest row per (relative orbit, satellite): all `next_passes` reads."""
        if tile not in self.latest_by_tile:
            latest: dict[tuple[int | None, str], Row] = {}
            for row in self.tile_rows(tile):
                key = (row.orbit, row.platform)
                if key not in latest or row.time > latest[key].time:
                    latest[key] = row
            self.latest_by_tile[tile] = list(latest.values())
        return self.latest_by_tile[tile]

    def put(self, found: dict[Any, Row], gone: set[Any]) -> set[str]:
        """Apply changed rows; the tiles touched (a row read again unchanged touches none:
        the look back from the last `added` time includes that time's own rows)."""
        touched = set()
        for key in gone | set(found):
            old = self.rows.get(key)
            if old is None or found.get(key) == old:
                continue
            del self.rows[key]
            touched.add(old.tile)
            self.ids_by_tile[old.tile].discard(key)
        for key, row in found.items():
            if key not in self.rows:
                self.rows[key] = row
                self.ids_by_tile.setdefault(row.tile, set()).add(key)
                touched.add(row.tile)
        for tile in touched:
            self.latest_by_tile.pop(tile, None)
        return touched


def changes_since(conn: sa.Connection, state: IndexState) -> tuple[dict[Any, Row], set[Any]]:
    """Rows added, updated or restored since `state`, and the ids archived since."""
    params = {"added": state.added, "updated": state.updated, "archived": state.archived}
    conditions = []
    if state.added is not None:
        conditions.append("added >= :added")
    if state.updated is not None:
        conditions.append("updated >= :updated")
    where = " OR ".join(conditions) or "true"
    found = read_rows(conn, where, **params)
    archived = "archived IS NOT NULL" + (" AND archived >= :archived" if state.archived else "")
    gone = {
        key
        for (key,) in conn.execute(
            sa.text(f"SELECT id FROM agdc.dataset WHERE {archived} OR updated >= :updated"),
            params,
        )
        if key not in found
    }
    return found, gone


class StatusSource:
    """The service's view of the index; see the module docstring."""

    def __init__(self, url: str, warm: bool = False, recheck_s: float = RECHECK_S) -> None:
        self.engine = sa.create_engine(url, pool_pre_ping=True)  # a restarted server: reconnect
        self.lock = threading.Lock()  # one refresh at a time; requests wait for it
        self.recheck_s = recheck_s
        self.checked = -math.inf  # time.monotonic() of the last look at the index
        self.held = Held()
        self.features: OrderedDict[Range, dict[str, dict[str, Any] | None]] = OrderedDict()
        if warm:  # read the index now, before the first user asks
            threading.Thread(target=self._refresh_locked, daemon=True).start()

    def _refresh_locked(self) -> None:
        try:
            with self.lock:
                self.refresh()
        except sa.exc.SQLAlchemyError as exc:  # the first request tries again
            log.warning("the index could not be read yet: %s", exc.__class__.__name__)

    def refresh(self) -> set[str]:
        """Bring the rows up to the index (caller holds the lock); the tiles touched."""
        with self.engine.connect() as conn:
            state = index_state(conn)
            self.checked = time.monotonic()
            held = self.held
            if state == held.state:
                return set()
            touched: set[str] = set()
            if held.state is not None:
                touched = held.put(*changes_since(conn, held.state))
            if held.state is None or len(held.rows) != state.active:
                self.held = held = Held()  # first read, or a purge: everything again
                touched = held.put(read_rows(conn), set())
                self.features.clear()
            held.state = state
        for features in self.features.values():
            for tile in touched:
                features.pop(tile, None)
        return touched

    def status(
        self,
        start: date | None = None,
        end: date | None = None,
        now: datetime | None = None,
        passes: int = 4,
    ) -> dict[str, Any]:
        """`status.tile_status`'s document for the range, the passes counted from `now`."""
        now, lower, upper = query_bounds(start, end, now)
        with self.lock:
            if time.monotonic() - self.checked >= self.recheck_s:
                self.refresh()
            held = self.held
            features = self.features.setdefault((start, end), {})
            self.features.move_to_end((start, end))
            while len(self.features) > CACHED_RANGES:
                self.features.popitem(last=False)
            found = []
            for tile in sorted(t for t, ids in held.ids_by_tile.items() if ids):
                if tile not in features:
                    rows = held.tile_rows(tile)
                    features[tile] = tile_feature(tile, rows, lower, upper, now, passes)
                feature = features[tile]
                if feature is not None:
                    passing = next_passes(held.latest(tile), now, passes)  # move with the clock
                    found.append(
                        {**feature, "properties": {**feature["properties"], "next_passes": passing}}
                    )
        return envelope(found, start, end, now)

    def close(self) -> None:
        self.engine.dispose()
