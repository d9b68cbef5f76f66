"""`sdl data status` on a real index (embedded PostgreSQL, the sample cube's Sentinel-2
products): its table and its JSON are the archive service's own document
(`index_rows.StatusSource`, what `api/tiles` answers), for all dates and for a range;
an empty index and a missing one are said plainly."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from hub.archive.index_rows import StatusSource
from hub.archive.page import satellite
from hub.cli import cli
from hub.data import sample, synth
from hub.data.index import add
from hub.data.index_schema import init_index
from hub.db.embedded import EmbeddedPostgres
from hub.settings import Settings, load_settings

AUGUST = (date(2026, 8, 1), date(2026, 8, 31))


def sentinel_2_sample(out: Path) -> list[Path]:
    """The sample cube's Sentinel-2 products (`sample.generate` less its radar and OLCI:
    the map is of Sentinel-2's tiles)."""
    sites = {site.name: site for site in sample.SITES}
    written = []
    for name, day, platform, cloudiness in sample.ACQUISITIONS:
        site = sites[name]
        yday = date.fromisoformat(day).timetuple().tm_yday
        scene = synth.make_scene(
            name, day, yday, sample.WINDOW_PX, site.water_share, cloudiness, site.nodata_corner
        )
        for level in sample.LEVELS:
            written.append(sample.write_product(out, site, day, platform, level, scene))
    return written


@pytest.fixture(scope="module")
def data_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(dir="/tmp", prefix="sdl-status-cli-"))
    path.chmod(0o755)  # as root the postmaster runs as sdl-postgres and must enter it
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def settings(data_dir: Path) -> Iterator[Settings]:
    """A running embedded server whose index holds the sample's Sentinel-2 products."""
    settings = load_settings(overrides={"data_dir": str(data_dir)})
    with EmbeddedPostgres(data_dir).ensure_running():
        init_index(settings)
        result = add(sentinel_2_sample(settings.archive / "sample"), settings, workers=2)
        assert result.ok, [o.reason for o in result.outcomes if o.status == "rejected"]
        yield settings


def url_of(settings: Settings, database: str | None = None) -> str:
    return EmbeddedPostgres(settings.data_dir).superuser_url(database or settings.database.name)


def service_status(settings: Settings, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """What the archive service's `api/tiles` answers (its reader, its JSON)."""
    source = StatusSource(url_of(settings))
    try:
        return json.loads(json.dumps(source.status(*args, **kwargs), default=str))
    finally:
        source.close()


def sdl(settings: Settings, *args: str) -> Result:
    return CliRunner().invoke(cli, ["data", "status", "--data-dir", str(settings.data_dir), *args])


def table_rows(output: str) -> list[list[str]]:
    """The table's rows, cells stripped; a cell over several lines joined by newlines."""
    rows: list[list[str]] = []
    for line in output.splitlines():
        if not line.startswith("│"):
            continue
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if cells[0]:
            rows.append(cells)
        else:  # a continuation line of the row above (its next passes)
            rows[-1] = [f"{a}\n{b}" if b else a for a, b in zip(rows[-1], cells, strict=True)]
    return rows


def expected_rows(document: dict[str, Any]) -> list[list[str]]:
    rows = []
    for feature in document["features"]:
        p = feature["properties"]
        clouds = " / ".join(
            "-" if c is None else f"{c:.1f}" for c in (p["cloud_mean"], p["cloud_last"])
        )
        passes = "\n".join(
            f"{n['time'][:10]} {n['time'][11:16]} {satellite(n['platform'])} "
            f"R{n['relative_orbit']:03d}"
            for n in p["next_passes"]
        )
        levels = ", ".join(f"{n} {level}" for level, n in p["levels"].items())
        rows.append(
            [
                p["tile"],
                str(p["products"]),
                levels,
                p["first"][:10],
                p["latest"][:10],
                clouds,
                passes,
            ]
        )
    return rows


def test_the_table_is_the_services_status(settings: Settings) -> None:
    result = sdl(settings)
    assert result.exit_code == 0, result.output
    expected = service_status(settings)
    rows = table_rows(result.stdout)
    assert rows == expected_rows(expected)
    tiles = sorted(sample.mgrs_tile(s.lon, s.lat, s.epsg) for s in sample.SITES)
    assert [row[0] for row in rows] == tiles
    assert sum(int(row[1]) for row in rows) == expected["products"] == 20
    assert all(row[6].count("\n") == 3 for row in rows)  # four passes each
    assert f"{len(tiles)} tiles, 20 products, all dates" in result.stdout
    assert "every 10 days" in result.stdout  # the service's assumption, as on its page


def test_from_and_to_narrow_the_table_as_the_maps_range(settings: Settings) -> None:
    result = sdl(settings, "--from", AUGUST[0].isoformat(), "--to", AUGUST[1].isoformat())
    assert result.exit_code == 0, result.output
    expected = service_status(settings, *AUGUST)
    rows = table_rows(result.stdout)
    assert rows == expected_rows(expected)
    days = sorted(day for _, day, _, _ in sample.ACQUISITIONS if day.startswith("2026-08"))
    assert sorted(row[4] for row in rows) == days  # each tile's latest: its August product
    assert all(row[3] >= "2026-08-01" for row in rows)
    assert sum(int(row[1]) for row in rows) == 2 * len(days) < 20
    assert "products, from 2026-08-01 to 2026-08-31" in result.stdout
    later = sdl(settings, "--from", "2027-01-01")
    assert later.exit_code == 0, later.output
    assert later.stdout.strip() == "No products sensed from 2027-01-01."


def test_json_is_the_services_geojson(settings: Settings) -> None:
    for args, query in (((), ()), (("--from", "2026-08-01", "--to", "2026-08-31"), AUGUST)):
        result = sdl(settings, "--json", *args)
        assert result.exit_code == 0, result.output
        document = json.loads(result.stdout)
        now = datetime.fromisoformat(document["now"])  # the passes counted from the same now
        assert document == service_status(settings, *query, now=now)
        assert document["type"] == "FeatureCollection" and document["features"]
        for feature in document["features"]:
            assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
            assert {"tile", "products", "levels", "first", "latest", "cloud_mean"} <= set(
                feature["properties"]
            )


def test_bad_dates_are_refused(settings: Settings) -> None:
    soon = sdl(settings, "--from", "soon")
    assert soon.exit_code == 2 and "--from: 'soon' is not a date; use YYYY-MM-DD" in soon.output
    backwards = sdl(settings, "--from", "2026-09-01", "--to", "2026-08-01")
    assert backwards.exit_code == 2 and "from 2026-09-01 is after to 2026-08-01" in backwards.output


def test_an_empty_index_is_said_and_is_no_error(settings: Settings) -> None:
    empty = load_settings(
        overrides={"data_dir": str(settings.data_dir), "database": {"name": "datacube_empty"}}
    )
    init_index(empty)  # the schema and the products, no dataset
    result = sdl(settings, "--db-url", url_of(settings, "datacube_empty"))
    assert result.exit_code == 0, result.output
    assert "holds no Sentinel-2 products" in result.stdout and "sdl data add" in result.stdout
    as_json = sdl(settings, "--db-url", url_of(settings, "datacube_empty"), "--json")
    assert as_json.exit_code == 0 and json.loads(as_json.stdout)["features"] == []


def test_a_missing_index_database_says_how_to_create_it(settings: Settings) -> None:
    result = sdl(settings, "--db-url", url_of(settings, "datacube_nowhere"))
    assert result.exit_code == 2, result.output
    assert "'datacube_nowhere' does not exist" in result.output
    assert "sdl data init" in result.output and "Traceback" not in result.output
