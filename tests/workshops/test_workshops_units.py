"""The pure parts of workshops, without a hub: names, hand-out files, uploads, config."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from traitlets.config import Config

from hub.config.workshops import ACCESS, apply_workshops
from hub.errors import InvalidRequest
from hub.workshops import handout
from hub.workshops.model import (
    beside_name,
    check_name,
    hash_password,
    nbgitpuller_link,
    parse_spec,
    verify_password,
)
from hub.workshops.uploads import Limits, extract_zip, save_files
from tests.workshops.helpers import make_zip, zip_bomb


def test_names_and_specs_are_checked() -> None:
    assert check_name("eo-intro") == "eo-intro"
    for bad in ("../x", "A", "x", "eo_intro", "-x-", "a" * 40):
        with pytest.raises(InvalidRequest):
            check_name(bad)
    with pytest.raises(InvalidRequest, match="ends_at must be after starts_at"):
        parse_spec({"name": "ws-one", "starts_at": "+2h", "ends_at": "+1h"})
    with pytest.raises(InvalidRequest, match="https://"):
        parse_spec(
            {
                "name": "ws-one",
                "starts_at": "+0m",
                "ends_at": "+1h",
                "template": {"kind": "git", "url": "file:///root/secret"},
            }
        )


def test_passwords_are_hashed_with_salt() -> None:
    stored = hash_password("secret-1")
    assert stored != hash_password("secret-1") and "secret-1" not in stored
    assert verify_password("secret-1", stored) and not verify_password("secret-2", stored)


def test_beside_names_and_nbgitpuller_link() -> None:
    assert beside_name("a/01-intro.ipynb", 3) == "a/01-intro.workshop-v3.ipynb"
    assert beside_name("README", 2) == "README.workshop-v2"
    link = nbgitpuller_link("http://hub", "https://github.com/org/course.git", "main")
    assert link.startswith("http://hub/hub/user-redirect/git-pull?repo=https%3A//github.com/")
    assert "branch=main" in link and "urlpath=lab/tree/course" in link


def write(root: Path, files: dict[str, str]) -> Path:
    for name, body in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(body)
    return root


def test_deliver_conflicts_beside_and_reset(tmp_path: Path) -> None:
    v1 = write(tmp_path / "v1", {"nb.ipynb": "1", "same.md": "s"})
    v2 = write(tmp_path / "v2", {"nb.ipynb": "2", "same.md": "s"})
    home = tmp_path / "home" / "ws"
    assert handout.deliver(v1, home, 1).copied == ["nb.ipynb", "same.md"]
    (home / "nb.ipynb").write_text("mine")
    (home / "same.md").write_text("mine too")
    second = handout.deliver(v2, home, 2)
    assert second.conflicts == {"nb.ipynb": "nb.workshop-v2.ipynb"}
    assert second.kept == ["same.md"]  # the template did not change: nothing to report
    assert (home / "nb.ipynb").read_text() == "mine"
    assert (home / "nb.workshop-v2.ipynb").read_text() == "2"
    assert "nb.ipynb" in (home / handout.CONFLICTS_FILE).read_text()
    assert handout.reset(v2, home, "nb.ipynb") == "nb.ipynb"
    assert (home / "nb.ipynb").read_text() == "2"
    third = handout.deliver(v2, home, 2)
    assert third.conflicts == {} and not (home / handout.CONFLICTS_FILE).exists()
    for bad in ("../x", "/etc/passwd", "nb.workshop-v2.ipynb", ""):
        with pytest.raises(ValueError):
            handout.reset(v2, home, bad)


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("../evil", "outside"),
        ("/abs", "outside"),
        ("a/../../b", "outside"),
        ("C:/x", "outside"),
        ("a\\..\\b", "backslash"),
    ],
)
def test_hostile_zip_names_are_refused(tmp_path: Path, name: str, says: str) -> None:
    with pytest.raises(InvalidRequest, match=says):
        extract_zip(io.BytesIO(make_zip({name: "x"})), tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path.parent / "evil").exists()


def test_zip_bombs_and_big_sets_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match="zip bomb"):
        extract_zip(io.BytesIO(zip_bomb(20 * 2**20)), tmp_path / "a")
    small = Limits(total_bytes=1000, files=2)
    with pytest.raises(InvalidRequest, match="limits"):
        extract_zip(io.BytesIO(make_zip({"a": "x" * 2000})), tmp_path / "b", small)
    with pytest.raises(InvalidRequest, match="more than 2 files"):
        save_files([("d/a", b""), ("d/b", b""), ("d/c", b"")], tmp_path / "c", small)


def test_zip_of_a_folder_is_unpacked_flat(tmp_path: Path) -> None:
    count = extract_zip(
        io.BytesIO(
            make_zip(
                {"course/a.ipynb": "a", "course/d/b.md": "b", "__MACOSX/x": "", "course/.git/x": ""}
            )
        ),
        tmp_path / "out",
    )
    assert count == 2
    out = tmp_path / "out"
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == ["a.ipynb", "d/b.md"]


def test_apply_step_appends_new_lists(monkeypatch) -> None:
    from hub.config.context import HubContext
    from hub.runtime import Runtime
    from hub.settings import settings_from_dict

    ctx = HubContext(settings_from_dict({"data_dir": "/tmp/sdl-x"}), Runtime("127.0.0.1", 1, 2, 3))
    c = Config()
    earlier_services = [{"name": "idle-culler"}]
    earlier_roles = [{"name": "user", "scopes": ["self", "x"]}, {"name": "idle-culler"}]
    c.JupyterHub.services = earlier_services
    c.JupyterHub.load_roles = earlier_roles
    apply_workshops(ctx, c)
    assert [s["name"] for s in c.JupyterHub.services] == ["idle-culler", "workshops"]
    assert earlier_services == [{"name": "idle-culler"}]  # not mutated
    assert earlier_roles[0]["scopes"] == ["self", "x"]
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    assert roles["user"]["scopes"] == ["self", "x", ACCESS]
    assert roles["workshops-service"]["services"] == ["workshops"]
    fresh = Config()
    apply_workshops(ctx, fresh)
    assert {r["name"] for r in fresh.JupyterHub.load_roles} == {
        "user",
        "server",
        "workshops-service",
    }
    # a server's own token may fetch its user's materials; the built-in scopes stay
    server = next(r for r in fresh.JupyterHub.load_roles if r["name"] == "server")
    assert server["scopes"] == ["users:activity!user", "access:servers!server", ACCESS]


def test_login_page_names_the_mode_and_has_the_account_form() -> None:
    from hub.config.auth import LOGIN_MODES, TEMPLATES, apply_login_page
    from hub.config.context import HubContext
    from hub.runtime import Runtime
    from hub.settings import settings_from_dict

    runtime = Runtime("127.0.0.1", 1, 2, 3)
    workshops = Config()
    apply_workshops(HubContext(settings_from_dict({"data_dir": "/tmp/sdl-x"}), runtime), workshops)
    assert "template_paths" not in workshops.JupyterHub  # the login page is apply_auth's
    for mode in ("first-use", "shared-password", "oidc"):
        c = Config()
        c.JupyterHub.template_paths = ["/srv/lab-templates"]
        c.JupyterHub.template_vars = {"sdl_version": "0.1.0"}
        document = {"data_dir": "/tmp/sdl-x", "auth": {"type": mode}}
        apply_login_page(HubContext(settings_from_dict(document), runtime), c)
        assert c.JupyterHub.template_paths == ["/srv/lab-templates", TEMPLATES]
        assert c.JupyterHub.template_vars == {
            "sdl_version": "0.1.0",
            "sdl_login_mode": mode,
            "sdl_login_mode_text": LOGIN_MODES[mode],
        }
    assert (Path(TEMPLATES) / "login.html").is_file()


def test_account_names_are_what_the_outage_rule_recognises() -> None:
    from hub.workshops.model import ACCOUNT_NAME, account_names

    made = account_names("lab-course", 3, set()) + account_names("ws1", 120, set())[-1:]
    assert all(ACCOUNT_NAME.match(name) for name in made)
    assert not any(ACCOUNT_NAME.match(name) for name in ("gale", "ann.lee@lab.se", "lab-7"))


@pytest.mark.parametrize(
    ("name", "outcome"), [("gale", "in, groups untouched"), ("lab-course-01", "503")]
)
def test_a_workshop_database_outage_refuses_only_names_an_account_could_have(
    name: str, outcome: str
) -> None:
    """Nothing listens on port 1: the workshops database is really unreachable."""
    import asyncio

    from tornado import web

    from hub.workshops.auth import WorkshopOAuthenticator

    auth = WorkshopOAuthenticator(workshops_admin_url="postgresql://sdl:x@127.0.0.1:1/sdl")
    provider_model = {"name": name, "groups": ["gpu-users"]}
    if outcome == "503":
        with pytest.raises(web.HTTPError) as refused:
            asyncio.run(auth._provider_login(provider_model))
        assert refused.value.status_code == 503
    else:
        model = asyncio.run(auth._provider_login(provider_model))
        assert model == {"name": name, "groups": None}
