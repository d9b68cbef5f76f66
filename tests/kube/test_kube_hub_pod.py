"""The hub pod as z2jh 4.4.0 starts it: the chart's own `jupyterhub_config.py` and
`z2jh.py` (tests/kube/charts/jupyterhub-4.4.0/files/hub/, unchanged from the tag; their
checksums are checked by test_kube_chart_schemas) read
our values from the mounted Secret, then run our `hub.extraConfig`; JupyterHub's own
`initialize` loads the result (database, services, roles, authenticator), and one spawn
builds its pod from it. `.ci/run` runs this under the hub image's pins (JupyterHub 5.5,
KubeSpawner 7.1) as well as the embedded mode's.

The pod's files are laid out as the chart mounts them, under a temporary folder instead
of /usr/local/etc/jupyterhub (the only change to z2jh's files: that path, counted). What
this cannot show: what the chart's templates render (no `helm template` here; the
Secret and ConfigMap are built as its templates say), and anything on a cluster.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from kube_helpers import validate_strict
from traitlets.config import Config

from hub.config.auth import apply_auth
from hub.config.context import HubContext, kubernetes_secrets
from hub.config.z2jh import load_z2jh_settings
from hub.db.access import ensure_database
from hub.db.embedded import EmbeddedPostgres
from tests.kube.test_kube_chart_schemas import contract, helm_values, releases

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
Z2JH = "4.4.0"
CHART_FILES = HERE / "charts" / f"jupyterhub-{Z2JH}" / "files" / "hub"
POD_ETC = "/usr/local/etc/jupyterhub"
#: how often each file names that folder; another count means upstream changed the layout
POD_ETC_COUNT = {"jupyterhub_config.py": 2, "z2jh.py": 3}
#: the names the chart's ConfigMap gives (fullnameOverride "": plain component names)
NAMES = (
    "hub",
    "proxy-api",
    "proxy-public",
    "user-scheduler",
    "priority",
    "singleuser",
    "image-pull-secret",
)
RELEASE = {"Name": "sdl", "Namespace": "sdl", "Service": "Helm"}  # helmfile.yaml's release
#: The workspaces' read-only index login (Secret sdl-odc-readonly): the archive service's.
ODC_READONLY_URL = "postgresql+psycopg2://sdl_reader:pw@sdl-odc-db-rw.sdl.svc:5432/datacube"


def z2jh_jupyterhub_pin() -> str:
    """JupyterHub's version in z2jh's hub image (the chart's appVersion)."""
    lines = (ROOT / "images" / "hub" / f"z2jh-{Z2JH}-requirements.txt").read_text().splitlines()
    return next(line.split("==")[1] for line in lines if line.startswith("jupyterhub=="))


def secret_env(entry: dict[str, Any], secrets_: dict[tuple[str, str], str]) -> str | None:
    """An extraEnv value as the kubelet resolves it (the Secrets a lab creates)."""
    if "value" in entry:
        return str(entry["value"])
    ref = entry["valueFrom"]["secretKeyRef"]
    found = secrets_.get((ref["name"], ref["key"]))
    if found is None and not ref.get("optional"):
        pytest.fail(f"no Secret {ref['name']}/{ref['key']} for the hub pod")
    return found


@pytest.fixture(scope="module")
def hub_pod(tmp_path_factory: pytest.TempPathFactory, pg_data_dir: Path) -> dict[str, Any]:
    version = next(str(r["version"]) for r in releases() if r["chart"].endswith("/jupyterhub"))
    assert version == Z2JH, "bump the copied chart files with the chart"
    base = tmp_path_factory.mktemp("hub-pod")
    etc, srv, sdl_etc = base / "etc-jupyterhub", base / "srv-jupyterhub", base / "etc-sdl"
    for folder in (etc / "config", etc / "secret", srv, sdl_etc):
        folder.mkdir(parents=True)
    for name, count in POD_ETC_COUNT.items():
        text = (CHART_FILES / name).read_text()
        assert text.count(POD_ETC) == count, f"{name}: z2jh's mount layout changed"
        (etc / name).write_text(text.replace(POD_ETC, str(etc)))

    # the hub Secret: values.yaml (our values coalesced over the chart's, plus Chart and
    # Release), the generated secrets, hub.extraFiles
    values = helm_values(contract("jupyterhub", Z2JH), ["jupyterhub.yaml"])
    values["Chart"] = {"Name": "jupyterhub", "Version": Z2JH, "AppVersion": z2jh_jupyterhub_pin()}
    values["Release"] = RELEASE
    # the template writes `merge dict .Values`: sprig's merge (mergo) skips nil map values,
    # so top-level nulls (nameOverride) are absent and get_config falls back to its default
    mounted = {key: value for key, value in values.items() if value is not None}
    (etc / "secret" / "values.yaml").write_text(yaml.safe_dump(mounted))
    generated = {
        "hub.config.ConfigurableHTTPProxy.auth_token": secrets.token_hex(32),
        "hub.config.JupyterHub.cookie_secret": secrets.token_hex(32),
        "hub.config.CryptKeeper.keys": secrets.token_hex(32),
        **{
            f"hub.services.{name}.apiToken": secrets.token_hex(32)
            for name in values["hub"]["services"]
        },
    }
    for key, value in generated.items():
        (etc / "secret" / key).write_text(value)
    extra_files = values["hub"]["extraFiles"]
    assert extra_files["sdl-settings"]["mountPath"] == "/etc/sdl/settings.yaml"
    (sdl_etc / "settings.yaml").write_text(yaml.safe_dump(extra_files["sdl-settings"]["data"]))
    for name in NAMES:  # the hub ConfigMap's name templates
        (etc / "config" / name).write_text(name)

    # the lab's PostgreSQL (Secret sdl-hub-db): a fresh database on the embedded server
    database = f"hubpod_{secrets.token_hex(4)}"
    db_url = EmbeddedPostgres(pg_data_dir).superuser_url(database)
    ensure_database(db_url, database)
    lab_secrets = {
        ("sdl-hub-auth", "shared-password"): "workshop-pw-1234",
        ("sdl-hub-auth", "admin-password"): secrets.token_hex(20),
        ("sdl-hub-db", "url"): db_url,
        ("sdl-odc-readonly", "url"): ODC_READONLY_URL,
    }
    # the container's environment: the chart's, Kubernetes' service links, our extraEnv;
    # nothing of this process's (its PYTHONPATH carries the test tools, not the image's)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(base),
        "PYTHONUNBUFFERED": "1",
        "HELM_RELEASE_NAME": RELEASE["Name"],
        "POD_NAMESPACE": RELEASE["Namespace"],
        "CONFIGPROXY_AUTH_TOKEN": generated["hub.config.ConfigurableHTTPProxy.auth_token"],
        "HUB_SERVICE_HOST": "10.0.0.10",
        "HUB_SERVICE_PORT": "8081",
        "PROXY_API_SERVICE_HOST": "10.0.0.11",
        "PROXY_API_SERVICE_PORT": "8001",
    }
    for name, entry in values["hub"]["extraEnv"].items():
        resolved = secret_env({"value": entry} if isinstance(entry, str) else entry, lab_secrets)
        if resolved is not None:
            env[name] = resolved.replace("/etc/sdl/", f"{sdl_etc}/")
    out = base / "report.json"
    done = subprocess.run(
        [
            sys.executable,
            str(HERE / "hub_pod_probe.py"),
            str(etc / "jupyterhub_config.py"),
            str(out),
        ],
        cwd=srv,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
    report = json.loads(out.read_text())
    report.update(env=env, generated=generated, log=done.stdout + done.stderr, db_url=db_url)
    return report


def test_the_pod_loads_the_chart_config_then_ours(hub_pod: dict[str, Any]) -> None:
    log = hub_pod["log"]
    assert "Loading extra config: 10-space-data-lab" in log
    # our spawner replaces the chart's kubespawner.KubeSpawner
    assert hub_pod["spawner_class"] == "hub.kube.spawner.SdlKubeSpawner"
    # the authenticator our settings choose, as JupyterHub instantiated it
    settings = load_z2jh_settings(hub_pod["env"])
    expected = Config()
    apply_auth(HubContext(settings, None, kubernetes_secrets(settings), ""), expected)
    assert hub_pod["authenticator_class"] == expected.JupyterHub.authenticator_class
    c = hub_pod["config"]
    assert c["Spawner"]["post_stop_hook"] == "hub.gateway.lifecycle.post_stop_hook"
    # the chart's secrets reached the hub
    assert (
        c["JupyterHub"]["cookie_secret"]
        == hub_pod["generated"]["hub.config.JupyterHub.cookie_secret"]
    )


def test_the_chart_and_our_spawner_settings_combine(hub_pod: dict[str, Any]) -> None:
    spawner = hub_pod["config"]["KubeSpawner"]
    assert spawner["namespace"] == RELEASE["Namespace"]
    assert spawner["common_labels"]["helm.sh/chart"] == f"jupyterhub-{Z2JH}"
    assert spawner["common_labels"]["app.kubernetes.io/managed-by"] == "kubespawner"
    assert spawner["scheduler_name"] == "user-scheduler"  # scheduling.userScheduler
    assert spawner["priority_class_name"] == "priority"  # scheduling.podPriority
    assert (spawner["uid"], spawner["fs_gid"]) == (1000, 100)
    assert spawner["allow_privilege_escalation"] is False


def test_the_services_are_the_charts_and_ours(hub_pod: dict[str, Any]) -> None:
    services = hub_pod["services"]
    assert {"jupyterhub-idle-culler", "dask-gateway", "quotas", "workshops", "archive"} <= set(
        services
    )
    # the status map reads the index with the read-only login the pod got from its Secret
    assert services["archive"]["environment"]["SDL_ARCHIVE_INDEX_URL"] == ODC_READONLY_URL
    assert "access:services!service=archive" in hub_pod["roles"]["user"]  # every user
    culler = services["jupyterhub-idle-culler"]
    assert culler["managed"] and "--timeout=3600" in culler["command"]
    gateway = services["dask-gateway"]
    assert gateway["url"] == "http://traefik-sdl-dask-gateway"
    assert gateway["has_token"] and gateway["oauth_no_confirm"] and not gateway["managed"]
    for name, port in (("quotas", 10101), ("workshops", 10102), ("archive", 10103)):
        service = services[name]
        assert service["managed"] and service["url"] == f"http://hub:{port}"
        # handed over explicitly: JupyterHub passes services little of the pod's env
        assert service["environment"]["SDL_DATABASE_URL"] == hub_pod["db_url"]
        assert service["environment"]["SDL_MODE"] == "kubernetes"


def test_roles_reach_the_gateway_and_the_culler(hub_pod: dict[str, Any]) -> None:
    roles = hub_pod["roles"]
    assert "access:services!service=dask-gateway" in roles["user"]
    assert {"list:users", "delete:servers"} <= set(roles["jupyterhub-idle-culler"])
    assert "jupyterhub-idle-culler" in hub_pod["service_roles"]["jupyterhub-idle-culler"]


def test_the_gateway_client_uses_the_charts_service_token(hub_pod: dict[str, Any]) -> None:
    client = hub_pod["config"]["SdlGatewayClient"]
    assert client["api_token"] == hub_pod["generated"]["hub.services.dask-gateway.apiToken"]
    assert client["api_url"] == "http://api-sdl-dask-gateway:8000"


def test_a_spawn_from_that_config_is_a_valid_pod(hub_pod: dict[str, Any]) -> None:
    spawn = hub_pod["spawn"]
    pod, pvc = spawn["pod"], spawn["pvc"]
    for obj in (pod, pvc):
        validate_strict(obj)
        assert obj["metadata"]["namespace"] == RELEASE["Namespace"]
    spec = pod["spec"]
    assert spec["schedulerName"] == "user-scheduler"
    assert spec["priorityClassName"] == "priority"
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"]["runAsNonRoot"] is True
    labels = pod["metadata"]["labels"]
    assert labels["helm.sh/chart"] == f"jupyterhub-{Z2JH}"
    # what z2jh's network policies select user pods and their peers by
    assert (labels["app"], labels["component"]) == ("jupyterhub", "singleuser-server")
    assert labels["hub.jupyter.org/network-access-hub"] == "true"
    assert None not in labels.values()
    preferred = spec["affinity"]["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    expressions = [e for p in preferred for e in p["preference"]["matchExpressions"]]
    assert {"key": "hub.jupyter.org/node-purpose", "operator": "In", "values": ["user"]} in (
        expressions
    )
    claims = {
        v["persistentVolumeClaim"]["claimName"]
        for v in spec["volumes"]
        if "persistentVolumeClaim" in v
    }
    assert pvc["metadata"]["name"] in claims  # the home PVC apply_kubernetes defines


def test_the_hub_image_env_follows_the_pin() -> None:
    """CI's hub-image virtualenv is built from the pinned chart's hub image requirements."""
    dockerfile = (ROOT / "images" / "hub" / "Dockerfile").read_text()
    assert f"ARG Z2JH_VERSION={Z2JH}" in dockerfile
    ours = (ROOT / "images" / "hub" / "requirements.txt").read_text()
    assert f"jupyterhub {z2jh_jupyterhub_pin()}" in ours  # its comment names the base's
    ci = (ROOT / ".ci" / "run").read_text()
    assert f"-r images/hub/z2jh-{Z2JH}-requirements.txt" in ci
    assert "-r images/hub/requirements.txt" in ci
