"""Workshops on Kubernetes without a cluster: the apply steps on a fresh Config() (TLJH
style), the service's settings in the hub pod, and the pull step's unpacking of
hostile archives."""

from __future__ import annotations

import asyncio
import io
import tarfile
from pathlib import Path

import pytest
from traitlets.config import Config

from hub.config.context import HubContext
from hub.config.workshops import ACCESS, KUBE_WORKSHOPS_URL, apply_workshops
from hub.config.z2jh import apply_z2jh
from hub.runtime import Runtime
from hub.settings import settings_from_dict
from hub.workshops import SERVICE_NAME
from hub.workshops.pull import PullError, unpack
from hub.workshops.service import platform_settings

DB = "postgresql://sdl:secret@sdl-db-rw:5432/sdl"
KUBE = {"mode": "kubernetes", "auth": {"shared_password": "pw-123456"}, "database": {"url": DB}}


def test_kubernetes_registers_the_service_in_the_hub_pod_and_tells_workspaces() -> None:
    c = Config()
    c.KubeSpawner.environment = {"ODC_DEFAULT_INDEX_DRIVER": "postgres"}  # an earlier step
    c.JupyterHub.services = [{"name": "quotas"}]
    settings = settings_from_dict(KUBE)
    apply_workshops(HubContext(settings, None, {}, "/etc/sdl/settings.yaml"), c)
    service = c.JupyterHub.services[-1]
    assert [s["name"] for s in c.JupyterHub.services] == ["quotas", "workshops"]
    # its URL and environment in the hub pod: tests/kube/test_kube_hub_services.py
    assert service["command"][1:] == ["-m", "hub.workshops.service"]
    assert c.KubeSpawner.environment == {
        "ODC_DEFAULT_INDEX_DRIVER": "postgres",
        "SDL_WORKSHOPS_URL": "http://proxy-public/services/workshops/",
    }
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    assert ACCESS in roles["user"]["scopes"] and ACCESS in roles["server"]["scopes"]
    assert "admin:users" in roles["workshops-service"]["scopes"]
    assert c.WorkshopAccountsMixin.workshops_admin_url == DB
    assert "workshops_data_dir" not in c.WorkshopAccountsMixin  # no embedded PostgreSQL


def test_local_mode_sets_no_workspace_url() -> None:
    c = Config()
    settings = settings_from_dict({"data_dir": "/tmp/sdl-x"})
    runtime = Runtime("127.0.0.1", 1, 2, 3, service_ports={SERVICE_NAME: 601})
    apply_workshops(HubContext(settings, runtime), c)
    service = c.JupyterHub.services[0]
    assert service["url"] == "http://127.0.0.1:601"
    assert service["environment"] == {"SDL_DATA_DIR": "/tmp/sdl-x"}
    assert "environment" not in c.KubeSpawner
    assert c.WorkshopAccountsMixin.workshops_data_dir == "/tmp/sdl-x"


def test_z2jh_hub_pod_gets_the_service_and_workspaces_the_url() -> None:
    c = Config()
    apply_z2jh(settings_from_dict(KUBE), c, "/etc/sdl/settings.yaml")
    names = [s["name"] for s in c.JupyterHub.services]
    assert names == ["quotas", "workshops", "archive"]  # the status map serves from the hub pod too
    env = c.KubeSpawner.environment
    assert env["SDL_WORKSHOPS_URL"] == KUBE_WORKSHOPS_URL
    assert env["SDL_TEMPLATES_DIR"] == "/opt/sdl/templates"  # apply_environment's, kept
    assert "ODC_DEFAULT_DB_URL" in env
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    assert {"quotas-service", "workshops-service", "user", "server"} <= set(roles)


def test_service_reads_the_hub_pods_settings_without_a_runtime_file(tmp_path: Path) -> None:
    document = tmp_path / "settings.yaml"
    document.write_text("mode: kubernetes\nhub: {spawn_timeout: 300}\n")
    env = {
        "SDL_MODE": "kubernetes",
        "SDL_CONFIG": str(document),
        "SDL_DATABASE_URL": DB,
        "JUPYTERHUB_PUBLIC_URL": "https://lab.example.org/services/workshops/",
    }
    settings, public_url = platform_settings(tmp_path / "data", env)
    assert settings.mode == "kubernetes" and settings.hub.spawn_timeout == 300
    assert settings.data_dir == tmp_path / "data"
    assert settings.database.url == DB
    assert public_url == "https://lab.example.org"
    _, no_public = platform_settings(tmp_path / "data", {"SDL_MODE": "kubernetes"})
    assert no_public == ""


def tar_gz(members: list[tarfile.TarInfo], bodies: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info in members:
            body = bodies.get(info.name, b"")
            info.size = len(body) if info.isfile() else 0
            tar.addfile(info, io.BytesIO(body) if info.isfile() else None)
    return buffer.getvalue()


def test_unpack_takes_regular_files_with_safe_names(tmp_path: Path) -> None:
    archive = tmp_path / "ok.tar.gz"
    archive.write_bytes(
        tar_gz(
            [tarfile.TarInfo("a.ipynb"), tarfile.TarInfo("d/b.md")],
            {"a.ipynb": b"{}", "d/b.md": b"b"},
        )
    )
    assert unpack(archive, tmp_path / "out") == 2
    assert (tmp_path / "out/d/b.md").read_bytes() == b"b"


@pytest.mark.parametrize("bad", ["../escape.md", "/etc/evil", "a/../../x", "link", "dev"])
def test_unpack_refuses_hostile_members(tmp_path: Path, bad: str) -> None:
    info = tarfile.TarInfo(bad)
    if bad == "link":
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
    if bad == "dev":
        info.type = tarfile.CHRTYPE
    archive = tmp_path / "bad.tar.gz"
    archive.write_bytes(tar_gz([info], {bad: b"x"}))
    with pytest.raises(PullError):
        unpack(archive, tmp_path / "out")
    assert not (tmp_path / "escape.md").exists()
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*"))


@pytest.fixture
def pull_manager():
    """A Kubernetes-mode manager on a real (embedded) PostgreSQL; no hub is called."""
    import shutil

    from hub.db.embedded import EmbeddedPostgres
    from hub.db.urls import PlatformPostgres
    from hub.workshops.hubapi import HubAPI
    from hub.workshops.manager import Manager
    from hub.workshops.store import open_store
    from tests.support.platform import make_data_dir

    data_dir = make_data_dir("sdl-ws-kube-")  # reachable by the PostgreSQL OS user
    with EmbeddedPostgres(data_dir).ensure_running():
        settings = settings_from_dict({"mode": "kubernetes", "data_dir": str(data_dir)})
        store = open_store(PlatformPostgres.of(settings))
        yield Manager(settings, store, HubAPI("http://127.0.0.1:9/hub/api", "unused"), "")
        store.engine.dispose()
    shutil.rmtree(data_dir, ignore_errors=True)


def test_kubernetes_hand_out_records_and_writes_into_no_home(pull_manager) -> None:
    from hub.errors import Conflict
    from hub.workshops.actors import Actor
    from hub.workshops.model import parse_spec
    from tests.workshops.helpers import make_zip

    m = pull_manager
    assert m.pull
    ivan = Actor("ivan", instructor=True)
    m.store.create(
        parse_spec({"name": "k8s-lab", "starts_at": "+0m", "ends_at": "+2h"}), "ivan", None
    )
    m.store.add_participants("k8s-lab", ["paula", "piet"], "name")

    async def flow() -> dict:
        await m.upload(ivan, "k8s-lab", make_zip({"a.ipynb": "{}"}), [])
        return await m.handout(ivan, "k8s-lab")  # no hub call: nothing to deliver now

    result = asyncio.run(flow())
    assert result == {
        "version": 1,
        "new_version": True,
        "delivered": {},
        "pending": ["paula", "piet"],
        "at_next_start": 2,
    }
    assert m.store.get("k8s-lab").version == 1
    assert m.store.deliveries("k8s-lab") == {}  # recorded as a version; pulls deliver
    assert not (m.settings.data_dir / "homes").exists()
    with pytest.raises(Conflict, match="not available on Kubernetes"):
        asyncio.run(m.reset(Actor("paula"), "k8s-lab", "paula", "a.ipynb"))


def test_the_manager_queries_its_store_off_the_event_loop(pull_manager) -> None:
    """The service serves every user from one event loop: no statement of the store's may
    run on it (SQLAlchemy's own event names the thread of each statement)."""
    import threading

    import sqlalchemy as sa

    from hub.workshops.actors import Actor
    from hub.workshops.model import parse_spec
    from tests.workshops.helpers import make_zip

    m = pull_manager
    m.store.create(
        parse_spec({"name": "off-loop", "starts_at": "+0m", "ends_at": "+2h"}), "iris", None
    )
    m.store.add_participants("off-loop", ["paula"], "name")
    threads: list[bool] = []  # True: the statement ran on the loop's (main) thread

    def seen(*_: object) -> None:
        threads.append(threading.current_thread() is threading.main_thread())

    iris = Actor("iris", instructor=True)

    async def flow() -> None:
        await m.upload(iris, "off-loop", make_zip({"a.ipynb": "{}"}), [])
        await m.handout(iris, "off-loop")
        assert [w.name for w in await m.listing(iris)] == ["off-loop"]
        assert (await m.status(iris, "off-loop"))["participants"][0]["username"] == "paula"
        assert [w["workshop"]["name"] for w in await m.mine("paula")] == ["off-loop"]

    sa.event.listen(m.store.engine, "before_cursor_execute", seen)
    try:
        asyncio.run(flow())
    finally:
        sa.event.remove(m.store.engine, "before_cursor_execute", seen)
    assert threads and not any(threads), f"{sum(threads)} of {len(threads)} on the loop"
