"""One embedded PostgreSQL, one generated sample and one index for the whole data suite."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.data import sample, synth
from hub.data.db import admin_url
from hub.data.index import add
from hub.data.index_schema import init_index
from hub.db.embedded import EmbeddedPostgres
from hub.settings import Settings, load_settings


@pytest.fixture(scope="session")
def data_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(dir="/tmp", prefix="sdl-data-test-"))
    path.chmod(0o755)  # as root the postmaster runs as sdl-postgres and must enter it
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def settings(data_dir: Path) -> Iterator[Settings]:
    """Settings on a running embedded server with an initialised index."""
    settings = load_settings(overrides={"data_dir": str(data_dir)})
    with EmbeddedPostgres(data_dir).ensure_running():
        init_index(settings)
        yield settings


@pytest.fixture(scope="session")
def sample_dir(settings: Settings) -> Path:
    out = settings.archive / "sample"
    sample.generate(out)
    return out


@pytest.fixture(scope="session")
def indexed(settings: Settings, sample_dir: Path):
    result = add([sample_dir], settings, workers=2)
    assert result.ok, [o.reason for o in result.outcomes if o.status == "rejected"]
    return result


@pytest.fixture(scope="session")
def url(settings: Settings) -> Iterator[str]:
    with admin_url(settings) as url:
        yield url


@pytest.fixture(scope="session")
def engine(url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def dc(url: str, indexed):
    from hub import eo

    return eo.connect(url)


@pytest.fixture
def row_counts(engine: sa.Engine):
    """row_counts() -> (datasets, locations) in the index."""

    def count() -> tuple[int, int]:
        with engine.connect() as conn:
            datasets = conn.execute(sa.text("SELECT count(*) FROM agdc.dataset")).scalar_one()
            locations = conn.execute(
                sa.text("SELECT count(*) FROM agdc.dataset_location")
            ).scalar_one()
        return int(datasets), int(locations)

    return count


_fresh_days = iter(range(200))


@pytest.fixture
def fresh_product(tmp_path: Path):
    """Write a new (not yet indexed) product: fresh_product(level='L2A') -> SAFE path."""

    def make(level: str = "L2A", site_index: int = 0) -> Path:
        site = sample.SITES[site_index]
        day = dt.date(2026, 5, 1) + dt.timedelta(days=next(_fresh_days))
        scene = synth.make_scene(
            site.name,
            day.isoformat(),
            day.timetuple().tm_yday,
            sample.WINDOW_PX,
            site.water_share,
            0.2,
            False,
        )
        return sample.write_product(tmp_path, site, day.isoformat(), "S2B", level, scene)

    return make


@pytest.fixture
def leftovers():
    """leftovers(folder) -> converted copies / temp folders a failed add must not leave."""

    def find(folder: Path) -> list[str]:
        return sorted(
            p.name
            for p in folder.iterdir()
            if p.name.startswith(".") or "_cog" in p.name or p.name.endswith("_nc")
        )

    return find
