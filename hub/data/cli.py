"""`sdl data ...`: the index of the satellite archive, for admins (init, add, sync, sample) and
everyone (ls, show). Mounted into the `sdl` CLI by `cli.add_command(data)`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from hub.cli_options import platform_options
from hub.settings import Settings


@click.group("data")
def data() -> None:
    """The Earth-observation archive: Sentinel-1/-2/-3 products in the Open Data Cube index."""


@data.command("init")
@platform_options
def init_cmd(settings: Settings) -> None:
    """Create the index database, its schema and roles, and every mission's products."""
    from hub.data.index_schema import init_index

    changed = init_index(settings)
    click.echo(f"index ready ({', '.join(changed) + ' created' if changed else 'unchanged'})")


@data.command("add")
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=2,
    show_default=True,
    help="Products decoded/converted in parallel.",
)
@click.option(
    "--convert",
    type=click.Choice(["cog", "netcdf"]),
    help="Write analysis-ready copies next to the archive and index those.",
)
@click.option("--crs", help="With --convert: store the copies in this CRS, e.g. EPSG:3006.")
@click.option(
    "--dask",
    metavar="ADDRESS",
    help="Check and convert on a Dask cluster's workers (scheduler address, e.g. "
    "tcp://10.0.0.5:8786), for an archive's backfill; its workers must see the same paths.",
)
@click.option(
    "--share",
    metavar="I/N",
    callback=lambda _ctx, _param, value: _share(value),
    help="Only share I of N (0-based) of the inputs: for N pods of an indexed Job.",
)
@platform_options
def add_cmd(
    settings: Settings,
    paths: tuple[str, ...],
    workers: int,
    convert: str | None,
    crs: str | None,
    dask: str | None,
    share: tuple[int, int] | None,
) -> None:
    """Index SAFE folders/zips, STAC items and eo3 documents (files, folders or globs)."""
    from hub.data.index import add, summary_table

    console = Console(stderr=True)
    result = add(
        paths,
        settings,
        workers=workers,
        convert=convert,
        crs=crs,
        console=console,
        dask=dask,
        share=share,
    )
    Console().print(summary_table(result))
    if not result.ok:
        sys.exit(1)


@data.command("sync")
@click.option("--stac", "stac_url", metavar="URL", help="STAC API [default: sync.stac_url, CDSE].")
@click.option(
    "--collection",
    "collections",
    multiple=True,
    help="Collection to search, repeatable [default: sync.collections].",
)
@click.option(
    "--bbox",
    metavar="W,S,E,N",
    callback=lambda _ctx, _param, value: _bbox(value),
    help="Area in degrees, instead of the AOI.",
)
@click.option(
    "--aoi",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="GeoJSON area [default: sync.aoi, the shipped outline of Sweden].",
)
@click.option("--since", metavar="DATE", help="Sensed on or after (YYYY-MM-DD).")
@click.option("--until", metavar="DATE", help="Sensed on or before (YYYY-MM-DD).")
@click.option("--max-cloud", type=click.FloatRange(0, 100), help="Cloud cover at most (%).")
@click.option("--workers", type=click.IntRange(1, 32), help="Products downloaded at once.")
@click.option("--max-mb-per-s", type=click.FloatRange(0), help="Bandwidth cap (MB/s, 0: none).")
@click.option("--dry-run", is_flag=True, help="Search and list what would be downloaded.")
@platform_options
def sync_cmd(settings: Settings, dry_run: bool, **given: Any) -> None:
    """Download new products from a STAC API into the archive and index them (admin).

    Skips what is indexed (or has a newer twin), resumes cut downloads, checks
    file:size/file:checksum, and indexes each product only when it is complete."""
    from hub.data.sync import options, summary_table, sync

    if given["bbox"] and given["aoi"]:
        raise click.UsageError("--bbox and --aoi: give one")
    opts = options(settings, **given)
    result = sync(settings, opts, dry_run=dry_run, console=Console(stderr=True))
    Console(width=200).print(summary_table(result))
    if not result.ok:
        sys.exit(1)


def _bbox(value: str | None) -> tuple[float, float, float, float] | None:
    if value is None:
        return None
    try:
        west, south, east, north = (float(part) for part in value.split(","))
    except ValueError:
        raise click.BadParameter(f"{value!r}: use W,S,E,N, e.g. 11,55,24,69") from None
    return west, south, east, north


def _share(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        index_of, shares = (int(part) for part in value.split("/"))
    except ValueError:
        raise click.BadParameter(f"{value!r}: use I/N, e.g. 3/16") from None
    if shares < 1 or not 0 <= index_of < shares:
        raise click.BadParameter(f"{value!r}: I must be 0..N-1")
    return index_of, shares


@data.command("sample")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="Where to write the SAFE folders [default: <archive>/sample].",
)
@platform_options
def sample_cmd(settings: Settings, out: Path | None) -> None:
    """Write a small deterministic Sentinel-2 and Sentinel-1 sample over northern Sweden
    (then `add` it)."""
    from hub.data.sample import generate

    target = out or settings.archive / "sample"
    written = generate(target, progress=lambda name: click.echo(f"  {name}", err=True))
    click.echo(f"{len(written)} products in {target}; index them with: sdl data add {target}")


DB_URL = click.option(
    "--db-url",
    # in a workspace, the user's own read-only login is already in the environment
    envvar=["SDL_DB_URL", "ODC_DEFAULT_DB_URL"],
    help="Read with this database URL (in a workspace: your read-only login) instead of as admin.",
)


@data.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--datasets", "per_dataset", is_flag=True, help="One row per dataset (id, label, ...)."
)
@click.option("--product", help="With --datasets: only this product, e.g. s2_l2a.")
@click.option("--tile", help="With --datasets: only this MGRS tile, e.g. 34WFS.")
@click.option(
    "--time",
    "time_range",
    nargs=2,
    metavar="FROM TO",
    help="With --datasets: acquired between two dates, e.g. --time 2026-06-01 2026-06-30.",
)
@click.option("--archived", is_flag=True, help="With --datasets: include archived twins.")
@DB_URL
@platform_options
def ls_cmd(
    settings: Settings,
    as_json: bool,
    per_dataset: bool,
    product: str | None,
    tile: str | None,
    time_range: tuple[str, str] | None,
    archived: bool,
    db_url: str | None,
) -> None:
    """What is indexed: per mission and product (datasets, twins, time range, coverage), or with
    --datasets one row per dataset, whose id or label `sdl data show` takes."""
    from hub.data.catalog import list_datasets, summarise

    if not per_dataset and (product or tile or time_range or archived):
        raise click.UsageError("--product, --tile, --time and --archived need --datasets")
    if per_dataset:
        found = list_datasets(settings, db_url, product, tile, time_range or None, archived)
        if as_json:
            click.echo(json.dumps(found, indent=2, default=str))
            return
        listing = Table(title=f"{len(found)} datasets")
        for column in ("time", "product", "tile", "platform", "cloud %", "label", "id"):
            listing.add_column(column, overflow="fold")
        for row in found:
            cloud = "-" if row["cloud_cover"] is None else f"{row['cloud_cover']:.1f}"
            listing.add_row(
                row["time"],
                row["product"],
                row["tile"],
                row["platform"],
                cloud,
                row["label"],
                row["id"],
            )
        Console(width=200).print(listing)
        return
    rows = summarise(settings, db_url)
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    missions: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        missions.setdefault(row["mission"] or "(no mission)", []).append(row)
    for mission, members in missions.items():  # one table per mission
        total = sum(row["datasets"] for row in members)
        table = Table(title=f"{mission}: {total} datasets")
        for column in ("product", "level", "datasets", "twins", "from", "to", "lon", "lat"):
            table.add_column(column)
        table.add_column("tiles / orbits")
        for row in members:
            table.add_row(
                row["product"],
                row["level"],
                str(row["datasets"]),
                str(row["twins"]),
                row["from"],
                row["to"],
                row["lon"],
                row["lat"],
                ", ".join(row["tiles"]),
            )
        Console().print(table)


@data.command("show")
@click.argument("dataset_id")
@DB_URL
@platform_options
def show_cmd(settings: Settings, dataset_id: str, db_url: str | None) -> None:
    """One dataset's document (by id or label), as YAML."""
    import yaml

    from hub.data.catalog import find_dataset

    click.echo(yaml.safe_dump(find_dataset(settings, dataset_id, db_url), sort_keys=False))
