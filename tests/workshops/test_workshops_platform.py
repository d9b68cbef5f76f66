"""Workshops end to end: a real `sdl up`, hub, workshops service, PostgreSQL, servers.

The tests of this module build on each other (one workshop, its accounts and files),
in the order written, like an instructor's day.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.platform import ADMIN_PASSWORD, SHARED_PASSWORD, HubClient, RunningPlatform
from tests.support.platform import wait_until as eventually
from tests.workshops.conftest import Service
from tests.workshops.helpers import make_zip

AS_ROOT = os.geteuid() == 0
V1 = {"course/01-intro.ipynb": '{"v": 1}', "course/data/readme.md": "read me"}
V2 = {
    "course/01-intro.ipynb": '{"v": 2}',
    "course/data/readme.md": "read me",
    "course/02-next.ipynb": '{"next": 1}',
}
state: dict[str, object] = {}


def text(service: Service, path: str) -> str | None:
    response = service.contents(path + "?content=1&format=text&type=file")
    return response.json()["content"] if response.status_code == 200 else None


@pytest.fixture(scope="module")
def ivan(platform: RunningPlatform) -> Service:
    return Service(platform, "ivan")


def test_non_instructor_cannot_create_or_hand_out(platform: RunningPlatform) -> None:
    walter = Service(platform, "walter")
    refused = walter.call(
        "POST", "/workshops", json={"name": "mine", "starts_at": "+0m", "ends_at": "+1h"}
    )
    assert refused.status_code == 403
    assert "not an instructor" in refused.json()["message"]
    assert walter.call("GET", "/workshops").json() == []


def test_instructor_creates_workshop_with_accounts(
    platform: RunningPlatform, ivan: Service
) -> None:
    created = ivan.call(
        "POST",
        "/workshops",
        json={
            "name": "eo-intro",
            "title": "EO intro",
            "starts_at": "+0m",
            "ends_at": "+4h",
            "profiles": ["small"],
            "join_code": True,
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["group"] == "ws-eo-intro" and created.json()["join_code"]
    state["join_code"] = created.json()["join_code"]
    upload = ivan.call(
        "PUT",
        "/workshops/eo-intro/template",
        data=make_zip(V1),
        headers={"Content-Type": "application/zip"},
    )
    assert upload.status_code == 200, upload.text
    accounts = ivan.call("POST", "/workshops/eo-intro/accounts", json={"count": 2})
    assert accounts.status_code == 201, accounts.text
    body = accounts.json()
    assert [a["username"] for a in body["accounts"]] == ["eo-intro-01", "eo-intro-02"]
    rows = body["csv"].strip().splitlines()
    assert rows[0] == "username,password,login_url,valid_until" and len(rows) == 3
    assert f"{platform.url}/hub/login" in rows[1]
    state["accounts"] = {a["username"]: a["password"] for a in body["accounts"]}
    # the passwords are not stored anywhere readable: the status has none
    assert "password" not in ivan.call("GET", "/workshops/eo-intro").text


def test_accounts_log_in_with_their_own_password_only(platform: RunningPlatform) -> None:
    accounts = state["accounts"]
    assert HubClient(platform.url).login("eo-intro-01", SHARED_PASSWORD).status_code == 403
    assert HubClient(platform.url).login("eo-intro-01", accounts["eo-intro-02"]).status_code == 403
    state["p1"] = Service(platform, "eo-intro-01", accounts["eo-intro-01"])


def test_hand_out_reaches_running_servers_now_and_others_at_spawn(
    platform: RunningPlatform, ivan: Service
) -> None:
    p1: Service = state["p1"]
    p1.spawn()
    handout = ivan.call("POST", "/workshops/eo-intro/handout")
    assert handout.status_code == 200, handout.text
    result = handout.json()
    assert result["version"] == 1
    assert sorted(result["delivered"]["eo-intro-01"]["copied"]) == [
        "01-intro.ipynb",
        "data/readme.md",
    ]
    assert result["pending"] == ["eo-intro-02"]
    assert text(p1, "workshops/eo-intro/01-intro.ipynb") == '{"v": 1}'
    home_file = platform.data_dir / "homes" / "eo-intro-01" / "workshops/eo-intro/01-intro.ipynb"
    if AS_ROOT:
        assert home_file.owner() == platform.account("eo-intro-01")  # as the participant

    # the second participant was not running: they get version 1 when they start
    p2 = Service(platform, "eo-intro-02", state["accounts"]["eo-intro-02"])
    p2.spawn()
    eventually(lambda: text(p2, "workshops/eo-intro/01-intro.ipynb"), 30, "hand-out at spawn")
    status = ivan.call("GET", "/workshops/eo-intro").json()
    versions = {p["username"]: p["version"] for p in status["participants"]}
    assert versions == {"eo-intro-01": 1, "eo-intro-02": 1}
    state["p2"] = p2


def test_changed_file_survives_second_hand_out_and_conflict_is_reported(
    platform: RunningPlatform, ivan: Service
) -> None:
    p1: Service = state["p1"]
    assert p1.put_text("workshops/eo-intro/01-intro.ipynb", "my notes").status_code in (200, 201)
    upload = ivan.call(
        "PUT",
        "/workshops/eo-intro/template",
        data=make_zip(V2),
        headers={"Content-Type": "application/zip"},
    )
    assert upload.status_code == 200
    result = ivan.call("POST", "/workshops/eo-intro/handout").json()
    assert result["version"] == 2 and result["new_version"]
    mine = result["delivered"]["eo-intro-01"]
    assert mine["conflicts"] == {"01-intro.ipynb": "01-intro.workshop-v2.ipynb"}
    assert "02-next.ipynb" in mine["copied"]
    assert text(p1, "workshops/eo-intro/01-intro.ipynb") == "my notes"
    assert text(p1, "workshops/eo-intro/01-intro.workshop-v2.ipynb") == '{"v": 2}'
    assert "01-intro.ipynb" in text(p1, "workshops/eo-intro/WORKSHOP-CONFLICTS.md")
    # the untouched participant simply got the update
    assert result["delivered"]["eo-intro-02"]["updated"] == ["01-intro.ipynb"]
    # the instructor and the participant both see the conflict
    rows = {
        p["username"]: p for p in ivan.call("GET", "/workshops/eo-intro").json()["participants"]
    }
    assert rows["eo-intro-01"]["conflicts"] == {"01-intro.ipynb": "01-intro.workshop-v2.ipynb"}
    assert rows["eo-intro-02"]["conflicts"] == {}
    me = p1.call("GET", "/me").json()
    assert me[0]["workshop"]["name"] == "eo-intro" and me[0]["version"] == 2
    assert "01-intro.ipynb" in me[0]["conflicts"]
    # handing out the same version again changes nothing and keeps the user's file
    again = ivan.call("POST", "/workshops/eo-intro/handout").json()
    assert again["version"] == 2 and not again["new_version"]
    assert text(p1, "workshops/eo-intro/01-intro.ipynb") == "my notes"


def test_participant_resets_one_file(ivan: Service) -> None:
    p1: Service = state["p1"]
    for bad in ("../../.bashrc", "/etc/passwd", "01-intro.workshop-v2.ipynb"):
        refused = p1.call("POST", "/workshops/eo-intro/reset", json={"path": bad})
        assert refused.status_code == 400, (bad, refused.text)
    reset = p1.call("POST", "/workshops/eo-intro/reset", json={"path": "01-intro.ipynb"})
    assert reset.status_code == 200, reset.text
    assert text(p1, "workshops/eo-intro/01-intro.ipynb") == '{"v": 2}'
    rows = {
        p["username"]: p for p in ivan.call("GET", "/workshops/eo-intro").json()["participants"]
    }
    assert rows["eo-intro-01"]["conflicts"] == {}
    # a later hand-out updates the reset file again like any untouched one
    assert ivan.call("POST", "/workshops/eo-intro/handout").json()["version"] == 2


def test_participant_cannot_manage_or_reset_others(platform: RunningPlatform) -> None:
    p1: Service = state["p1"]
    assert p1.call("POST", "/workshops/eo-intro/handout").status_code == 403
    assert p1.call("POST", "/workshops/eo-intro/accounts", json={"count": 1}).status_code == 403
    other = p1.call(
        "POST", "/workshops/eo-intro/reset", json={"user": "eo-intro-02", "path": "01-intro.ipynb"}
    )
    assert other.status_code == 403


def test_other_instructor_cannot_act_on_this_workshop(platform: RunningPlatform) -> None:
    iris = Service(platform, "iris")
    for method, path, body in [
        ("GET", "/workshops/eo-intro", None),
        ("POST", "/workshops/eo-intro/handout", None),
        ("POST", "/workshops/eo-intro/accounts", {"count": 1}),
        ("POST", "/workshops/eo-intro/participants", {"users": ["iris"]}),
        ("POST", "/workshops/eo-intro/reset", {"user": "eo-intro-01", "path": "01-intro.ipynb"}),
        ("DELETE", "/workshops/eo-intro", None),
    ]:
        response = iris.call(method, path, json=body)
        assert response.status_code == 403, (method, path, response.text)
        assert "belongs to ivan" in response.json()["message"]
    assert "eo-intro" not in [w["name"] for w in iris.call("GET", "/workshops").json()]
    # in her own workshop she cannot reach users outside it, nor take in admins
    created = iris.call(
        "POST", "/workshops", json={"name": "iris-ws", "starts_at": "+0m", "ends_at": "+1h"}
    )
    assert created.status_code == 201
    outside = iris.call(
        "POST", "/workshops/iris-ws/reset", json={"user": "eo-intro-01", "path": "01-intro.ipynb"}
    )
    assert outside.status_code == 404 and "not a participant" in outside.json()["message"]
    ada = HubClient(platform.url)
    ada.login("ada", ADMIN_PASSWORD)
    admin = iris.call("POST", "/workshops/iris-ws/participants", json={"users": ["ada"]})
    assert admin.status_code == 403 and "admin or instructor" in admin.json()["message"]
    assert iris.call("DELETE", "/workshops/iris-ws/participants/eo-intro-01").status_code == 404


def test_join_code_and_named_participants(platform: RunningPlatform, ivan: Service) -> None:
    carol = Service(platform, "carol")
    assert carol.call("POST", "/join", json={"code": "NOPE-NOPE"}).status_code == 404
    joined = carol.call("POST", "/join", json={"code": state["join_code"]})
    assert joined.status_code == 200 and joined.json() == {"joined": "eo-intro"}
    added = ivan.call("POST", "/workshops/eo-intro/participants", json={"users": ["dave"]})
    assert added.json() == {"added": ["dave"], "invited": []}  # new on the hub: added
    bad = ivan.call("POST", "/workshops/eo-intro/participants", json={"users": ["../root"]})
    assert bad.status_code == 400
    users = {
        p["username"]: p["via"]
        for p in ivan.call("GET", "/workshops/eo-intro").json()["participants"]
    }
    assert users["carol"] == "code" and users["dave"] == "name"
    assert users["eo-intro-01"] == "account"


def test_accounts_stop_working_after_the_end_time(platform: RunningPlatform, ivan: Service) -> None:
    made = ivan.call(
        "POST", "/workshops", json={"name": "short", "starts_at": "+0m", "ends_at": "+1h"}
    )
    assert made.status_code == 201
    account = ivan.call("POST", "/workshops/short/accounts", json={"count": 1}).json()
    name, password = account["accounts"][0]["username"], account["accounts"][0]["password"]
    participant = Service(platform, name, password)
    participant.spawn()
    past = {"ends_at": "2000-01-01T00:00:00Z", "starts_at": "1999-01-01T00:00Z"}
    ended = ivan.call("PATCH", "/workshops/short", json=past)
    assert ended.status_code == 200, ended.text
    assert HubClient(platform.url).login(name, password).status_code == 403
    # its running server is stopped, and the old session may not start another
    admin = HubClient(platform.url)
    admin.login("ada", ADMIN_PASSWORD)
    eventually(
        lambda: not admin.api("GET", f"/users/{name}").json()["servers"],
        30,
        "the ended account's server to stop",
    )
    again = participant.hub.api("POST", f"/users/{name}/server", json={"profile": "small"})
    assert again.status_code == 403
    assert ivan.call("POST", "/workshops/short/accounts", json={"count": 1}).status_code == 409


def test_hostile_uploads_are_refused(platform: RunningPlatform, ivan: Service) -> None:
    from tests.workshops.helpers import zip_bomb

    zipped = {"Content-Type": "application/zip"}
    for hostile, says in [
        (make_zip({"../../../../tmp/evil.txt": "x"}), "outside the template folder"),
        (make_zip({"/etc/cron.d/evil": "x"}), "outside the template folder"),
        (zip_bomb(), "zip bomb"),
        (b"not a zip at all", "not a zip file"),
    ]:
        response = ivan.call("PUT", "/workshops/eo-intro/template", data=hostile, headers=zipped)
        assert response.status_code == 400, response.text
        assert says in response.json()["message"]
    oversized = os.urandom(21 * 2**20)
    response = ivan.call("PUT", "/workshops/eo-intro/template", data=oversized, headers=zipped)
    assert response.status_code == 413 and "MiB allowed" in response.json()["message"]
    assert not Path("/tmp/evil.txt").exists()
    # the current set is untouched: handing out gives the same version
    assert ivan.call("POST", "/workshops/eo-intro/handout").json()["version"] == 2
