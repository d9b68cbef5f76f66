"""Started by test_kube_hub_pod.py as its own process: the hub pod's `jupyterhub --config
/usr/local/etc/jupyterhub/jupyterhub_config.py`, up to the point where it would start
serving (JupyterHub's own `initialize`: config file, database, services, roles,
authenticator), then one spawn's pod and PVC from the resulting config. Prints JSON.

A process of its own because z2jh's files keep module state (memoized values, the
curl HTTP client, `sys.path`), and so that under the hub-image virtualenv only the
image's packages are importable (the test drops the test tools' PYTHONPATH).

    python hub_pod_probe.py CONFIG_FILE OUT_JSON
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from jupyterhub import orm
from jupyterhub.app import JupyterHub
from traitlets.config import Config


def plain(value: Any) -> Any:
    """Config values as JSON: classes and functions by their import path."""
    if isinstance(value, dict | Config):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if callable(value):
        return f"{value.__module__}.{value.__qualname__}"
    return repr(value)


def class_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


async def spawn(c: Config) -> dict[str, Any]:
    from hub.config.z2jh import load_z2jh_settings
    from hub.kube.render import SampleUser, offline_kubeconfig, spawn_manifests
    from hub.policy.spawn import PROFILE_KEY, ProfileCatalog
    from hub.profiles import load_profiles

    settings = load_z2jh_settings()  # the pod's settings, as hub.extraConfig loads them
    user = SampleUser("student")
    profile = ProfileCatalog(load_profiles(settings.profiles_dir)).available_to(user.requester)[0]
    with offline_kubeconfig():
        _, pod, pvc = await spawn_manifests(c, user, {PROFILE_KEY: profile.slug})
    return {"profile": profile.slug, "pod": pod, "pvc": pvc}


def main(config_file: str, out: Path) -> None:
    app = JupyterHub()
    asyncio.run(app.initialize(["--config", config_file]))  # `jupyterhub --config ...`
    c = app.config
    services = {
        name: {
            "url": s.url,
            "managed": s.managed,
            "command": s.command,
            "environment": s.environment,
            "has_token": bool(s.api_token),
            "oauth_no_confirm": s.oauth_no_confirm,
        }
        for name, s in app._service_map.items()
    }
    roles = {role.name: sorted(role.scopes) for role in app.db.query(orm.Role)}
    service_roles = {s.name: sorted(r.name for r in s.roles) for s in app.db.query(orm.Service)}
    report = {
        "spawner_class": class_path(app.spawner_class),
        "authenticator_class": class_path(type(app.authenticator)),
        "services": services,
        "service_roles": service_roles,
        "roles": roles,
        "config": plain(c),
        "spawn": asyncio.run(spawn(c)),
    }
    out.write_text(json.dumps(report, indent=1, default=repr))


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
