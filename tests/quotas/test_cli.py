"""`sdl quota get/set/explain/usage` through click's CliRunner, on a real database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.quotas.cli import quota
from hub.quotas.db import forget_stores, shared_store
from hub.quotas.store import UsageRecord
from tests.support.platform import write_settings


@pytest.fixture
def cli_env(pg_data_dir: Path, fresh_db, tmp_path) -> list[str]:
    """--config/--data-dir options for a platform whose quota database is fresh."""
    settings = {
        "quotas": {"database": fresh_db[0], "defaults": {"max_servers": 1}},
        "groups": {"students": ["sam", "sue"]},
        "auth": {"admin_users": ["ada"]},
    }
    folder = tmp_path / "cfg"
    folder.mkdir()
    config = write_settings(folder, settings)
    yield ["--config", str(config), "--data-dir", str(pg_data_dir)]
    forget_stores()


def invoke(args: list[str]) -> str:
    result = CliRunner().invoke(quota, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_set_get_explain(cli_env: list[str]) -> None:
    out = invoke(["set", "group", "students", "max_cpu=4", "max_memory=16Gi", *cli_env])
    assert out.strip() == "group students: max_cpu=4, max_memory=16Gi"
    invoke(["set", "user", "sam", "max_cpu=8", "budget_cpu_hours=50", *cli_env])
    out = invoke(["set", "group", "students", "max_memory=inherit", "max_gpus=unlimited", *cli_env])
    assert out.strip() == "group students: max_cpu=4, max_gpus=unlimited"
    listing = invoke(["get", *cli_env])
    assert "defaults: max_servers=1" in listing
    assert "user sam: max_cpu=8, budget_cpu_hours=50" in listing
    document = json.loads(invoke(["get", "user", "sam", "--json", *cli_env]))
    assert document == [
        {"kind": "user", "name": "sam", "policy": {"max_cpu": 8.0, "budget_cpu_hours": 50.0}}
    ]

    explained = invoke(["explain", "sam", *cli_env])
    assert "sam: groups students" in explained
    assert "max_cpu 8 for user sam (overrides 4 from group students)" in explained
    assert "max_gpus unlimited (from group students)" in explained
    assert "max_servers 1 (platform default)" in explained
    assert "0.0 CPU-hours in 30 days (of 50)" in explained
    assumed = invoke(["explain", "sam", "--group", "others", *cli_env])
    assert "max_cpu 8 for user sam (overrides unlimited platform default)" in assumed


def test_usage_and_over_budget(cli_env: list[str], pg_data_dir: Path, fresh_db) -> None:
    invoke(["set", "group", "students", "budget_cpu_hours=5", *cli_env])
    now = datetime.now(UTC)
    store = shared_store(pg_data_dir, "", fresh_db[0])
    start, stop = now - timedelta(hours=3), now - timedelta(hours=1)
    store.add_usage(UsageRecord("server", "sue", "", "medium", 4.0, 0, start, stop, now))
    out = invoke(["usage", *cli_env])
    assert "sue" in out and "8.0 CPU-hours in 30 days (of 5)" in out and "over budget" in out
    assert "0.0 CPU-hours" in out.split("sam")[1].splitlines()[0]
    over = invoke(["usage", "--over-budget", *cli_env])
    assert "sue" in over and "sam" not in over
    document = json.loads(invoke(["usage", "--json", *cli_env]))
    assert document["sue"]["over_budget"] is True and document["sam"]["cpu_hours_left"] == 5


def test_bad_values_are_clear_errors(cli_env: list[str]) -> None:
    result = CliRunner().invoke(quota, ["set", "group", "g", "max_memory=lots", *cli_env])
    assert (
        result.exit_code != 0 and "max_memory" in result.output and "not a size" in (result.output)
    )
    result = CliRunner().invoke(quota, ["set", "group", "g", "cpus=4", *cli_env])
    assert result.exit_code == 2 and "expected FIELD=VALUE" in result.output
