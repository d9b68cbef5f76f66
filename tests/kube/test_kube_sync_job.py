"""The scheduled sync on Kubernetes: CronJob sdl-data-sync as `sdl render` writes it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from install_doc import created_objects, install_commands
from kube_helpers import validate_strict

from hub.kube.cli import render
from hub.kube.ingest import backfill_job
from hub.kube.sync_job import SETTINGS_FILE, sync_cronjob
from hub.settings import settings_from_dict, settings_from_environment
from tests.kube.test_kube_helm_values import dig, load

SCHEDULE = "0 3 * * *"


def render_with(tmp_path: Path, document: dict[str, Any]) -> dict[str, Path]:
    config = tmp_path / "settings.yaml"
    config.write_text(yaml.safe_dump(document))
    out = tmp_path / "out"
    result = CliRunner().invoke(render, ["--out", str(out), "--config", str(config)])
    assert result.exit_code == 0, result.output
    return {p.name: p for p in (out / "platform").glob("*.yaml")}


def pod_of(job: dict[str, Any]) -> dict[str, Any]:
    return job["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def test_no_schedule_no_cronjob(tmp_path: Path) -> None:
    assert sync_cronjob(settings_from_dict({})) is None
    assert "cronjob-sdl-data-sync.yaml" not in render_with(tmp_path, {"mode": "kubernetes"})


def test_render_writes_the_scheduled_sync_valid_on_every_supported_kubernetes(
    tmp_path: Path,
) -> None:
    files = render_with(tmp_path, {"mode": "kubernetes", "sync": {"schedule": SCHEDULE}})
    job = yaml.safe_load(files["cronjob-sdl-data-sync.yaml"].read_text())
    validate_strict(job)
    spec = job["spec"]
    assert (spec["schedule"], spec["timeZone"]) == (SCHEDULE, "Etc/UTC")
    assert spec["concurrencyPolicy"] == "Forbid"  # never two syncs at once
    pod = pod_of(job)
    (container,) = pod["containers"]
    assert container["command"] == ["sdl", "data", "sync"]
    assert container["image"] == "ghcr.io/space-data-lab/sdl-ingest:0.1.0"
    assert pod["automountServiceAccountToken"] is False
    assert container["securityContext"]["runAsNonRoot"] is True


def test_the_sync_pod_is_the_ingest_pod_with_the_settings_mounted() -> None:
    settings = settings_from_dict({"mode": "kubernetes", "sync": {"schedule": SCHEDULE}})
    pod = pod_of(sync_cronjob(settings) or {})
    ingest = backfill_job(settings.kubernetes)["spec"]["template"]["spec"]
    (container,), (ingest_container,) = pod["containers"], ingest["containers"]
    # the same writing role, archive volume, security and resources as the ingest pods
    for key in ("securityContext", "resources", "image"):
        assert container[key] == ingest_container[key]
    env = {e["name"]: e for e in container["env"]}
    assert env["ODC_DEFAULT_DB_URL"] == next(
        e for e in ingest_container["env"] if e["name"] == "ODC_DEFAULT_DB_URL"
    )
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["archive"]["persistentVolumeClaim"] == {
        "claimName": "sdl-archive",
        "readOnly": False,
    }
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert mounts["/srv/archive"]["name"] == "archive" and not mounts["/srv/archive"].get(
        "readOnly"
    )
    # SDL_CONFIG names the file inside the read-only mount of ConfigMap sdl-settings
    settings_mount = next(m for m in container["volumeMounts"] if m["name"] == "settings")
    assert settings_mount["readOnly"] is True
    assert env["SDL_CONFIG"]["value"] == SETTINGS_FILE
    assert SETTINGS_FILE.startswith(settings_mount["mountPath"] + "/")
    (item,) = volumes["settings"]["configMap"]["items"]
    assert f"{settings_mount['mountPath']}/{item['path']}" == SETTINGS_FILE
    # ... which the documented install creates, with that key
    created = {(c.kind, c.name): c for c in created_objects(install_commands())}
    configmap = created[("configmap", volumes["settings"]["configMap"]["name"])]
    assert item["key"] in configmap.keys


def test_the_pod_reads_the_sync_section_it_was_rendered_from(tmp_path: Path) -> None:
    """The hub's settings document plus a sync section, laid out as the ConfigMap mounts
    it, read through the pod's own environment, gives that schedule and search."""
    document = dig(load("jupyterhub.yaml"), "hub.extraFiles.sdl-settings.data")
    document = {**document, "sync": {"schedule": SCHEDULE, "collections": ["sentinel-2-l2a"]}}
    settings = settings_from_dict(document)
    (container,) = pod_of(sync_cronjob(settings) or {})["containers"]
    mounted = tmp_path / SETTINGS_FILE.lstrip("/")
    mounted.parent.mkdir(parents=True)
    mounted.write_text(yaml.safe_dump(document))
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    env["SDL_CONFIG"] = str(mounted)  # the same file, under the test's folder
    read = settings_from_environment(env)
    assert read.sync == settings.sync
    assert read.sync.collections == ["sentinel-2-l2a"] and read.mode == "kubernetes"


def test_only_ingest_pods_and_admins_mount_the_archive_writable(tmp_path: Path) -> None:
    files = render_with(tmp_path, {"mode": "kubernetes", "sync": {"schedule": SCHEDULE}})
    writable = set()
    for path in (tmp_path / "out").rglob("*.yaml"):
        text = path.read_text()
        if "sdl-archive" in text and "readOnly: false" in text:
            writable.add(path.name)
    # admins' workspaces also mount it writable (kubernetes.admin_archive_path)
    assert {name for name in writable if not name.startswith("pod-admin-")} == {
        "cronjob-sdl-ingest.yaml",
        "job-sdl-ingest-backfill.yaml",
        "cronjob-sdl-data-sync.yaml",
    }
    assert "cronjob-sdl-data-sync.yaml" in files


@pytest.mark.parametrize("schedule", ["daily", "0 3 * *", "0 3 L * *", "61 * * * *"])
def test_a_bad_schedule_is_refused_naming_the_field(tmp_path: Path, schedule: str) -> None:
    config = tmp_path / "settings.yaml"
    config.write_text(yaml.safe_dump({"mode": "kubernetes", "sync": {"schedule": schedule}}))
    result = CliRunner().invoke(render, ["--out", str(tmp_path / "o"), "--config", str(config)])
    assert result.exit_code != 0
    assert "sync.schedule" in result.output and "'0 3 * * *'" in result.output
