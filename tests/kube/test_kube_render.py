"""`sdl render` writes valid objects; `sdl profiles fit` packs nodes to >= 90%."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from kube_helpers import KUBERNETES_VERSIONS

from hub.kube.cli import profiles, render
from hub.kube.fit import GIB, fit_node, parse_node, system_reserve
from hub.kube.ingest import backfill_job, ingest_cronjob
from hub.kube.manifests import platform_objects
from hub.settings import KubernetesSettings


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("render")
    result = CliRunner().invoke(render, ["--out", str(out)])
    assert result.exit_code == 0, result.output
    return sorted(out.rglob("*.yaml"))


def test_render_writes_every_kind(rendered: list[Path]) -> None:
    kinds = {yaml.safe_load(p.read_text())["kind"] for p in rendered}
    assert kinds == {
        "Pod",
        "PersistentVolumeClaim",
        "NetworkPolicy",
        "CronJob",
        "Job",
        "ServiceAccount",
        "Role",
        "RoleBinding",
        "Secret",
        "IngressRoute",
    }
    names = {p.name for p in rendered}
    assert {"pod-student-small.yaml", "pod-gpu-users-member-gpu.yaml"} <= names
    assert {
        "networkpolicy-sdl-odc-db-ingress.yaml",
        "networkpolicy-sdl-dask-pods-ingress.yaml",
        "ingressroute-sdl-dask-dashboards.yaml",
    } <= names
    assert "pod-student-gpu.yaml" not in names


def validate(obj: dict, versions: Sequence[str] = KUBERNETES_VERSIONS) -> None:
    """Strictly against each of `versions`, for built-in kinds; traefik's IngressRoute (a
    CRD kubernetes-validate does not know) is compared with upstream's own in
    test_kube_dask_dashboards."""
    if obj["apiVersion"] == "traefik.io/v1alpha1":
        assert obj["kind"] == "IngressRoute"
        assert obj["spec"]["routes"][0]["services"][0]["name"] == "api-sdl-dask-gateway"
        return
    for version in versions:
        kubernetes_validate.validate(obj, version, strict=True)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_rendered_objects_are_valid(rendered: list[Path], version: str) -> None:
    for path in rendered:
        obj = yaml.safe_load(path.read_text())
        validate(obj, (version,))
        assert obj["metadata"]["namespace"] == "sdl", path


def test_only_the_ingest_job_sees_write_credentials(rendered: list[Path]) -> None:
    holders = {p.name for p in rendered if "sdl-odc-admin" in p.read_text()}
    assert holders == {
        "cronjob-sdl-ingest.yaml",
        "job-sdl-ingest-backfill.yaml",
        "role-sdl-ingest.yaml",
        "secret-sdl-odc-admin.yaml",
    }


def test_backfill_is_an_indexed_job_of_shares() -> None:
    kube = KubernetesSettings(backfill={"completions": 8, "parallelism": 2})
    job = backfill_job(kube)
    validate(job)
    assert job["spec"]["suspend"] is True  # an admin starts it
    assert job["spec"]["completionMode"] == "Indexed" and job["spec"]["completions"] == 8
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert {"name": "SHARES", "value": "8"} in container["env"]
    assert '--share "$JOB_COMPLETION_INDEX/$SHARES"' in container["command"][2]
    assert container["command"][4:] == ["/srv/archive/sentinel-2"]


def test_ingest_job_is_locked_down() -> None:
    job = ingest_cronjob(KubernetesSettings())
    pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert job["spec"]["concurrencyPolicy"] == "Forbid"
    assert pod["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == "sdl-ingest"
    (container,) = pod["containers"]
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["securityContext"]["runAsNonRoot"] is True
    env = {e["name"]: e for e in container["env"]}
    assert env["ODC_DEFAULT_DB_URL"]["valueFrom"]["secretKeyRef"]["name"] == "sdl-odc-admin"


def test_nfs_archive_objects_are_valid() -> None:
    kube = KubernetesSettings(archive={"type": "nfs", "nfs_server": "nas.lab", "nfs_path": "/eo"})
    for obj in platform_objects(kube):
        validate(obj)


def test_fit_prints_the_packing_table() -> None:
    result = CliRunner().invoke(profiles, ["fit", "--node", "16,64Gi"])
    assert result.exit_code == 0, result.output
    assert "users/node" in result.output and "packing" in result.output


def test_fit_yaml_fields_are_profile_fields() -> None:
    result = CliRunner().invoke(profiles, ["fit", "--node", "8,32Gi", "--yaml"])
    shares = yaml.safe_load(result.output)
    assert set(shares["4-per-node"]) == {"cpu_guarantee", "cpu_limit", "mem_guarantee", "mem_limit"}


@pytest.mark.parametrize("node", ["16", "16,64 GB", "x,64Gi", "0,64Gi", "1,1Gi"])
def test_fit_bad_node_is_explained(node: str) -> None:
    result = CliRunner().invoke(profiles, ["fit", "--node", node])
    assert result.exit_code != 0
    assert "Error" in result.output


def test_reserve_matches_published_tiers() -> None:
    cpu, memory = system_reserve(4, 16 * GIB)
    assert cpu == pytest.approx(0.06 + 0.01 + 2 * 0.005)
    # 25% of 4Gi + 20% of 4Gi + 10% of 8Gi = 2662.4Mi, rounded up, + 100Mi eviction
    assert memory == (2663 + 100) * 2**20


@settings(max_examples=200, deadline=None)
@given(
    cpu=st.sampled_from([2, 4, 8, 16, 32, 48, 64, 96]),
    gib_per_cpu=st.sampled_from([2, 4, 8]),
)
def test_every_share_packs_at_least_90_percent(cpu: int, gib_per_cpu: int) -> None:
    fit = fit_node(*parse_node(f"{cpu},{cpu * gib_per_cpu}Gi"))
    assert fit.shares and fit.shares[0].users == 1
    for share in fit.shares:
        assert share.packing >= 0.90, share
        assert share.users * share.mem_guarantee <= fit.available_memory
        assert share.users * share.cpu_guarantee <= fit.available_cpu
        assert share.mem_guarantee == share.mem_limit


def test_render_reads_the_kubernetes_settings(tmp_path: Path) -> None:
    config = tmp_path / "settings.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "mode": "kubernetes",
                "kubernetes": {
                    "namespace": "eo-lab",
                    "storage_class": "fast-ssd",
                    "home_size": "25Gi",
                    "archive": {"type": "nfs", "nfs_server": "nas.lab", "nfs_path": "/eo"},
                },
            }
        )
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(render, ["--out", str(out), "--config", str(config)])
    assert result.exit_code == 0, result.output
    pvc = yaml.safe_load((out / "users" / "pvc-student.yaml").read_text())
    assert pvc["metadata"]["namespace"] == "eo-lab"
    assert pvc["spec"]["storageClassName"] == "fast-ssd"
    assert pvc["spec"]["resources"]["requests"]["storage"] == "25Gi"
    pod = yaml.safe_load((out / "users" / "pod-student-small.yaml").read_text())
    archive = next(v for v in pod["spec"]["volumes"] if v["name"] == "archive")
    assert archive == {
        "name": "archive",
        "nfs": {"server": "nas.lab", "path": "/eo", "readOnly": True},
    }
    validate(pod)


def test_render_reports_bad_settings(tmp_path: Path) -> None:
    config = tmp_path / "settings.yaml"
    config.write_text("kubernetes: {home_size: lots}\n")
    result = CliRunner().invoke(render, ["--out", str(tmp_path / "o"), "--config", str(config)])
    assert result.exit_code != 0
    assert "home_size" in result.output
