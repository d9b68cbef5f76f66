"""Opt-in live suite: install the charts on a real cluster and spawn one user.

Skipped unless SDL_TEST_KUBE=1. Needs `helm` and `kubectl` pointing at a disposable
cluster (kind, k3d, minikube or a cloud test cluster) whose CNI enforces NetworkPolicy,
and the three images pushed where the cluster can pull them. Run:

    SDL_TEST_KUBE=1 SDL_TEST_KUBE_NAMESPACE=sdl-test python -m pytest tests/kube -m kube -v

It installs z2jh with helm-values/jupyterhub.yaml + small-cluster.yaml and a test overlay
(dummy authenticator, an API token for this test), starts a server for one user through
the REST API, checks the pod KubeSpawner made, and uninstalls. Not run in CI.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

pytestmark = [
    pytest.mark.kube,
    pytest.mark.skipif(os.environ.get("SDL_TEST_KUBE") != "1", reason="set SDL_TEST_KUBE=1"),
]

VALUES = Path(__file__).resolve().parents[2] / "helm-values"
NAMESPACE = os.environ.get("SDL_TEST_KUBE_NAMESPACE", "sdl-test")


def run(*args: str, **kwargs: object) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True, **kwargs).stdout


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory):
    for tool in ("helm", "kubectl"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed")
    token = secrets.token_hex(32)
    overlay = tmp_path_factory.mktemp("live") / "test.yaml"
    overlay.write_text(yaml.safe_dump({
        "hub": {
            "config": {"JupyterHub": {"authenticator_class": "dummy"}},
            "services": {"live-test": {"api_token": token, "admin": True}},
        },
        "proxy": {"service": {"type": "ClusterIP"}},
    }))  # fmt: skip
    run("helm", "upgrade", "--install", "sdl-live", "jupyterhub", "--repo",
        "https://hub.jupyter.org/helm-chart/", "--version", "4.4.0", "--namespace", NAMESPACE,
        "--create-namespace", "--wait", "--timeout", "10m", "-f",
        str(VALUES / "jupyterhub.yaml"), "-f", str(VALUES / "small-cluster.yaml"), "-f",
        str(overlay))  # fmt: skip
    forward = subprocess.Popen(
        ["kubectl", "-n", NAMESPACE, "port-forward", "svc/proxy-public", "18080:80"]
    )
    time.sleep(3)
    try:
        yield "http://127.0.0.1:18080/hub/api", token
    finally:
        forward.terminate()
        run("helm", "uninstall", "sdl-live", "--namespace", NAMESPACE)


def test_spawn_one_user(hub: tuple[str, str]) -> None:
    import requests

    api, token = hub
    headers = {"Authorization": f"token {token}"}
    requests.post(f"{api}/users/alice", headers=headers, timeout=30)
    refused = requests.post(f"{api}/users/alice/server", headers=headers, timeout=30,
                            json={"profile": "gpu"})  # fmt: skip
    assert refused.status_code in (400, 403)
    started = requests.post(f"{api}/users/alice/server", headers=headers, timeout=30,
                            json={"profile": "small"})  # fmt: skip
    assert started.status_code in (201, 202)
    deadline = time.time() + 600
    while time.time() < deadline:
        user = requests.get(f"{api}/users/alice", headers=headers, timeout=30).json()
        if user["servers"].get("", {}).get("ready"):
            break
        time.sleep(5)
    else:
        pytest.fail("server did not become ready in 10 minutes")
    pod = json.loads(run("kubectl", "-n", NAMESPACE, "get", "pod", "jupyter-alice", "-o", "json"))
    assert pod["spec"]["automountServiceAccountToken"] is False
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    requests.delete(f"{api}/users/alice/server", headers=headers, timeout=30)
