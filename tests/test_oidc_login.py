"""OpenID Connect login against a real provider (tests/oidc, panva/oidc-provider).

No mocks: a Node.js OpenID provider, a real hub, `requests` walking the browser flow.
Needs `node` and `npm ci --prefix tests/oidc`; skipped with a reason otherwise.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
import requests

from hub.netutil import free_port
from tests.support.oidc import OidcProvider, require_provider
from tests.support.platform import HubClient, start_platform

pytestmark = pytest.mark.oidc

HOST = "127.0.0.1"

# The provider's accounts. Names are only used here, so each test knows who exists.
USERS = {
    "gale": {"password": "gale-Pa55word", "groups": ["gpu-users"]},
    "nora": {"password": "nora-Pa55word", "groups": ["eo-analysts"]},
    "ada": {"password": "ada-Pa55word", "groups": ["lab-admins"]},
    "vera": {"password": "vera-Pa55word", "groups": ["gpu-users"]},  # only ever mistypes
    "ivy": {"password": "ivy-Pa55word", "groups": ["instructors"]},  # runs a workshop
    # a provider user named like the workshop account lab-course-01 made below
    "lab-course-01": {"password": "lab-course-Pa55word", "groups": ["gpu-users"]},
}
WORKSHOP = "lab-course"


def wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}:\n{tail(log)}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"{url} did not answer within {timeout} s:\n{tail(log)}")


def tail(path: Path, lines: int = 80) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def stop(proc: subprocess.Popen, timeout: float = 20) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def is_logged_in(session: requests.Session, hub: str) -> str | None:
    """The name the hub knows this session by, or None."""
    response = session.get(f"{hub}/hub/api/user", timeout=10)
    return response.json()["name"] if response.status_code == 200 else None


def api(token: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"token {token}"
    return session


class _RadioParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.values: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if tag == "input" and attr.get("type") == "radio" and attr.get("name") == "profile":
            self.values.append(attr.get("value") or "")


def offered_profiles(html: str) -> list[str]:
    parser = _RadioParser()
    parser.feed(html)
    return parser.values


# -- the provider itself, against a plain JupyterHub + GenericOAuthenticator -----------


@pytest.fixture(scope="module")
def plain_hub() -> Iterator[tuple[str, OidcProvider]]:
    """A stock JupyterHub configured by hand for the provider: tests the test tool."""
    require_provider()
    port = free_port()
    hub = f"http://{HOST}:{port}"
    callback = f"{hub}/hub/oauth_callback"
    with OidcProvider(callback, USERS) as idp:
        work = Path(tempfile.mkdtemp(prefix="sdl-plainhub-", dir="/tmp"))
        d = idp.discovery
        (work / "jupyterhub_config.py").write_text(
            textwrap.dedent(
                f"""
                c.JupyterHub.bind_url = {hub + "/"!r}
                c.JupyterHub.hub_ip = {HOST!r}
                c.JupyterHub.hub_port = {free_port()}
                c.ConfigurableHTTPProxy.api_url = "http://{HOST}:{free_port()}"
                c.JupyterHub.db_url = "sqlite:///{work}/hub.sqlite"
                c.JupyterHub.cookie_secret_file = "{work}/cookie_secret"
                c.JupyterHub.pid_file = "{work}/hub.pid"
                c.JupyterHub.authenticator_class = "generic-oauth"
                c.GenericOAuthenticator.client_id = {idp.client_id!r}
                c.GenericOAuthenticator.client_secret = {idp.client_secret!r}
                c.GenericOAuthenticator.oauth_callback_url = {callback!r}
                c.GenericOAuthenticator.authorize_url = {d["authorization_endpoint"]!r}
                c.GenericOAuthenticator.token_url = {d["token_endpoint"]!r}
                c.GenericOAuthenticator.userdata_url = {d["userinfo_endpoint"]!r}
                c.GenericOAuthenticator.scope = ["openid", "profile", "email", "groups"]
                c.GenericOAuthenticator.username_claim = "preferred_username"
                c.GenericOAuthenticator.manage_groups = True
                c.GenericOAuthenticator.auth_state_groups_key = "oauth_user.groups"
                c.GenericOAuthenticator.admin_groups = {{"lab-admins"}}
                c.GenericOAuthenticator.allowed_groups = {{"gpu-users", "lab-admins"}}
                """
            )
        )
        log = work / "hub.log"
        with log.open("w") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "jupyterhub", "-f", str(work / "jupyterhub_config.py")],
                cwd=work,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_http(f"{hub}/hub/health", proc, log)
            yield hub, idp
        finally:
            stop(proc)
            print(tail(log, 40))
            shutil.rmtree(work, ignore_errors=True)


def test_provider_checks_the_client_secret(plain_hub):
    """A hub with the wrong secret must fail at the token endpoint, not slip through."""
    _hub, idp = plain_hub
    token_url = idp.discovery["token_endpoint"]
    form = {"grant_type": "authorization_code", "code": "not-a-code", "client_id": idp.client_id}
    wrong = requests.post(token_url, data={**form, "client_secret": "wrong"}, timeout=10)
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    right = requests.post(token_url, data={**form, "client_secret": idp.client_secret}, timeout=10)
    assert right.status_code == 400
    assert right.json()["error"] == "invalid_grant"


def test_provider_logs_in_through_a_stock_generic_oauthenticator(plain_hub):
    hub, idp = plain_hub
    admin = requests.Session()
    response = idp.login(admin, hub, "ada", USERS["ada"]["password"])
    assert response.status_code == 302, idp.log_text()
    assert is_logged_in(admin, hub) == "ada"
    model = admin.get(f"{hub}/hub/api/user", timeout=10).json()
    assert model["admin"] is True
    assert model["groups"] == ["lab-admins"]

    gale = requests.Session()
    assert idp.login(gale, hub, "gale", USERS["gale"]["password"]).status_code == 302
    assert is_logged_in(gale, hub) == "gale"

    # not in allowed_groups: the provider logs her in, the hub refuses her
    nora = requests.Session()
    response = idp.login(nora, hub, "nora", USERS["nora"]["password"])
    assert response.status_code == 403, response.text[:500]
    assert is_logged_in(nora, hub) is None

    wrong = requests.Session()
    response = idp.login(wrong, hub, "gale", "not-her-password")
    assert response.status_code == 401
    assert "Invalid username or password." in response.text
    assert response.url.startswith(idp.issuer)
    assert is_logged_in(wrong, hub) is None


# -- the platform: `sdl up` with auth.type oidc ----------------------------------------


@pytest.fixture(scope="module")
def platform() -> Iterator[tuple[str, OidcProvider]]:
    """`sdl up` (the lead's start_platform) logging in through a real provider."""
    require_provider()
    port = free_port()  # the redirect URI must be registered before the hub starts
    hub = f"http://{HOST}:{port}"
    callback = f"{hub}/hub/oauth_callback"
    with OidcProvider(callback, USERS) as idp:
        oidc = idp.sdl_settings(
            callback, admin_groups=["lab-admins"], allowed_groups=[], allow_all=True
        )
        del oidc["client_secret"]  # from the environment, not a file in the data dir
        settings = {"auth": {"type": "oidc", "admin_users": [], "oidc": oidc}}
        with start_platform(
            settings, port=port, env={"SDL_OIDC_CLIENT_SECRET": idp.client_secret}
        ) as running:
            health = requests.get(f"{hub}/hub/health", timeout=10)
            assert health.status_code == 200, running.log()
            try:
                yield hub, idp
            finally:
                print("--- hub.log ---\n" + "\n".join(running.hub_log().splitlines()[-60:]))
                print("--- provider ---\n" + "\n".join(idp.log_text().splitlines()[-40:]))
        shutil.rmtree(running.data_dir, ignore_errors=True)  # stopped: logs printed above


@pytest.fixture(scope="module")
def clients(platform) -> dict[str, HubClient]:
    """One browser session per provider user, logged in through the provider."""
    hub, idp = platform
    logged_in = {}
    for name in ("gale", "nora", "ada"):
        client = HubClient(hub)  # a fresh session: the provider remembers the last login
        response = idp.login(client.session, hub, name, USERS[name]["password"])
        assert response.status_code == 302, (
            f"login of {name}: HTTP {response.status_code} at {response.url}\n"
            f"{response.text[:2000]}\n--- provider ---\n{idp.log_text()[-3000:]}"
        )
        assert is_logged_in(client.session, hub) == name
        logged_in[name] = client
    return logged_in


@pytest.fixture(scope="module")
def admin_api(platform, clients) -> requests.Session:
    """The hub's REST API with a token of ada (lab-admins at the provider)."""
    return api(clients["ada"].new_token("ada"))


def test_provider_groups_become_hub_groups(platform, clients, admin_api):
    hub, _idp = platform
    gale = admin_api.get(f"{hub}/hub/api/users/gale", timeout=10)
    assert gale.status_code == 200, gale.text
    assert gale.json()["groups"] == ["gpu-users"]
    assert gale.json()["admin"] is False
    nora = admin_api.get(f"{hub}/hub/api/users/nora", timeout=10).json()
    assert nora["groups"] == ["eo-analysts"]
    assert nora["admin"] is False
    group = admin_api.get(f"{hub}/hub/api/groups/gpu-users", timeout=10)
    assert group.status_code == 200, group.text
    assert "gale" in group.json()["users"]
    assert "nora" not in group.json()["users"]


def test_lab_admins_member_becomes_hub_admin(platform, clients, admin_api):
    hub, _idp = platform
    ada = admin_api.get(f"{hub}/hub/api/users/ada", timeout=10).json()
    assert ada["admin"] is True
    assert ada["groups"] == ["lab-admins"]
    # an admin-only API answers the admin's token and refuses a plain user's
    assert admin_api.get(f"{hub}/hub/api/users", timeout=10).status_code == 200
    nora_api = api(clients["nora"].new_token("nora"))
    assert nora_api.get(f"{hub}/hub/api/users", timeout=10).status_code == 403


def test_gpu_profile_is_offered_only_to_gpu_users(platform, clients):
    hub, _idp = platform
    gale = clients["gale"].session.get(f"{hub}/hub/spawn", allow_redirects=False, timeout=30)
    assert gale.status_code == 200, gale.text[:1000]
    assert set(offered_profiles(gale.text)) == {"small", "medium", "large", "gpu"}
    nora = clients["nora"].session.get(f"{hub}/hub/spawn", allow_redirects=False, timeout=30)
    assert nora.status_code == 200, nora.text[:1000]
    assert set(offered_profiles(nora.text)) == {"small", "medium", "large"}


def test_rest_spawn_of_gpu_is_refused_to_a_non_member_but_small_works(platform, clients):
    hub, _idp = platform
    nora = api(clients["nora"].new_token("nora"))  # her own token: the REST API proper
    server = f"{hub}/hub/api/users/nora/server"
    refused = nora.post(server, json={"profile": "gpu"}, timeout=60)
    assert refused.status_code == 403, refused.text
    message = refused.json()["message"]
    assert "gpu" in message and "gpu-users" in message, message
    assert nora.get(f"{hub}/hub/api/users/nora", timeout=10).json()["servers"] == {}

    started = nora.post(server, json={"profile": "small"}, timeout=60)
    assert started.status_code in (201, 202), started.text
    try:
        deadline = time.monotonic() + 150
        while True:
            model = nora.get(f"{hub}/hub/api/users/nora", timeout=10).json()
            state = model["servers"].get("")
            assert state, f"nora's server stopped while starting: {model}"
            if state["ready"]:
                break
            assert time.monotonic() < deadline, f"not ready after 150 s: {model}"
            time.sleep(1)
        lab = nora.get(f"{hub}{state['url']}api/status", timeout=30)
        assert lab.status_code == 200, lab.text[:500]
    finally:
        stopped = nora.delete(server, timeout=60)
        assert stopped.status_code in (202, 204), stopped.text


def test_wrong_password_at_the_provider_does_not_log_in(platform, admin_api):
    hub, idp = platform
    session = requests.Session()
    response = idp.login(session, hub, "vera", "not-" + USERS["vera"]["password"])
    assert response.status_code == 401
    assert response.url.startswith(idp.issuer), response.url
    assert "Invalid username or password." in response.text
    assert is_logged_in(session, hub) is None
    assert session.get(f"{hub}/hub/spawn", allow_redirects=False, timeout=10).status_code == 302
    # the hub never heard of her
    assert admin_api.get(f"{hub}/hub/api/users/vera", timeout=10).status_code == 404


# -- workshop accounts beside the provider (issue #8) ----------------------------------


def form_login(hub: str, username: str, password: str) -> tuple[requests.Response, HubClient]:
    """Fill in the workshop-account form of /hub/login as a browser does: its XSRF field."""
    client = HubClient(hub)
    page = client.session.get(f"{hub}/hub/login", timeout=30)
    parsed = _FormParser()
    parsed.feed(page.text)
    [form] = [f for f in parsed.forms if f.get("id") == "workshop-login"]
    [xsrf] = [i.get("value") for i in parsed.inputs if i.get("name") == "_xsrf"]
    response = client.session.post(
        hub + (form["action"] or ""),
        data={"_xsrf": xsrf, "username": username, "password": password},
        timeout=60,
    )
    return response, client


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, str | None]] = []
        self.inputs: list[dict[str, str | None]] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if tag == "form":
            self.forms.append(attr)
        elif tag == "input":
            self.inputs.append(attr)
        elif tag == "a" and attr.get("href"):
            self.links.append(attr["href"] or "")


@pytest.fixture(scope="module")
def workshop(platform, clients) -> dict[str, str]:
    """ivy (instructors at the provider) makes a workshop with two accounts; gale by name."""
    hub, idp = platform
    ivy = HubClient(hub)
    assert idp.login(ivy.session, hub, "ivy", USERS["ivy"]["password"]).status_code == 302
    service = api(ivy.new_token("ivy"))
    base = f"{hub}/services/workshops/api"
    deadline = time.monotonic() + 60
    while (me := service.get(f"{base}/me", timeout=10, allow_redirects=False)).status_code != 200:
        assert time.monotonic() < deadline, f"workshops service not up: {me.status_code}"
        time.sleep(0.5)
    spec = {"name": WORKSHOP, "starts_at": "+0m", "ends_at": "+4h", "profiles": ["small"]}
    created = service.post(f"{base}/workshops", json=spec, timeout=60)
    assert created.status_code == 201, created.text
    made = service.post(f"{base}/workshops/{WORKSHOP}/accounts", json={"count": 2}, timeout=60)
    assert made.status_code == 201, made.text
    accounts = {a["username"]: a["password"] for a in made.json()["accounts"]}
    # the provider's lab-course-01 never logged in here: the name was free for an account
    assert sorted(accounts) == [f"{WORKSHOP}-01", f"{WORKSHOP}-02"]
    named = service.post(
        f"{base}/workshops/{WORKSHOP}/participants", json={"users": ["gale"]}, timeout=60
    )
    assert named.status_code in (200, 201), named.text
    assert named.json()["invited"] == ["gale"]  # she has an account here: she consents
    gale = api(clients["gale"].new_token("gale"))
    accepted = gale.post(f"{base}/invitations/{WORKSHOP}/accept", timeout=60)
    assert accepted.status_code == 200, accepted.text
    return accounts


def test_login_page_shows_the_provider_button_and_the_account_form(platform):
    hub, _idp = platform
    page = requests.get(f"{hub}/hub/login?next=%2Fhub%2Fspawn", timeout=10)
    assert page.status_code == 200
    parsed = _FormParser()
    parsed.feed(page.text)
    assert "Sign in with your lab account" in page.text
    assert any(link.startswith("/hub/oauth_login") for link in parsed.links), parsed.links
    assert "Workshop account" in page.text
    [form] = [f for f in parsed.forms if f.get("id") == "workshop-login"]
    assert form["method"] == "post"
    assert form["action"] == "/hub/login?next=%2Fhub%2Fspawn"
    names = {i.get("name"): i for i in parsed.inputs}
    assert names["_xsrf"]["value"], "the form carries the page's XSRF token"
    assert names["password"]["type"] == "password" and "username" in names


def test_account_logs_in_with_the_form_and_starts_its_server(platform, workshop):
    hub, _idp = platform
    name = f"{WORKSHOP}-02"
    response, client = form_login(hub, name, workshop[name])
    assert response.status_code == 200, response.text[:1000]
    assert is_logged_in(client.session, hub) == name
    model = client.api("GET", f"/users/{name}").json()
    assert model["groups"] == [f"ws-{WORKSHOP}"] and model["admin"] is False
    started = client.spawn(name, {"profile": "small"}, timeout=150)
    assert started.status_code in (201, 202), started.text
    try:
        url = client.api("GET", f"/users/{name}").json()["servers"][""]["url"]
        lab = api(client.new_token(name)).get(f"{hub}{url}api/status", timeout=30)
        assert lab.status_code == 200, lab.text[:500]
    finally:
        stopped = client.api("DELETE", f"/users/{name}/server", timeout=60)
        assert stopped.status_code in (202, 204), stopped.text


def test_form_refuses_wrong_passwords_and_provider_users(platform, workshop):
    hub, _idp = platform
    attempts = [
        (f"{WORKSHOP}-01", "not-" + workshop[f"{WORKSHOP}-01"]),
        (f"{WORKSHOP}-01", workshop[f"{WORKSHOP}-02"]),  # another account's password
        (f"{WORKSHOP}-01", ""),
        ("gale", USERS["gale"]["password"]),  # her provider password: never by form
        ("gale", workshop[f"{WORKSHOP}-01"]),
        ("ivy", USERS["ivy"]["password"]),
        ("vera", "anything-at-all"),  # never logged in here
    ]
    for username, password in attempts:
        response, client = form_login(hub, username, password)
        assert response.status_code == 403, (username, response.status_code)
        assert "Invalid username or password" in response.text
        assert 'id="workshop-login"' in response.text  # the page again, with its error
        assert is_logged_in(client.session, hub) is None, username
    # the right password without the page's XSRF token: refused too
    name = f"{WORKSHOP}-01"
    bare = requests.Session()
    response = bare.post(
        f"{hub}/hub/login", data={"username": name, "password": workshop[name]}, timeout=30
    )
    assert response.status_code == 403
    assert is_logged_in(bare, hub) is None


def test_provider_user_named_like_an_account_is_refused(platform, workshop, admin_api):
    hub, idp = platform
    name = f"{WORKSHOP}-01"
    session = requests.Session()
    response = idp.login(session, hub, name, USERS[name]["password"])
    assert response.status_code == 403, response.text[:1000]
    assert "workshop account" in response.text
    assert is_logged_in(session, hub) is None
    # the account is untouched: still only in its workshop's group, no provider groups
    model = admin_api.get(f"{hub}/hub/api/users/{name}", timeout=10).json()
    assert model["groups"] == [f"ws-{WORKSHOP}"]
    client = form_login(hub, name, workshop[name])[1]
    assert is_logged_in(client.session, hub) == name


def test_provider_login_keeps_workshop_groups(platform, workshop, admin_api):
    """manage_groups syncs to the provider's groups; a named participant stays one."""
    hub, idp = platform
    assert admin_api.get(f"{hub}/hub/api/users/gale", timeout=10).json()["groups"] == [
        "gpu-users",
        f"ws-{WORKSHOP}",
    ]
    session = requests.Session()
    assert idp.login(session, hub, "gale", USERS["gale"]["password"]).status_code == 302
    assert is_logged_in(session, hub) == "gale"
    model = admin_api.get(f"{hub}/hub/api/users/gale", timeout=10).json()
    assert model["groups"] == ["gpu-users", f"ws-{WORKSHOP}"]
    assert model["admin"] is False


def test_allowed_groups_limits_who_may_log_in():
    """allow_all false + allowed_groups: only those groups (and admin_groups) get in."""
    require_provider()
    port = free_port()
    hub = f"http://{HOST}:{port}"
    callback = f"{hub}/hub/oauth_callback"
    with OidcProvider(callback, USERS) as idp:
        oidc = idp.sdl_settings(
            callback, admin_groups=["lab-admins"], allowed_groups=["gpu-users"], allow_all=False
        )
        del oidc["client_secret"]
        settings = {"auth": {"type": "oidc", "admin_users": [], "oidc": oidc}}
        with start_platform(
            settings,
            extra_args=("--no-sample", "--port", str(port)),
            env={"SDL_OIDC_CLIENT_SECRET": idp.client_secret},
        ) as running:
            outcome = {}
            for name in ("gale", "nora", "ada"):
                session = requests.Session()
                response = idp.login(session, hub, name, USERS[name]["password"])
                outcome[name] = (response.status_code, is_logged_in(session, hub))
            refused = idp.login(requests.Session(), hub, "nora", USERS["nora"]["password"])
        shutil.rmtree(running.data_dir, ignore_errors=True)
    assert outcome == {"gale": (302, "gale"), "nora": (403, None), "ada": (302, "ada")}
    assert "not currently authorized" in refused.text
