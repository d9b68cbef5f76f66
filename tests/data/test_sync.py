"""`sdl data sync` against a real STAC API (`rustac serve`) over items whose assets a local
HTTP server with Range support serves: real ESA products, rebuilt at full size
(`tests.support.real_products.rebuild`), one as a SAFE zip (CDSE's shape), one as
per-band JP2 assets (Element84's shape)."""

from __future__ import annotations

import json
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from hub.cli import cli
from hub.data.db import admin_url
from hub.data.eo3 import dataset_id
from hub.data.index_schema import init_index
from hub.data.sync import options, sync
from hub.data.sync_download import (
    CHUNK,
    DownloadError,
    RateLimit,
    multihash_sha256,
    parse_multihash,
)
from hub.settings import Settings, load_settings
from tests.support.real_products import ZIPS, rebuild
from tests.support.stac_items import band_item, name_of, zip_item, zip_safe
from tests.support.stac_server import AssetHost, FaultyProxy, rustac_api

pytestmark = pytest.mark.timeout(300)

ZIPPED, BANDED, BAD = ZIPS[1], ZIPS[2], ZIPS[0]  # T53JQJ, T48LWP, T56JMM (thumbnails)


@pytest.fixture(scope="module")
def settings(settings: Settings) -> Settings:
    """An index database of its own on the suite's server: other data tests index some
    of the same real products, and sync skips what is indexed."""
    own = load_settings(
        overrides={"data_dir": str(settings.data_dir), "database": {"name": "datacube_sync"}}
    )
    init_index(own)
    return own


def platform_args(settings: Settings) -> list[str]:
    """`sdl` options that name this module's data dir and index database."""
    config = settings.data_dir / "sync-test-settings.yaml"
    config.write_text(f"database:\n  name: {settings.database.name}\n")
    return ["--config", str(config), "--data-dir", str(settings.data_dir)]


@pytest.fixture
def row_counts(settings: Settings):
    """row_counts() -> (datasets, locations) in this module's index."""

    def count() -> tuple[int, int]:
        with admin_url(settings) as url:
            engine = sa.create_engine(url)
            try:
                with engine.connect() as conn:
                    datasets = conn.execute(sa.text("SELECT count(*) FROM agdc.dataset"))
                    locations = conn.execute(sa.text("SELECT count(*) FROM agdc.dataset_location"))
                    return int(datasets.scalar_one()), int(locations.scalar_one())
            finally:
                engine.dispose()

    return count


SINCE = "2018-01-01"
CUT_AT = 5_000_000


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The asset host, the STAC API over five items, and the items by role."""
    root = tmp_path_factory.mktemp("sync-served")
    root.chmod(0o755)
    with ThreadPoolExecutor(2) as pool:  # ~25 s each; GDAL's JP2 writer frees the GIL
        zipped = pool.submit(rebuild, ZIPPED, root / "a")
        banded = pool.submit(rebuild, BANDED, root / "b")
        zipped_safe, banded_safe = zipped.result(), banded.result()
    served_zip = zip_safe(zipped_safe, root)
    shutil.rmtree(zipped_safe)
    bad = shutil.copy(BAD, root / BAD.name)
    host = AssetHost(root)
    items = {
        "zip": zip_item(ZIPPED, served_zip, host, "sentinel-2-l1c"),
        "bands": band_item(BANDED, banded_safe, host, "sentinel-2-l1c"),
        "bad": zip_item(BAD, Path(bad), host, "bad-checksum"),
    }
    items["bad"]["assets"]["Product"]["file:checksum"] = "1220" + "00" * 32
    older = dict(items["zip"], id=name_of(ZIPPED)[:-1] + "8", collection="twins")  # ..T022858
    older["assets"] = {
        "Product": {"href": host.href(root / "never.zip"), "type": "application/zip"}
    }
    items["older_twin"] = older
    feed = root / "items.json"
    feed.write_text(json.dumps({"type": "FeatureCollection", "features": list(items.values())}))
    aoi = root / "aoi.geojson"
    features = [
        {"type": "Feature", "properties": {}, "geometry": i["geometry"]} for i in items.values()
    ]
    aoi.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    with host, rustac_api(feed) as api:
        yield {"api": api, "host": host, "items": items, "aoi": aoi, "served_zip": served_zip}


def _sync(settings, world, collection: str, dry_run: bool = False, **given):
    opts = options(
        settings,
        stac_url=given.pop("stac_url", world["api"]),
        collections=[collection],
        aoi=world["aoi"],
        since=SINCE,
        **given,
    )
    return sync(settings, opts, backoff_s=0.05, dry_run=dry_run)


def _by_name(result) -> dict:
    return {o.name: o for o in result.outcomes}


def test_sync_adds_resumes_a_cut_download_and_then_downloads_nothing(
    settings, world, row_counts
) -> None:
    host: AssetHost = world["host"]
    zipped, banded = name_of(ZIPPED), name_of(BANDED)
    zip_path = world["served_zip"].name
    partial = settings.archive / "sync" / ".partial" / zipped / f"{zipped}.zip"
    before = row_counts()[0]

    # 1. the zip's connection is cut mid-file and no retries are allowed: that product
    #    fails and keeps its partial file (hidden); the per-band product is added
    host.cut_once[zip_path] = CUT_AT
    first = _sync(settings, world, "sentinel-2-l1c", retries=0)
    outcome = _by_name(first)
    assert first.found == 2
    assert outcome[banded].status == "added", outcome[banded].reason
    assert outcome[zipped].status == "rejected" and "cut after" in outcome[zipped].reason
    kept = partial.stat().st_size  # up to the last whole chunk before the cut
    assert CUT_AT - CHUNK < kept <= CUT_AT
    assert row_counts()[0] == before + 1
    local = settings.archive / "sync" / "sentinel-2-l1c" / banded
    assert (local / f"{banded}.json").is_file() and len(list(local.glob("*.jp2"))) == 13
    assert not (local / "thumbnail").exists()

    # 2. the next run resumes it with Range (and, cut again, resumes again in the run)
    host.requests.clear()
    host.cut_once[zip_path] = CUT_AT
    second = _sync(settings, world, "sentinel-2-l1c")
    outcome = _by_name(second)
    assert outcome[zipped].status == "added", outcome[zipped].reason
    assert outcome[banded].status == "skipped" and outcome[banded].reason == "already indexed"
    (first_path, resumed), (again_path, resumed_again) = host.requests
    assert first_path == again_path == zip_path and resumed == f"bytes={kept}-"
    assert kept + CUT_AT - CHUNK < int(resumed_again[6:-1]) <= kept + CUT_AT
    assert second.downloaded == world["served_zip"].stat().st_size - kept
    assert row_counts()[0] == before + 2
    assert (settings.archive / "sync" / "sentinel-2-l1c" / f"{zipped}.zip").is_file()
    assert not (settings.archive / "sync" / ".partial" / zipped).exists()

    # 3. nothing new: nothing downloaded, nothing added
    host.requests.clear()
    third = _sync(settings, world, "sentinel-2-l1c")
    assert {o.status for o in third.outcomes} == {"skipped"} and third.found == 2
    assert host.requests == [] and third.downloaded == 0
    assert row_counts()[0] == before + 2

    # 4. an older reprocessed twin of an indexed product is skipped before downloading
    twins = _sync(settings, world, "twins")
    (skipped,) = twins.outcomes
    assert skipped.status == "skipped" and "a newer twin is indexed" in skipped.reason
    assert host.requests == []


def test_a_checksum_mismatch_rejects_the_product_and_leaves_nothing(
    settings, world, row_counts
) -> None:
    before = row_counts()
    result = _sync(settings, world, "bad-checksum")
    (outcome,) = result.outcomes
    assert outcome.status == "rejected" and "checksum mismatch" in outcome.reason
    assert not result.ok
    assert row_counts() == before
    from hub.data.db import open_index

    with open_index(settings) as index:
        assert index.datasets.get(dataset_id(name_of(BAD))) is None
    assert not (settings.archive / "sync" / "bad-checksum").exists()
    assert not (settings.archive / "sync" / ".partial" / name_of(BAD)).exists()


def test_a_5xx_from_the_api_is_retried(settings, world) -> None:
    with FaultyProxy(world["api"], failures=2) as proxy:
        result = _sync(settings, world, "bad-checksum", stac_url=proxy.url, dry_run=True)
    assert proxy.answers[:3] == [503, 503, 200]
    assert [(o.name, o.status) for o in result.outcomes] == [(name_of(BAD), "planned")]


def test_a_4xx_from_the_api_is_reported_and_not_retried(settings, world) -> None:
    with FaultyProxy(world["api"], failures=0) as proxy:
        args = ["data", "sync", *platform_args(settings), "--stac", proxy.url]
        args += ["--collection", "sentinel-2-l1c", "--since", "2024-07-01", "--until", "2024-06-01"]
        run = CliRunner().invoke(cli, args)
    assert run.exit_code == 2, run.output
    assert "answered HTTP 400" in run.output and "is after end" in run.output
    assert proxy.answers.count(400) == 1


def test_dry_run_lists_and_downloads_nothing(settings, world) -> None:
    host: AssetHost = world["host"]
    host.requests.clear()
    bbox = ",".join(str(v) for v in world["items"]["bad"]["bbox"])
    args = ["data", "sync", "--dry-run", *platform_args(settings)]
    args += ["--stac", world["api"], "--collection", "bad-checksum", "--since", SINCE]
    run = CliRunner().invoke(cli, [*args, "--bbox", bbox])
    assert run.exit_code == 0, run.output
    assert "1 found" in run.output and "1 to download" in run.output
    assert name_of(BAD) in run.output
    # the default AOI is Sweden: none of these southern-hemisphere tiles is in it
    run = CliRunner().invoke(cli, args)
    assert run.exit_code == 0 and "0 found" in run.output, run.output
    assert host.requests == []
    assert not (settings.archive / "sync" / "bad-checksum").exists()


def test_multihash_and_bandwidth_cap(tmp_path) -> None:
    sample = tmp_path / "f"
    sample.write_bytes(b"abc")
    code, digest = parse_multihash(multihash_sha256(sample), "f")
    assert code == 0x12 and digest.hex().startswith("ba7816bf")  # sha256("abc")
    assert parse_multihash("d50110" + "00" * 16, "f")[0] == 0xD5  # md5: a two-byte varint
    with pytest.raises(DownloadError, match="not supported"):
        parse_multihash("0102ffff", "f")
    limit = RateLimit(4e6)
    started = time.monotonic()
    for _ in range(8):
        limit.take(250_000)  # 2 MB at 4 MB/s, 0.25 s of burst
    assert time.monotonic() - started >= 0.2
