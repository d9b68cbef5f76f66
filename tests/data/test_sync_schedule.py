"""`sdl up`'s scheduled sync (hub.data.sync_schedule): the cron arithmetic, one run at a
time with real subprocesses, and a scheduled `sdl data sync` against a real STAC API."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from hub.data.sync_schedule import RUNNER_COMMAND, SYNC_COMMAND, Runner, next_run
from hub.settings import Settings, settings_from_dict
from tests.support.stac_server import rustac_api

pytestmark = pytest.mark.timeout(120)

T0 = datetime(2026, 12, 1, 2, 59, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("schedule", "now", "expected"),
    [
        ("0 3 * * *", T0, datetime(2026, 12, 1, 3, 0, tzinfo=UTC)),
        # strictly after: a run due now is not due again until tomorrow
        (
            "0 3 * * *",
            datetime(2026, 12, 1, 3, 0, tzinfo=UTC),
            datetime(2026, 12, 2, 3, 0, tzinfo=UTC),
        ),
        ("*/15 * * * *", T0, datetime(2026, 12, 1, 3, 0, tzinfo=UTC)),
        ("@daily", T0, datetime(2026, 12, 2, 0, 0, tzinfo=UTC)),
        ("0 3 * * MON", T0, datetime(2026, 12, 7, 3, 0, tzinfo=UTC)),  # 1 Dec 2026: Tuesday
        # the line is UTC whatever zone the clock gives: 04:59:30 CET is 03:59:30 UTC
        (
            "0 4 * * *",
            datetime(2026, 12, 1, 4, 59, 30, tzinfo=timezone(timedelta(hours=1))),
            datetime(2026, 12, 1, 4, 0, tzinfo=UTC),
        ),
    ],
)
def test_next_run(schedule: str, now: datetime, expected: datetime) -> None:
    found = next_run(schedule, now)
    assert found == expected and found.tzinfo == UTC


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def wait_ended(runner: Runner, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while runner.proc is not None and time.monotonic() < deadline:
        runner.tick()
        time.sleep(0.05)
    assert runner.proc is None, "the run did not end"


def test_one_run_at_a_time_a_due_time_during_a_run_is_skipped(tmp_path: Path) -> None:
    marker = tmp_path / "runs"
    script = f"import time; open({str(marker)!r}, 'a').write('run\\n'); time.sleep(1.5)"
    lines: list[str] = []
    clock = Clock(T0)
    runner = Runner("0 3 * * *", [sys.executable, "-c", script], say=lines.append, clock=clock)
    assert runner.due == datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    runner.tick()
    assert runner.proc is None and runner.runs == 0  # not yet due
    clock.now = datetime(2026, 12, 1, 3, 0, 1, tzinfo=UTC)
    runner.tick()
    assert runner.proc is not None and runner.runs == 1
    clock.now = datetime(2026, 12, 2, 3, 0, 1, tzinfo=UTC)  # next day's time, still running
    runner.tick()
    assert (runner.runs, runner.skipped) == (1, 1)
    assert runner.due == datetime(2026, 12, 3, 3, 0, tzinfo=UTC)
    wait_ended(runner)
    clock.now = datetime(2026, 12, 3, 3, 0, 0, tzinfo=UTC)
    runner.tick()
    assert runner.runs == 2
    wait_ended(runner)
    assert marker.read_text() == "run\nrun\n"  # two real runs, never overlapping
    assert any("skipped: the previous run still goes" in line for line in lines)
    assert sum("ended with code 0" in line for line in lines) == 2


def test_stopping_the_runner_stops_its_run() -> None:
    lines: list[str] = []
    clock = Clock(T0)
    runner = Runner(
        "0 3 * * *",
        [sys.executable, "-c", "import time; time.sleep(60)"],
        say=lines.append,
        clock=clock,
    )
    clock.now = datetime(2026, 12, 1, 3, 0, 1, tzinfo=UTC)  # due: the loop starts it
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop.is_set, 0.05))
    thread.start()
    deadline = time.monotonic() + 10
    while runner.proc is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc = runner.proc
    assert proc is not None
    stop.set()
    thread.join(20)
    assert not thread.is_alive() and proc.returncode is not None and proc.returncode < 0
    assert any("stopping sync run 1" in line for line in lines)


def test_the_runner_process_without_a_schedule_does_nothing(tmp_path: Path) -> None:
    config = tmp_path / "settings.yaml"
    config.write_text("sync: {stac_url: 'http://127.0.0.1:9'}\n")
    done = subprocess.run(
        list(RUNNER_COMMAND),
        env={"PATH": "/usr/bin:/bin", "SDL_CONFIG": str(config), "SDL_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "sync.schedule is not set" in done.stdout


@pytest.mark.parametrize("schedule", ["0 3 * * *", "@hourly", "30 2 1,15 JAN-JUN *"])
def test_the_settings_take_what_kubernetes_and_croniter_both_read(schedule: str) -> None:
    assert settings_from_dict({"sync": {"schedule": schedule}}).sync.schedule == schedule


def test_a_scheduled_run_is_sdl_data_sync_with_the_settings_sync_section(
    settings: Settings, indexed, tmp_path: Path
) -> None:
    """A real STAC API lists a product the index holds: the scheduled `sdl data sync`
    (SDL_CONFIG and SDL_DATA_DIR as sdl up passes them) searches it, skips it, exits 0."""
    engine = sa.create_engine(_url(settings))
    with engine.connect() as conn:
        label, doc = conn.execute(
            sa.text(
                "SELECT metadata->>'label', metadata FROM agdc.dataset "
                "WHERE metadata #>> '{properties,processing:level}' = 'L1C' LIMIT 1"
            )
        ).one()
    engine.dispose()
    lon, lat = doc["extent"]["lon"], doc["extent"]["lat"]
    ring = [
        [lon["begin"], lat["begin"]],
        [lon["end"], lat["begin"]],
        [lon["end"], lat["end"]],
        [lon["begin"], lat["end"]],
        [lon["begin"], lat["begin"]],
    ]
    item = {
        "type": "Feature",
        "stac_version": "1.1.0",
        "id": label,
        "collection": "sentinel-2-l1c",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "bbox": [lon["begin"], lat["begin"], lon["end"], lat["end"]],
        "properties": {"datetime": doc["properties"]["datetime"]},
        "links": [],
        "assets": {"Product": {"href": f"http://127.0.0.1:9/{label}.zip"}},  # never fetched
    }
    feed = tmp_path / "items.json"
    feed.write_text(json.dumps({"type": "FeatureCollection", "features": [item]}))
    with rustac_api(feed) as api:
        config = tmp_path / "settings.yaml"
        sync = {
            "stac_url": api,
            "collections": ["sentinel-2-l1c"],
            "bbox": [lon["begin"] - 1, lat["begin"] - 1, lon["end"] + 1, lat["end"] + 1],
            "since": "2020-01-01",
            "schedule": "0 3 * * *",
        }
        config.write_text(
            yaml.safe_dump({"database": {"name": settings.database.name}, "sync": sync})
        )
        log = tmp_path / "sync.log"
        env = {"SDL_CONFIG": str(config), "SDL_DATA_DIR": str(settings.data_dir)}
        lines: list[str] = []
        clock = Clock(T0)
        with log.open("wb") as out:
            runner = Runner(
                "0 3 * * *", SYNC_COMMAND, say=lines.append, clock=clock, env=env, output=out
            )
            clock.now = datetime(2026, 12, 1, 3, 0, 1, tzinfo=UTC)
            runner.tick()
            wait_ended(runner, timeout=90)
    output = log.read_text()
    assert any("ended with code 0" in line for line in lines), output[-3000:]
    assert label in output and "skipped" in output, output[-3000:]


def _url(settings: Settings) -> str:
    from hub.data.db import admin_url

    with admin_url(settings) as url:
        return url


def test_sdl_up_supervises_the_runner_with_the_platforms_settings(tmp_path: Path) -> None:
    """The child `sdl up` adds when sync.schedule is set: the real runner process, its
    log in the data dir, the operator's settings file handed on; stopped like a part."""
    from hub.local import sync_schedule_child
    from hub.runtime import Runtime

    (tmp_path / "logs").mkdir()
    config = tmp_path / "lab.yaml"
    config.write_text("sync: {schedule: '0 3 * * *'}\n")
    settings = settings_from_dict({"data_dir": str(tmp_path), "sync": {"schedule": "0 3 * * *"}})
    runtime = Runtime("127.0.0.1", 1, 2, 3, config_file=str(config))
    said: list[str] = []
    env = {"PATH": "/usr/bin:/bin", "SDL_DATA_DIR": str(tmp_path)}
    child = sync_schedule_child(settings, runtime, env, said.append)
    log = tmp_path / "logs" / "sync.log"
    try:
        deadline = time.monotonic() + 60
        while "next run" not in (log.read_text() if log.exists() else ""):
            assert child.proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the runner wrote nothing"
            time.sleep(0.2)
    finally:
        child.stop(child.proc)
    assert "sync schedule '0 3 * * *' (UTC); next run" in log.read_text()
    assert child.proc.returncode is not None and child.restart is not None
    assert said and "0 3 * * *" in said[0] and str(log) in said[0]
