"""`sdl data status`: the archive's status map as a table in the terminal.

The same document as the service's `api/tiles` (read through the service's own
`index_rows.StatusSource`), one row per MGRS tile: products per level, first and latest
date, cloud cover, the expected next passes. The index is the one the other `sdl data`
commands read: `--db-url` (in a workspace: the user's read-only login), else the admin
connection. Registered on the `sdl data` group by `hub.cli` (hub.data must not import
hub.archive: hub.archive stands on hub.data).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import click
import sqlalchemy as sa
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from hub.archive.page import satellite
from hub.cli_options import platform_options
from hub.data.cli import DB_URL
from hub.data.db import IndexError_, admin_url
from hub.db.urls import psycopg2_url
from hub.settings import Settings

COLUMNS = ("tile", "products", "levels", "first", "latest", "cloud % mean / last", "next passes")
WIDE = 200  # not a terminal (a pipe, a file): whole lines, nothing wrapped


@click.command("status")
@click.option("--from", "start", metavar="DATE", help="Sensed on or after (YYYY-MM-DD).")
@click.option("--to", "end", metavar="DATE", help="Sensed on or before (YYYY-MM-DD).")
@click.option(
    "--json", "as_json", is_flag=True, help="The GeoJSON the service answers at api/tiles."
)
@DB_URL
@platform_options
def status_cmd(
    settings: Settings, start: str | None, end: str | None, as_json: bool, db_url: str | None
) -> None:
    """Per MGRS tile: products per level, first and latest date, cloud cover and the
    expected next passes; the same as the archive's status map (/services/archive/)."""
    # hub.archive.status loads numpy, shapely and pyproj: only when this command runs
    from hub.archive.status import parse_day

    first, last = parse_day(start, "--from"), parse_day(end, "--to")
    with _index_url(settings, db_url) as url:
        document, held = read_status(url, first, last)
    if as_json:
        click.echo(json.dumps(document, default=str))  # as the service replies
        return
    if not document["features"]:
        click.echo(_nothing(document, held, make_url(url).database))
        return
    console = Console()
    if not console.is_terminal:
        console = Console(width=WIDE)
    console.print(status_table(document))


def read_status(url: str, start: date | None, end: date | None) -> tuple[dict[str, Any], int]:
    """The service's document for the range, and how many mapped products the index holds."""
    # the service's reader (and hub.archive.status): loaded only when this command runs
    from hub.archive.index_rows import StatusSource

    source = StatusSource(url)
    try:
        return source.status(start, end), len(source.held.rows)
    except sa.exc.OperationalError as exc:
        name = make_url(url).database
        if "does not exist" in str(exc.orig):
            raise IndexError_(
                f"the index database {name!r} does not exist; create it with `sdl data init` "
                "(admin), then add products with `sdl data add PATH`"
            ) from None
        raise IndexError_(f"cannot connect to the index database {name!r}: {exc.orig}") from None
    except sa.exc.ProgrammingError as exc:
        if "does not exist" not in str(exc.orig):
            raise
        raise IndexError_(
            f"the index database {make_url(url).database!r} has no Open Data Cube schema; "
            "run `sdl data init` first"
        ) from None
    finally:
        source.close()


@contextlib.contextmanager
def _index_url(settings: Settings, db_url: str | None) -> Iterator[str]:
    """As the service: the given login, else the platform's own (a server run if needed)."""
    if db_url:
        yield psycopg2_url(db_url)
        return
    with admin_url(settings) as url:
        yield url


def status_table(document: dict[str, Any]) -> Table:
    """One row per tile of the status document, as the service's page lists them."""
    table = Table(
        title=f"{len(document['features'])} tiles, {document['products']} products, "
        + _span(document),
        caption=f"Passes after {document['now'][:16].replace('T', ' ')} UTC. "
        + document["assumption"],
        caption_justify="left",
    )
    for column in COLUMNS:
        table.add_column(column, no_wrap=column != COLUMNS[-1])
    for feature in document["features"]:
        table.add_row(*row_cells(feature["properties"]))
    return table


def row_cells(p: dict[str, Any]) -> list[str]:
    """A tile's properties as the table's cells (passes one a line)."""
    passes = [
        f"{n['time'][:16].replace('T', ' ')} {satellite(n['platform'])} "
        f"R{int(n['relative_orbit']):03d}"
        for n in p["next_passes"]
    ]
    return [
        p["tile"],
        str(p["products"]),
        ", ".join(f"{n} {level}" for level, n in p["levels"].items()),
        p["first"][:10],
        p["latest"][:10],
        f"{_percent(p['cloud_mean'])} / {_percent(p['cloud_last'])}",
        "\n".join(passes) or "unknown (no relative orbit)",
    ]


def _nothing(document: dict[str, Any], held: int, database: str | None) -> str:
    if not held:
        return (
            f"The index {database!r} holds no Sentinel-2 products (the map is of their MGRS "
            "tiles); add some with `sdl data add PATH`."
        )
    return f"No products sensed {_span(document)}."


def _span(document: dict[str, Any]) -> str:
    start, end = document["from"], document["to"]
    if start and end:
        return f"from {start} to {end}"
    return f"from {start}" if start else f"until {end}" if end else "all dates"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
