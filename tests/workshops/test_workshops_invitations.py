"""An existing user joins a workshop (and its group's quota) only with their consent.

On the real platform of the session: an instructor naming an existing user invites
them; only that user accepts (then takes part, group included) or declines; an admin,
new names and the workshop's own accounts are added at once. The workshop's owner (or
an admin), and nobody else, withdraws an invitation not yet answered; an ended
workshop cannot be joined by invitation. The tests build on each other in the order
written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.platform import ADMIN_PASSWORD, RunningPlatform
from tests.workshops.conftest import Service

NAME = "inv-ws"
OTHER = "inv-other"
PAGE = "/services/workshops/"
XSRF = re.compile(r'name="_xsrf" value="([^"]+)"')


@pytest.fixture(scope="module")
def ivan(platform: RunningPlatform) -> Iterator[Service]:
    ivan = Service(platform, "ivan")
    for name in (NAME, OTHER):
        made = ivan.call(
            "POST",
            "/workshops",
            json={"name": name, "starts_at": "+0m", "ends_at": "+4h", "quota": {"max_cpu": 64}},
        )
        assert made.status_code == 201, made.text
    yield ivan
    for name in (NAME, OTHER):
        assert ivan.call("DELETE", f"/workshops/{name}").status_code == 204


@pytest.fixture(scope="module")
def ada(platform: RunningPlatform) -> Service:
    return Service(platform, "ada", ADMIN_PASSWORD)


def groups(ada: Service, username: str) -> list[str]:
    model = ada.hub.api("GET", f"/users/{username}")
    assert model.status_code == 200, model.text
    return model.json()["groups"]


def status(ivan: Service) -> dict:
    response = ivan.call("GET", f"/workshops/{NAME}")
    assert response.status_code == 200, response.text
    return response.json()


def participants(ivan: Service) -> dict[str, str]:
    return {p["username"]: p["via"] for p in status(ivan)["participants"]}


def test_an_instructor_naming_an_existing_user_only_invites_them(
    platform: RunningPlatform, ivan: Service, ada: Service
) -> None:
    ines = Service(platform, "ines")  # logged in once: an existing hub user
    before = groups(ada, "ines")
    added = ivan.call("POST", f"/workshops/{NAME}/participants", json={"users": ["ines", "nemo"]})
    assert added.status_code == 200, added.text
    assert added.json() == {"added": ["nemo"], "invited": ["ines"]}  # nemo is new: made here
    assert groups(ada, "ines") == before  # no group, so no workshop quota, without consent
    assert f"ws-{NAME}" in groups(ada, "nemo")
    assert "ines" not in participants(ivan) and status(ivan)["invited"] == ["ines"]
    assert ines.call("GET", "/me").json() == []
    [invitation] = ines.call("GET", "/invitations").json()
    assert invitation["workshop"] == NAME and invitation["invited_by"] == "ivan"
    assert invitation["quota"] == {"max_cpu": 64}  # what taking part would mean
    # naming her again changes nothing: still one invitation
    again = ivan.call("POST", f"/workshops/{NAME}/participants", json={"users": ["ines"]})
    assert again.json() == {"added": [], "invited": ["ines"]}
    assert len(ines.call("GET", "/invitations").json()) == 1


def test_nobody_else_answers_an_invitation(platform: RunningPlatform, ivan: Service) -> None:
    oskar = Service(platform, "oskar")
    for who in (oskar, ivan):  # another user, and the instructor who sent it
        for answer in ("accept", "decline"):
            refused = who.call("POST", f"/invitations/{NAME}/{answer}")
            assert refused.status_code == 404, (who.name, answer, refused.text)
            assert "no invitation" in refused.json()["message"]
    assert oskar.call("GET", "/invitations").json() == []
    assert status(ivan)["invited"] == ["ines"] and "oskar" not in participants(ivan)


def test_the_invited_user_accepts_and_takes_part(
    platform: RunningPlatform, ivan: Service, ada: Service
) -> None:
    ines = Service(platform, "ines")
    accepted = ines.call("POST", f"/invitations/{NAME}/accept")
    assert accepted.status_code == 200 and accepted.json() == {"joined": NAME}
    assert f"ws-{NAME}" in groups(ada, "ines")
    assert participants(ivan)["ines"] == "invitation" and status(ivan)["invited"] == []
    assert [w["workshop"]["name"] for w in ines.call("GET", "/me").json()] == [NAME]
    assert ines.call("GET", "/invitations").json() == []
    assert ines.call("POST", f"/invitations/{NAME}/accept").status_code == 404  # answered


def test_a_declined_invitation_is_gone(
    platform: RunningPlatform, ivan: Service, ada: Service
) -> None:
    oskar = Service(platform, "oskar")
    before = groups(ada, "oskar")
    invited = ivan.call("POST", f"/workshops/{NAME}/participants", json={"users": ["oskar"]})
    assert invited.json() == {"added": [], "invited": ["oskar"]}
    declined = oskar.call("POST", f"/invitations/{NAME}/decline")
    assert declined.status_code == 200 and declined.json() == {"declined": NAME}
    assert oskar.call("GET", "/invitations").json() == []
    assert groups(ada, "oskar") == before and "oskar" not in participants(ivan)
    assert status(ivan)["invited"] == []
    assert oskar.call("POST", f"/invitations/{NAME}/accept").status_code == 404


def test_an_admin_adds_existing_users_at_once(
    platform: RunningPlatform, ivan: Service, ada: Service
) -> None:
    Service(platform, "uma")
    added = ada.call("POST", f"/workshops/{NAME}/participants", json={"users": ["uma"]})
    assert added.status_code == 200 and added.json() == {"added": ["uma"], "invited": []}
    assert f"ws-{NAME}" in groups(ada, "uma") and participants(ivan)["uma"] == "name"


def test_the_workshops_own_accounts_are_added_at_once(ivan: Service, ada: Service) -> None:
    made = ivan.call("POST", f"/workshops/{NAME}/accounts", json={"count": 1})
    assert made.status_code == 201, made.text
    [account] = [a["username"] for a in made.json()["accounts"]]
    assert participants(ivan)[account] == "account"
    removed = ivan.call("DELETE", f"/workshops/{NAME}/participants/{account}")
    assert removed.status_code == 204
    assert f"ws-{NAME}" not in groups(ada, account)
    back = ivan.call("POST", f"/workshops/{NAME}/participants", json={"users": [account]})
    assert back.json() == {"added": [account], "invited": []}  # made by this workshop
    assert f"ws-{NAME}" in groups(ada, account)
    # another workshop's account is someone else's user here: only invited
    other = ivan.call("POST", f"/workshops/{OTHER}/accounts", json={"count": 1}).json()
    stranger = other["accounts"][0]["username"]
    named = ivan.call("POST", f"/workshops/{NAME}/participants", json={"users": [stranger]})
    assert named.json() == {"added": [], "invited": [stranger]}
    assert f"ws-{NAME}" not in groups(ada, stranger)


def page_xsrf(service: Service, path: str) -> tuple[str, str]:
    """(the page's text, the XSRF token its forms carry), through the service's OAuth."""
    page = service.hub.session.get(f"{service.platform.url}{PAGE}{path}", timeout=60)
    assert page.status_code == 200, page.text[:500]
    found = XSRF.search(page.text)
    assert found, page.text[:500]
    return page.text, found.group(1)


def test_the_pages_say_invited_and_let_only_the_user_answer(
    platform: RunningPlatform, ivan: Service, ada: Service
) -> None:
    vic = Service(platform, "vic")
    _, token = page_xsrf(ivan, f"w/{NAME}")
    answer = ivan.hub.session.post(
        f"{platform.url}{PAGE}w/{NAME}/participants",
        data={"users": "vic", "_xsrf": token},
        timeout=60,
    )
    assert answer.status_code == 200 and "Invited vic" in answer.text, answer.text[:500]
    assert "id='invited'" in answer.text
    text, token = page_xsrf(vic, "")
    assert f"id='invitation-{NAME}'" in text and "max_cpu 64" in text
    accept = f"{platform.url}{PAGE}me/invitations/{NAME}/accept"
    # a cookie request without the form's token is refused: a forged form cannot accept
    forged = vic.hub.session.post(accept, data={}, timeout=60, allow_redirects=False)
    assert forged.status_code == 403 and f"ws-{NAME}" not in groups(ada, "vic")
    # another user's form post finds no invitation of theirs
    oskar = Service(platform, "oskar")
    _, oskars = page_xsrf(oskar, "")
    other = oskar.hub.session.post(accept, data={"_xsrf": oskars}, timeout=60)
    assert other.status_code == 404 and "no invitation" in other.text
    joined = vic.hub.session.post(accept, data={"_xsrf": token}, timeout=60)
    assert joined.status_code == 200 and f"You joined {NAME}" in joined.text
    assert f"ws-{NAME}" in groups(ada, "vic") and participants(ivan)["vic"] == "invitation"
    assert f"id='invitation-{NAME}'" not in page_xsrf(vic, "")[0]


def test_the_instructor_withdraws_an_invitation(
    platform: RunningPlatform, ivan: Service, ada: Service
) -> None:
    wes = Service(platform, "wes")
    before = groups(ada, "wes")
    invited = ivan.call("POST", f"/workshops/{NAME}/participants", json={"users": ["wes"]})
    assert invited.json() == {"added": [], "invited": ["wes"]}
    withdrawn = ivan.call("DELETE", f"/workshops/{NAME}/invitations/wes")
    assert withdrawn.status_code == 204, withdrawn.text
    assert "wes" not in status(ivan)["invited"]
    assert wes.call("GET", "/invitations").json() == []
    late = wes.call("POST", f"/invitations/{NAME}/accept")
    assert late.status_code == 404 and "no invitation" in late.json()["message"]
    assert groups(ada, "wes") == before and "wes" not in participants(ivan)
    # what is not there cannot be withdrawn, and the answer says why
    again = ivan.call("DELETE", f"/workshops/{NAME}/invitations/wes")
    assert again.status_code == 404 and "no invitation" in again.json()["message"]
    accepted = ivan.call("DELETE", f"/workshops/{NAME}/invitations/ines")
    assert accepted.status_code == 404, accepted.text
    assert "remove them as a participant" in accepted.json()["message"]
    nowhere = ivan.call("DELETE", "/workshops/no-such-ws/invitations/wes")
    assert nowhere.status_code == 404 and "no workshop" in nowhere.json()["message"]
    # an admin may withdraw any workshop's invitation
    ivan.call("POST", f"/workshops/{NAME}/participants", json={"users": ["wes"]})
    assert ada.call("DELETE", f"/workshops/{NAME}/invitations/wes").status_code == 204
    assert wes.call("GET", "/invitations").json() == []


def test_nobody_else_withdraws_an_invitation(platform: RunningPlatform, ivan: Service) -> None:
    wes = Service(platform, "wes")
    invited = ivan.call("POST", f"/workshops/{NAME}/participants", json={"users": ["wes"]})
    assert invited.json() == {"added": [], "invited": ["wes"]}
    # another instructor, the invited user (who declines instead), a participant
    for who in (Service(platform, "iris"), wes, Service(platform, "ines")):
        refused = who.call("DELETE", f"/workshops/{NAME}/invitations/wes")
        assert refused.status_code == 403, (who.name, refused.text)
        assert "only they (or an admin)" in refused.json()["message"]
    assert "wes" in status(ivan)["invited"]
    assert [i["workshop"] for i in wes.call("GET", "/invitations").json()] == [NAME]


def test_the_page_withdraws_with_its_form(platform: RunningPlatform, ivan: Service) -> None:
    text, token = page_xsrf(ivan, f"w/{NAME}")  # wes is invited (test above)
    assert "id='invited-wes'" in text and 'id="withdraw-wes"' in text
    url = f"{platform.url}{PAGE}w/{NAME}/withdraw"
    # a cookie request without the form's token is refused: a forged form cannot withdraw
    forged = ivan.hub.session.post(url, data={"user": "wes"}, timeout=60, allow_redirects=False)
    assert forged.status_code == 403 and "wes" in status(ivan)["invited"]
    iris = Service(platform, "iris")
    _, theirs = page_xsrf(iris, "")
    other = iris.hub.session.post(url, data={"user": "wes", "_xsrf": theirs}, timeout=60)
    assert other.status_code == 403 and "wes" in status(ivan)["invited"]
    done = ivan.hub.session.post(url, data={"user": "wes", "_xsrf": token}, timeout=60)
    assert done.status_code == 200 and "Invitation of wes withdrawn" in done.text
    assert "id='invited-wes'" not in done.text and "wes" not in status(ivan)["invited"]
    assert f"id='invitation-{NAME}'" not in page_xsrf(Service(platform, "wes"), "")[0]


def test_an_ended_workshop_cannot_be_joined_by_invitation(
    platform: RunningPlatform, ivan: Service, ada: Service
) -> None:
    pia = Service(platform, "pia")
    before = groups(ada, "pia")
    invited = ivan.call("POST", f"/workshops/{OTHER}/participants", json={"users": ["pia"]})
    assert invited.json() == {"added": [], "invited": ["pia"]}
    now = datetime.now(UTC)
    times = {"starts_at": now - timedelta(hours=2), "ends_at": now - timedelta(hours=1)}
    ended = ivan.call(
        "PATCH", f"/workshops/{OTHER}", json={k: v.isoformat() for k, v in times.items()}
    )
    assert ended.status_code == 200, ended.text
    refused = pia.call("POST", f"/invitations/{OTHER}/accept")
    assert refused.status_code == 409, refused.text
    assert f"workshop {OTHER!r} ended at " in refused.json()["message"]
    assert groups(ada, "pia") == before
    [invitation] = pia.call("GET", "/invitations").json()
    assert invitation["workshop"] == OTHER and invitation["ended"] is True
    others = ivan.call("GET", f"/workshops/{OTHER}").json()
    assert "pia" not in {p["username"] for p in others["participants"]}
    assert others["invited"] == ["pia"]  # kept: acceptable again if the end moves later
    # the page marks it and offers only to decline
    text, token = page_xsrf(pia, "")
    assert f"id='invitation-{OTHER}' class='ended'" in text and "no longer be joined" in text
    assert f"me/invitations/{OTHER}/accept" not in text
    declined = pia.hub.session.post(
        f"{platform.url}{PAGE}me/invitations/{OTHER}/decline", data={"_xsrf": token}, timeout=60
    )
    assert declined.status_code == 200 and pia.call("GET", "/invitations").json() == []


def test_an_invitation_to_a_workshop_not_started_may_be_accepted(
    platform: RunningPlatform, ivan: Service, ada: Service
) -> None:
    later = "inv-later"
    made = ivan.call(
        "POST", "/workshops", json={"name": later, "starts_at": "+1d", "ends_at": "+2d"}
    )
    assert made.status_code == 201, made.text
    try:
        pia = Service(platform, "pia")
        ivan.call("POST", f"/workshops/{later}/participants", json={"users": ["pia"]})
        [invitation] = [i for i in pia.call("GET", "/invitations").json() if i["workshop"] == later]
        assert invitation["ended"] is False
        accepted = pia.call("POST", f"/invitations/{later}/accept")
        assert accepted.status_code == 200 and accepted.json() == {"joined": later}
        assert f"ws-{later}" in groups(ada, "pia")
    finally:
        assert ivan.call("DELETE", f"/workshops/{later}").status_code == 204


def test_the_instructor_withdraws_and_removes_from_a_terminal(
    platform: RunningPlatform, ivan: Service, ada: Service
) -> None:
    from click.testing import CliRunner

    from hub.workshops.cli import workshop

    xan, yra = Service(platform, "xan"), Service(platform, "yra")
    before = groups(ada, "yra")
    invited = ivan.call("POST", f"/workshops/{NAME}/participants", json={"users": ["xan", "yra"]})
    assert invited.json() == {"added": [], "invited": ["xan", "yra"]}
    assert yra.call("POST", f"/invitations/{NAME}/accept").status_code == 200
    assert f"ws-{NAME}" in groups(ada, "yra")
    runner, base = CliRunner(), ["--url", platform.url, "--token", ivan.token]
    withdrawn = runner.invoke(workshop, [*base, "withdraw", NAME, "xan"])
    assert withdrawn.exit_code == 0 and "xan: invitation withdrawn" in withdrawn.output
    assert xan.call("GET", "/invitations").json() == [] and "xan" not in status(ivan)["invited"]
    # yra accepted: withdrawing says to remove them, and nothing changes
    refused = runner.invoke(workshop, [*base, "withdraw", NAME, "yra"])
    assert refused.exit_code != 0 and "remove them as a participant" in str(refused.exception)
    assert participants(ivan)["yra"] == "invitation"
    removed = runner.invoke(workshop, [*base, "remove", NAME, "yra"])
    assert removed.exit_code == 0 and "yra: removed" in removed.output
    assert "yra" not in participants(ivan) and groups(ada, "yra") == before
