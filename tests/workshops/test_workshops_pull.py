"""Pull hand-outs (the Kubernetes way) against the real workshops service of `sdl up`.

The service runs for real behind the real hub and proxy; the workspace's pull step
(`hub.workspace.pull_workshops`) runs here, into a temporary home, with real tokens:
a participant's own API token and, where the tests run as root, the token the hub
gave the participant's running server.
"""

from __future__ import annotations

import io
import os
import tarfile
import time
from pathlib import Path

import psutil
import pytest
import requests

from hub.netutil import free_port
from hub.workshops.handout import CONFLICTS_FILE
from hub.workshops.pull import STATE, pull_materials
from hub.workspace import pull_workshops
from tests.support.platform import RunningPlatform
from tests.workshops.conftest import Service
from tests.workshops.helpers import make_zip

AS_ROOT = os.geteuid() == 0
NAME = "pull-lab"
V1 = {"lab/01-start.ipynb": '{"v": 1}', "lab/data/notes.md": "notes v1"}
V2 = {
    "lab/01-start.ipynb": '{"v": 2}',
    "lab/data/notes.md": "notes v1",
    "lab/02-more.ipynb": '{"more": 1}',
}
state: dict[str, object] = {}


@pytest.fixture(scope="module")
def ivan(platform: RunningPlatform) -> Service:
    return Service(platform, "ivan")


@pytest.fixture(scope="module")
def paula(platform: RunningPlatform, ivan: Service) -> Service:
    """A named participant of a workshop with version 1 handed out (no server running)."""
    created = ivan.call(
        "POST", "/workshops", json={"name": NAME, "starts_at": "+0m", "ends_at": "+4h"}
    )
    assert created.status_code == 201, created.text
    upload = ivan.call(
        "PUT",
        f"/workshops/{NAME}/template",
        data=make_zip(V1),
        headers={"Content-Type": "application/zip"},
    )
    assert upload.status_code == 200, upload.text
    added = ivan.call("POST", f"/workshops/{NAME}/participants", json={"users": ["paula"]})
    assert added.json() == {"added": ["paula"], "invited": []}
    handout = ivan.call("POST", f"/workshops/{NAME}/handout")
    assert handout.status_code == 200 and handout.json()["version"] == 1, handout.text
    return Service(platform, "paula")


def environ(platform: RunningPlatform, token: str) -> dict[str, str]:
    return {
        "SDL_WORKSHOPS_URL": f"{platform.url}/services/workshops/",
        "JUPYTERHUB_API_TOKEN": token,
    }


def tree(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under root: its bytes and modification time (to see any write)."""
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_materials_name_the_participants_handed_out_version(paula: Service) -> None:
    response = paula.call("GET", "/materials")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user"] == "paula"
    assert [(m["workshop"], m["version"], m["files"]) for m in body["materials"]] == [(NAME, 1, 2)]
    archive = requests.get(
        f"{paula.platform.url}{body['materials'][0]['archive']}",
        timeout=30,
        headers={"Authorization": f"token {paula.token}"},
    )
    assert archive.status_code == 200
    assert archive.headers["Content-Type"] == "application/gzip"
    with tarfile.open(fileobj=io.BytesIO(archive.content), mode="r:gz") as tar:
        names = {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}
    assert names == {"01-start.ipynb": b'{"v": 1}', "data/notes.md": b"notes v1"}


def test_others_get_nothing_and_anonymous_callers_are_refused(
    platform: RunningPlatform, paula: Service
) -> None:
    nora = Service(platform, "nora")  # logged in, not a participant
    assert nora.call("GET", "/materials").json() == {"user": "nora", "materials": []}
    stolen = nora.call("GET", f"/materials/{NAME}/1.tar.gz")
    assert stolen.status_code == 404 and "do not take part" in stolen.json()["message"]
    assert not stolen.content.startswith(b"\x1f\x8b")  # no gzip of paula's files
    forged = nora.call("POST", f"/materials/{NAME}/report", json={"version": 1, "copied": ["x"]})
    assert forged.status_code == 404
    # the instructor is not a participant either: the files reach participants only
    assert Service(platform, "ivan").call("GET", "/materials").json()["materials"] == []
    # a version that was not handed out is not served, even to a participant
    assert paula.call("GET", f"/materials/{NAME}/7.tar.gz").status_code == 404
    for path in ("/materials", f"/materials/{NAME}/1.tar.gz"):
        anonymous = requests.get(
            f"{platform.url}/services/workshops/api{path}", timeout=30, allow_redirects=False
        )
        assert anonymous.status_code in (302, 403), (path, anonymous.status_code)
        assert b"notes v1" not in anonymous.content and NAME not in anonymous.text
        bad_token = requests.get(
            f"{platform.url}/services/workshops/api{path}",
            timeout=30,
            headers={"Authorization": "token not-a-token"},
            allow_redirects=False,
        )
        assert bad_token.status_code in (302, 403), (path, bad_token.status_code)


def test_pull_delivers_into_a_fresh_home_and_reports(
    platform: RunningPlatform, ivan: Service, paula: Service, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    lines = pull_workshops(home, environ(platform, paula.token))
    assert lines == [f"workshops: {NAME}: version 1: 2 new, 0 updated"], lines
    folder = home / "workshops" / NAME
    assert (folder / "01-start.ipynb").read_text() == '{"v": 1}'
    assert (folder / "data/notes.md").read_text() == "notes v1"
    assert not (folder / CONFLICTS_FILE).exists()
    assert [p.name for p in home.iterdir()] == ["workshops"]  # no temporary files left
    rows = {p["username"]: p for p in ivan.call("GET", f"/workshops/{NAME}").json()["participants"]}
    assert rows["paula"]["version"] == 1 and rows["paula"]["error"] == ""
    state["home"] = home


def test_changed_file_is_kept_and_new_version_goes_beside(
    platform: RunningPlatform, ivan: Service, paula: Service
) -> None:
    home: Path = state["home"]
    folder = home / "workshops" / NAME
    (folder / "01-start.ipynb").write_text("paula's notes")
    upload = ivan.call(
        "PUT",
        f"/workshops/{NAME}/template",
        data=make_zip(V2),
        headers={"Content-Type": "application/zip"},
    )
    assert upload.status_code == 200
    handout = ivan.call("POST", f"/workshops/{NAME}/handout").json()
    assert handout["version"] == 2 and handout["pending"] == ["paula"]
    lines = pull_materials(home, environ(platform, paula.token))
    assert lines == [
        f"workshops: {NAME}: version 2: 1 new, 0 updated, 1 beside your changed files"
    ], lines
    assert (folder / "01-start.ipynb").read_text() == "paula's notes"
    assert (folder / "01-start.workshop-v2.ipynb").read_text() == '{"v": 2}'
    assert (folder / "02-more.ipynb").read_text() == '{"more": 1}'
    assert "01-start.ipynb" in (folder / CONFLICTS_FILE).read_text()
    # the instructor's page and the participant's own view show the conflict
    rows = {p["username"]: p for p in ivan.call("GET", f"/workshops/{NAME}").json()["participants"]}
    assert rows["paula"]["version"] == 2
    assert rows["paula"]["conflicts"] == {"01-start.ipynb": "01-start.workshop-v2.ipynb"}
    mine = [m for m in paula.call("GET", "/me").json() if m["workshop"]["name"] == NAME]
    assert mine[0]["version"] == 2 and "01-start.ipynb" in mine[0]["conflicts"]


def test_second_pull_changes_nothing(platform: RunningPlatform, paula: Service) -> None:
    home: Path = state["home"]
    before = tree(home)
    lines = pull_materials(home, environ(platform, paula.token))
    assert lines == [f"workshops: {NAME}: version 2 already here"]
    assert tree(home) == before
    assert '"version": 2' in (home / "workshops" / NAME / STATE).read_text()


def test_dead_service_logs_and_returns(paula: Service, tmp_path: Path) -> None:
    dead = {
        "SDL_WORKSHOPS_URL": f"http://127.0.0.1:{free_port()}/services/workshops/",
        "JUPYTERHUB_API_TOKEN": paula.token,
    }
    started = time.monotonic()
    lines = pull_workshops(tmp_path, dead)
    assert time.monotonic() - started < 15
    assert len(lines) == 1 and "materials not fetched, starting without them" in lines[0]
    assert list(tmp_path.iterdir()) == []
    assert pull_workshops(tmp_path, {"JUPYTERHUB_API_TOKEN": paula.token}) == []  # not set: no-op
    refused = pull_workshops(
        tmp_path, {**dead, "SDL_WORKSHOPS_URL": "http://x/", "JUPYTERHUB_API_TOKEN": ""}
    )
    assert refused == ["workshops: no JUPYTERHUB_API_TOKEN; materials not fetched"]


def server_token(username: str) -> str | None:
    """The JUPYTERHUB_API_TOKEN the hub gave this user's running server (root only)."""
    for proc in psutil.process_iter(["pid"]):
        try:
            env = proc.environ()
        except (psutil.Error, OSError):
            continue
        server = "JUPYTERHUB_SERVICE_NAME" not in env  # a server, not a hub service
        if server and env.get("JUPYTERHUB_USER") == username and env.get("JUPYTERHUB_API_TOKEN"):
            return env["JUPYTERHUB_API_TOKEN"]
    return None


@pytest.mark.skipif(not AS_ROOT, reason="reads the server's environment from /proc as root")
def test_a_servers_own_token_fetches_its_users_materials(
    platform: RunningPlatform, paula: Service
) -> None:
    paula.spawn()
    token = server_token("paula")
    assert token, "no running server of paula found"
    response = requests.get(
        f"{platform.url}/services/workshops/api/materials",
        timeout=30,
        headers={"Authorization": f"token {token}"},
    )
    assert response.status_code == 200, response.text
    assert [(m["workshop"], m["version"]) for m in response.json()["materials"]] == [(NAME, 2)]
    archive = requests.get(
        f"{platform.url}{response.json()['materials'][0]['archive']}",
        headers={"Authorization": f"token {token}"},
        timeout=30,
    )
    assert archive.status_code == 200 and archive.content.startswith(b"\x1f\x8b")
    paula.hub.api("DELETE", "/users/paula/server")
