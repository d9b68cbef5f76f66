"""The documented install sequence (helm-values/README.md) against the files it names.

Each chart line equals its release in helmfile.yaml (name, chart, repository, version,
namespace, values files); every file exists or is made by an earlier line; every Secret
and ConfigMap key a pod, the operator or a chart reads is created before the release that
needs it; the steps run in the order the cluster needs. The offline lines (the settings
document, `sdl render`) are run here as written. What needs a cluster is the live suite.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from install_doc import VALUES, created_objects, helm_install, install_commands

from hub.kube.manifests import platform_objects
from hub.settings import KubernetesSettings

#: Secrets the charts make themselves (z2jh's hub Secret holds the service tokens).
CHART_MADE = {"hub"}
#: the variable holding each ODC role's password in the sequence
PASSWORDS = {"sdl_reader": "SDL_ODC_READER_PASSWORD", "sdl_ingest": "SDL_ODC_INGEST_PASSWORD"}


def load(name: str) -> Any:
    return yaml.safe_load((VALUES / name).read_text())


def refs(obj: Any) -> Iterator[tuple[str, str, str, bool]]:
    """(kind, name, key, optional) of every secretKeyRef/configMapKeyRef inside obj."""
    if isinstance(obj, dict):
        for kind, ref_key in (("secret", "secretKeyRef"), ("configmap", "configMapKeyRef")):
            ref = obj.get(ref_key)
            if isinstance(ref, dict):
                yield kind, ref["name"], ref["key"], bool(ref.get("optional"))
        for value in obj.values():
            yield from refs(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from refs(value)


def command_index(commands: list[str], *words: str) -> int:
    found = [i for i, c in enumerate(commands) if all(w in shlex.split(c) for w in words)]
    assert len(found) == 1, f"one command with {words}: {found}"
    return found[0]


def test_chart_lines_are_the_helmfile_releases() -> None:
    helmfile = load("helmfile.yaml")
    repos = {r["name"]: r["url"] for r in helmfile["repositories"]}
    installs = [i for i in map(helm_install, install_commands()) if i is not None]
    assert sorted(i.release for i in installs) == sorted(r["name"] for r in helmfile["releases"])
    for release in helmfile["releases"]:
        (line,) = [i for i in installs if i.release == release["name"]]
        repo, chart = release["chart"].split("/")
        assert (line.chart, line.repo) == (chart, repos[repo]), release["name"]
        assert line.version == str(release["version"]), release["name"]
        assert line.namespace == release["namespace"], release["name"]
        assert line.values == release["values"], release["name"]
        assert "--wait" in line.flags  # the next step needs this one's pods (or CRDs)


def test_every_file_named_exists_or_is_made_earlier() -> None:
    made: set[str] = set()
    for command in install_commands():
        if " > " in command:
            made.add(command.rsplit(" > ", 1)[1].strip())
        args = shlex.split(command.split(" > ")[0])
        named = [args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-f", "--config")]
        named += [a.split("=", 1)[1] for a in args if a.startswith("--from-file=")]
        for name in named:
            if name.startswith("rendered/"):
                assert any(c.startswith("sdl render --out rendered/") for c in install_commands())
                continue
            assert (VALUES / name).is_file() or name in made, f"{name} in: {command}"
    assert made == {"settings.yaml"}


def test_the_steps_come_in_the_order_the_cluster_needs() -> None:
    commands = install_commands()
    operator = command_index(commands, "cnpg", "cloudnative-pg")
    namespace = command_index(commands, "create", "namespace", "sdl")
    cluster = command_index(commands, "apply", "postgres/odc-cluster.yaml")
    ready = command_index(commands, "wait", "cluster/sdl-odc-db")
    hub = command_index(commands, "sdl", "jupyterhub")
    gateway = command_index(commands, "sdl-dask-gateway", "dask-gateway")
    platform = command_index(commands, "apply", "rendered/platform/")
    created = [i for i, c in enumerate(commands) if " create secret " in c or "configmap" in c]
    # the Cluster's CRD comes with the operator; its login Secrets before it; the hub's and
    # the gateway's Secrets before their pods; traefik's IngressRoute CRD with the gateway
    assert operator < cluster < ready < hub < gateway < platform
    assert namespace < min(created) and max(created) < cluster


def test_every_secret_and_configmap_read_is_created() -> None:
    created = {(c.kind, c.name): c for c in created_objects(install_commands())}
    needed = [*refs(load("jupyterhub.yaml")), *refs(load("dask-gateway.yaml"))]
    kube = KubernetesSettings()
    needed += [r for obj in platform_objects(kube) if obj["kind"] != "Secret" for r in refs(obj)]
    needed.append(("secret", kube.odc_secret_name, kube.odc_secret_key, False))  # user pods
    for kind, name, key, optional in needed:
        if name in CHART_MADE:
            continue
        assert (kind, name) in created, f"{kind} {name} is read but never created"
        assert optional or key in created[(kind, name)].keys, f"{kind} {name}: no key {key}"
    # CloudNativePG's logins: basic-auth Secrets with username and password
    cluster = load("postgres/odc-cluster.yaml")["spec"]
    logins = [
        cluster["bootstrap"]["initdb"]["secret"]["name"],
        *(r["passwordSecret"]["name"] for r in cluster["managed"]["roles"]),
    ]
    for name in logins:
        secret = created[("secret", name)]
        assert secret.type == "kubernetes.io/basic-auth"
        assert secret.keys == {"username", "password"}


def test_the_database_urls_are_the_rendered_templates_filled_in() -> None:
    """The two URL Secrets made by hand equal `sdl render`'s templates, CHANGE_ME filled."""
    from hub.kube.manifests import secret_templates

    commands = install_commands()
    kube = KubernetesSettings()
    for template in secret_templates(kube):
        name = template["metadata"]["name"]
        (line,) = [c for c in commands if f" create secret generic {name} " in c]
        url = next(a for a in shlex.split(line) if a.startswith("--from-literal=url="))
        role = template["stringData"]["url"].split("//")[1].split(":")[0]
        variable = {
            "sdl_reader": "SDL_ODC_READER_PASSWORD",
            "sdl_ingest": "SDL_ODC_INGEST_PASSWORD",
        }
        expected = template["stringData"]["url"].replace("CHANGE_ME", f"${variable[role]}")
        assert url == f"--from-literal=url={expected}"


def test_the_offline_lines_run_as_written(tmp_path: Path) -> None:
    """The settings document and `sdl render` lines, run in a copy of helm-values/."""
    work = tmp_path / "helm-values"
    shutil.copytree(VALUES, work)
    sdl = shutil.which("sdl", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    assert sdl, "the sdl command (this package) is not installed"
    env = {**os.environ, "PATH": f"{Path(sdl).parent}{os.pathsep}{os.environ['PATH']}"}
    offline = [c for c in install_commands() if c.startswith(("python3 ", "sdl ", "rm "))]
    assert len(offline) == 3
    for command in offline:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", command],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"{command}\n{done.stdout}{done.stderr}"
    document = yaml.safe_load((work / "settings.yaml").read_text())
    assert document == load("jupyterhub.yaml")["hub"]["extraFiles"]["sdl-settings"]["data"]
    platform = sorted(p.name for p in (work / "rendered" / "platform").iterdir())
    assert "ingressroute-sdl-dask-dashboards.yaml" in platform
    assert not [name for name in platform if name.startswith("secret-")]
    created = {c.name for c in created_objects(install_commands()) if c.kind == "secret"}
    for path in (work / "rendered").rglob("*.yaml"):
        for _, name, _, _ in refs(yaml.safe_load(path.read_text())):
            assert name in created | CHART_MADE, f"{path.name} reads Secret {name}"
