"""Opt-in live suite: the documented install on a real cluster, then what only a cluster
can show. Skipped unless SDL_TEST_KUBE=1; CI never sets it. Never run so far.

It runs the install sequence of helm-values/README.md as written (tests/kube/install_doc.py
reads it), so the commands a lab runs are the ones tested; then one `helm upgrade` adds a
test API token (service `live-test`). Needs `helm`, `kubectl` and `sdl` pointing at a
disposable cluster (kind, k3d/k3s, minikube) whose CNI enforces NetworkPolicy (Calico,
Cilium; k3s's default does), the images of images/ pullable by it, the archive PVC
`sdl-archive` in namespace `sdl` (made after the namespace: set SDL_TEST_KUBE_ARCHIVE to a
YAML file to apply there), and `SDL_HUB_DB_URL` (see the README). Namespace `sdl` must not
exist (the suite refuses to touch a real install) and is deleted afterwards unless
SDL_TEST_KUBE_KEEP=1.

    SDL_TEST_KUBE=1 SDL_HUB_DB_URL=... python -m pytest tests/kube/test_kube_live.py -v
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from install_doc import VALUES, helm_install, install_commands

from hub.profiles import Profile, load_profiles
from hub.settings import KubernetesSettings

pytestmark = [
    pytest.mark.kube,
    pytest.mark.skipif(
        os.environ.get("SDL_TEST_KUBE") != "1",
        reason="live cluster suite: set SDL_TEST_KUBE=1 with kubectl/helm on a disposable cluster",
    ),
]

NAMESPACE = "sdl"  # the values name it (odc-cluster.yaml, the gateway's hub URL)
PROFILES = load_profiles(Path(__file__).resolve().parents[2] / "spawner_profiles")
METADATA_ADDRESS = ("169.254.169.254", 80)
READY_WAIT = 600


def run(*args: str, check: bool = True, **kwargs: Any) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=1200, **kwargs)
    if check and done.returncode != 0:
        pytest.fail(f"{' '.join(args)}: {done.stderr[-2000:]}")
    return done.stdout


def kubectl_json(*args: str) -> Any:
    return json.loads(run("kubectl", "-n", NAMESPACE, *args, "-o", "json"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Live:
    """The installed platform, reached through a port-forward to proxy-public."""

    base: str
    token: str
    shared_password: str

    def api(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
        import requests

        headers = {"Authorization": f"token {token or self.token}"}
        return requests.request(
            method, f"{self.base}/hub/api{path}", headers=headers, timeout=60, **kwargs
        )

    def user(self, name: str, groups: Sequence[str] = ()) -> None:
        self.api("POST", f"/users/{name}")
        for group in groups:
            self.api("POST", f"/groups/{group}")
            self.api("POST", f"/groups/{group}/users", json={"users": [name]})

    def user_token(self, name: str) -> str:
        reply = self.api("POST", f"/users/{name}/tokens", json={"note": "sdl live test"})
        assert reply.status_code in (200, 201), reply.text
        return reply.json()["token"]

    def start(self, name: str, profile: str) -> Any:
        return self.api("POST", f"/users/{name}/server", json={"profile": profile})

    def wait_ready(self, name: str) -> dict[str, Any]:
        """The user's pod once the server is ready; skips if the cluster cannot fit it."""
        deadline = time.time() + READY_WAIT
        while time.time() < deadline:
            server = self.api("GET", f"/users/{name}").json()["servers"].get("", {})
            if server.get("ready"):
                return user_pod(name)
            if not server:
                pytest.fail(f"{name}'s server stopped before it was ready")
            time.sleep(5)
        pod = user_pod(name)
        for condition in pod["status"].get("conditions", []):
            if condition["type"] == "PodScheduled" and condition.get("reason") == "Unschedulable":
                pytest.skip(f"the cluster cannot fit {name}'s pod: {condition.get('message')}")
        pytest.fail(f"{name}'s server not ready in {READY_WAIT} s: {pod['status']}")

    def stop(self, name: str) -> None:
        self.api("DELETE", f"/users/{name}/server")
        deadline = time.time() + 300
        while time.time() < deadline and self.api("GET", f"/users/{name}").json()["servers"]:
            time.sleep(3)

    def refused(self, name: str, profile: str) -> bool:
        """Whether a start is refused: at once (4xx) or by a spawn that ends without a pod."""
        reply = self.start(name, profile)
        if 400 <= reply.status_code < 500:
            return True
        deadline = time.time() + 120
        while time.time() < deadline:
            server = self.api("GET", f"/users/{name}").json()["servers"].get("", {})
            if not server:
                return not user_pods(name)
            if server.get("ready"):
                return False
            time.sleep(3)
        return False


def cpu(quantity: str) -> float:
    """A Kubernetes CPU quantity ("500m", "2") in cores."""
    return float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


def user_pods(name: str) -> list[dict[str, Any]]:
    found = kubectl_json("get", "pods", "-l", f"hub.jupyter.org/username={name}")
    return found["items"]


def user_pod(name: str) -> dict[str, Any]:
    pods = user_pods(name)
    assert len(pods) == 1, f"{name}: {len(pods)} pods"
    return pods[0]


def in_pod(pod: dict[str, Any], code: str) -> Any:
    """Run Python in the user's container; its last line printed is JSON."""
    out = run(
        "kubectl",
        "-n",
        NAMESPACE,
        "exec",
        pod["metadata"]["name"],
        "-c",
        "notebook",
        "--",
        "python",
        "-c",
        code,
    )
    return json.loads(out.strip().splitlines()[-1])


GPU_CHECK = """
import json, torch
print(json.dumps({"available": torch.cuda.is_available(), "count": torch.cuda.device_count()}))
"""

REACH = """
import json, socket, sys
def reach(host, port):
    try:
        socket.create_connection((host, port), timeout=5).close()
        return True
    except OSError:
        return False
print(json.dumps({f"{h}:{p}": reach(h, p) for h, p in %r}))
"""


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    for tool in ("helm", "kubectl", "sdl", "python3"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed")
    if not os.environ.get("SDL_HUB_DB_URL"):
        pytest.fail("set SDL_HUB_DB_URL (an admin URL of the lab's PostgreSQL, README)")
    exists = subprocess.run(["kubectl", "get", "namespace", NAMESPACE], capture_output=True)
    if exists.returncode == 0:
        pytest.fail(f"namespace {NAMESPACE} exists: use a disposable cluster")
    operator_there = (
        subprocess.run(
            ["helm", "status", "cnpg", "-n", "cnpg-system"], capture_output=True
        ).returncode
        == 0
    )
    work = tmp_path_factory.mktemp("live") / "helm-values"
    shutil.copytree(VALUES, work)
    env = {
        **os.environ,
        "SDL_SHARED_PASSWORD": secrets.token_hex(8),
        "SDL_ADMIN_PASSWORD": secrets.token_hex(20),
        "SDL_ODC_INGEST_PASSWORD": secrets.token_hex(16),
        "SDL_ODC_READER_PASSWORD": secrets.token_hex(16),
    }
    archive = os.environ.get("SDL_TEST_KUBE_ARCHIVE")
    token = secrets.token_hex(32)
    commands = install_commands()
    hub_line = next(i for i in map(helm_install, commands) if i and i.chart == "jupyterhub")
    try:
        for command in commands:  # the README's sequence, as written
            run("bash", "-euo", "pipefail", "-c", command, cwd=work, env=env)
            if command == f"kubectl create namespace {NAMESPACE}" and archive:
                run("kubectl", "-n", NAMESPACE, "apply", "-f", archive)
        overlay = work / "live-test.yaml"
        overlay.write_text(
            yaml.safe_dump(
                {
                    "hub": {
                        "services": {"live-test": {"api_token": token, "admin": True}},
                        "loadRoles": {
                            "live-test": {
                                "services": ["live-test"],
                                "scopes": [
                                    "admin:users",
                                    "admin:groups",
                                    "admin:servers",
                                    "tokens",
                                    "access:services",
                                    "custom:quotas:read",
                                    "custom:quotas:write",
                                ],
                            }
                        },
                    }
                }
            )
        )
        run(
            "helm",
            "upgrade",
            hub_line.release,
            hub_line.chart,
            "--repo",
            hub_line.repo,
            "--version",
            hub_line.version,
            "-n",
            NAMESPACE,
            "--reuse-values",
            "-f",
            str(overlay),
            "--wait",
            "--timeout",
            "10m",
        )
        port = free_port()
        forward = subprocess.Popen(
            ["kubectl", "-n", NAMESPACE, "port-forward", "svc/proxy-public", f"{port}:80"]
        )
        time.sleep(3)
        try:
            yield Live(f"http://127.0.0.1:{port}", token, env["SDL_SHARED_PASSWORD"])
        finally:
            forward.terminate()
    finally:
        if os.environ.get("SDL_TEST_KUBE_KEEP") != "1":
            for release in ("sdl-dask-gateway", "sdl"):
                run("helm", "uninstall", release, "-n", NAMESPACE, "--wait", check=False)
            run("kubectl", "delete", "namespace", NAMESPACE, "--wait=true", check=False)
            if not operator_there:
                run("helm", "uninstall", "cnpg", "-n", "cnpg-system", check=False)


def test_both_charts_and_the_database_run(live: Live) -> None:
    for release in ("sdl", "sdl-dask-gateway"):
        status = json.loads(run("helm", "status", release, "-n", NAMESPACE, "-o", "json"))
        assert status["info"]["status"] == "deployed", release
    pods = kubectl_json("get", "pods")["items"]
    ready = {
        p["metadata"]["name"]
        for p in pods
        if any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in p["status"].get("conditions", [])
        )
    }
    for prefix in (
        "hub-",
        "proxy-",
        "api-sdl-dask-gateway-",
        "controller-sdl-dask-gateway-",
        "traefik-sdl-dask-gateway-",
        "sdl-odc-db-1",
    ):
        assert any(name.startswith(prefix) for name in ready), f"no ready pod {prefix}*"


def test_login_with_the_shared_password(live: Live) -> None:
    import re

    import requests

    session = requests.Session()
    page = session.get(f"{live.base}/hub/login", timeout=60)
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
    form = {"username": "dora", "password": live.shared_password}
    if xsrf:
        form["_xsrf"] = xsrf.group(1)
    reply = session.post(f"{live.base}/hub/login", data=form, timeout=60)
    assert reply.status_code == 200 and "/hub/login" not in reply.url, reply.url
    assert any(c.name.startswith("jupyterhub-") for c in session.cookies)
    wrong = requests.post(
        f"{live.base}/hub/login",
        timeout=60,
        cookies=page.cookies,
        data={**form, "password": "not-the-password"},
    )
    assert "/hub/login" in wrong.url or wrong.status_code == 403


@pytest.mark.parametrize("profile", PROFILES, ids=[p.slug for p in PROFILES])
def test_a_spawn_per_profile_runs_with_its_resources(live: Live, profile: Profile) -> None:
    if profile.gpus:
        nodes = json.loads(run("kubectl", "get", "nodes", "-o", "json"))["items"]
        if not any(n["status"].get("allocatable", {}).get("nvidia.com/gpu") for n in nodes):
            pytest.skip("no node offers nvidia.com/gpu")
    name = f"live-{profile.slug}"
    live.user(name, profile.groups)
    assert live.start(name, profile.slug).status_code in (201, 202)
    try:
        pod = live.wait_ready(name)
        container = next(c for c in pod["spec"]["containers"] if c["name"] == "notebook")
        limits = container["resources"]["limits"]
        assert cpu(limits["cpu"]) == profile.cpu_limit
        mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
        assert mounts[KubernetesSettings().archive_mount_path].get("readOnly") is True
        if profile.gpus:
            assert limits["nvidia.com/gpu"] == str(profile.gpus)
            assert container["image"] == profile.image
            # the GPU image's torch sees exactly the GPUs the device plugin gave the pod
            cuda = in_pod(pod, GPU_CHECK)
            assert cuda == {"available": True, "count": profile.gpus}, cuda
        assert pod["spec"]["automountServiceAccountToken"] is False
        assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    finally:
        live.stop(name)


@pytest.fixture(scope="module")
def two_users(live: Live) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """alice's and bob's pods, running the default profile."""
    default = next((p for p in PROFILES if p.default), PROFILES[0])
    for name in ("alice", "bob"):
        live.user(name)
        assert live.start(name, default.slug).status_code in (201, 202)
    try:
        yield live.wait_ready("alice"), live.wait_ready("bob")
    finally:
        live.stop("alice")
        live.stop("bob")


def test_the_archive_is_mounted_read_only(two_users: tuple[dict, dict]) -> None:
    path = KubernetesSettings().archive_mount_path
    result = in_pod(
        two_users[0],
        f"""
import errno, json, os
try:
    open(os.path.join({path!r}, ".sdl-live-test"), "w")
    wrote = None
except OSError as exc:
    wrote = exc.errno
print(json.dumps({{"listed": isinstance(os.listdir({path!r}), list), "errno": wrote}}))
""",
    )
    assert result["listed"] and result["errno"] in (30, 13)  # EROFS (or EACCES)


def test_network_policies_in_action(two_users: tuple[dict, dict]) -> None:
    alice, bob = two_users
    targets = [
        METADATA_ADDRESS,
        (bob["status"]["podIP"], 8888),
        ("hub", 8081),
        ("sdl-odc-db-rw", 5432),
        ("proxy-public", 80),
    ]
    reached = in_pod(alice, REACH % (targets,))
    assert reached == {
        "169.254.169.254:80": False,  # the cloud metadata address
        f"{bob['status']['podIP']}:8888": False,  # another user's server
        "hub:8081": True,  # what a workspace needs (also shows the probe itself works)
        "sdl-odc-db-rw:5432": True,
        "proxy-public:80": True,
    }


def test_a_dask_dashboard_is_refused_to_another_user(
    live: Live, two_users: tuple[dict, dict]
) -> None:
    import requests

    cluster = in_pod(
        two_users[0],
        """
import json
from dask_gateway import Gateway
c = Gateway().new_cluster(shutdown_on_close=False)
print(json.dumps({"name": c.name, "dashboard": c.dashboard_link}))
""",
    )
    try:
        path = "/" + cluster["dashboard"].split("://", 1)[-1].split("/", 1)[1]
        url = f"{live.base}{path}"
        own = requests.get(
            url, timeout=60, headers={"Authorization": f"token {live.user_token('alice')}"}
        )
        other = requests.get(
            url,
            timeout=60,
            allow_redirects=False,
            headers={"Authorization": f"token {live.user_token('bob')}"},
        )
        assert own.status_code == 200
        assert other.status_code in (403, 404)
    finally:
        in_pod(
            two_users[0],
            f"""
import json
from dask_gateway import Gateway
Gateway().stop_cluster({cluster["name"]!r})
print(json.dumps(True))
""",
        )


def test_an_over_quota_spawn_is_refused(live: Live) -> None:
    import requests

    smallest = min(PROFILES, key=lambda p: p.cpu_limit)
    live.user("carol")
    policy = requests.put(
        f"{live.base}/services/quotas/api/policies/user/carol",
        timeout=60,
        headers={"Authorization": f"token {live.token}"},
        json={"max_cpu": smallest.cpu_limit / 2},
    )
    assert policy.status_code == 200, policy.text
    try:
        assert live.refused("carol", smallest.slug)
        assert not user_pods("carol")
    finally:
        requests.delete(
            f"{live.base}/services/quotas/api/policies/user/carol",
            timeout=60,
            headers={"Authorization": f"token {live.token}"},
        )
