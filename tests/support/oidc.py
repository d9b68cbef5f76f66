"""A real OpenID Connect provider for login tests: `tests/oidc/provider.mjs` under Node.js.

    with OidcProvider(redirect_uris=[callback], users={"ada": {"password": "pw",
                      "groups": ["gpu-users"]}}) as idp:
        ...  # configure the hub with idp.issuer, idp.client_id, idp.client_secret
        response = idp.login(requests.Session(), hub_url, "ada", "pw")

The provider is panva/oidc-provider (pinned in tests/oidc/package.json; install it with
`npm ci --prefix tests/oidc`). Without `node` or the installed package the tests that use
it are skipped with a reason; set SDL_TEST_REQUIRE_OIDC=1 (CI) to make that a failure.

Keep the issuer, the hub URL and the registered redirect URI on the same host string
(127.0.0.1 is not localhost to cookies or to the provider's redirect URI check).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import requests

from tests.support.optional import missing

OIDC_DIR = Path(__file__).resolve().parent.parent / "oidc"
PROVIDER_JS = OIDC_DIR / "provider.mjs"
READY_PREFIX = "OIDC-PROVIDER-READY "
MIN_NODE = 20  # oidc-provider 9


def _node_version(node: str) -> tuple[int, ...]:
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30)
        return tuple(int(part) for part in out.stdout.strip().lstrip("v").split(".")[:3])
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return ()


def _unavailable(reason: str) -> None:
    missing("oidc", reason)


def require_provider() -> str:
    """The path of `node`, or skip the test saying what is missing."""
    node = shutil.which("node")
    if node is None:
        _unavailable("OIDC login tests need Node.js: no `node` on PATH")
    version = _node_version(node)
    if version[:1] < (MIN_NODE,):
        # Debian 12's nodejs is 18.20: oidc-provider 9 fails there ("URL.parse is not a function")
        _unavailable(
            f"OIDC login tests need Node.js >= {MIN_NODE}; {node} is "
            f"{'.'.join(map(str, version)) or 'of unknown version'} (install Node.js 20 or 22)"
        )
    if not (OIDC_DIR / "node_modules" / "oidc-provider" / "package.json").is_file():
        _unavailable(
            f"OIDC login tests need the pinned oidc-provider: {OIDC_DIR / 'node_modules'} "
            "is missing; run `npm ci --prefix tests/oidc`"
        )
    return str(node)


class _Form:
    def __init__(self, action: str, method: str) -> None:
        self.action = action
        self.method = method
        self.fields: dict[str, str] = {}
        self.types: dict[str, str] = {}


class _FormParser(HTMLParser):
    """Forms and their inputs (enough for the provider's own pages)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[_Form] = []
        self._current: _Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._current = _Form(attr.get("action", ""), attr.get("method", "get").lower())
            self.forms.append(self._current)
        elif tag == "input" and self._current is not None and attr.get("name"):
            kind = attr.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attr:
                return
            self._current.fields[attr["name"]] = attr.get("value", "")
            self._current.types[attr["name"]] = kind

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def _forms(html: str) -> list[_Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


class OidcProvider:
    """Start `node tests/oidc/provider.mjs` on a free loopback port; stop it on exit."""

    def __init__(
        self,
        redirect_uris: list[str] | str,
        users: dict[str, dict[str, Any]],
        *,
        client_id: str = "sdl-hub",
        client_secret: str | None = None,
        host: str = "127.0.0.1",
        token_auth_method: str = "client_secret_post",
        startup_timeout: float = 30,
    ) -> None:
        if isinstance(redirect_uris, str):
            redirect_uris = [redirect_uris]
        self.redirect_uris = list(redirect_uris)
        self.users = users
        self.client_id = client_id
        self.client_secret = client_secret or secrets.token_urlsafe(24)
        self.host = host
        self.token_auth_method = token_auth_method
        self.startup_timeout = startup_timeout
        self.issuer = ""
        self.port = 0
        self.discovery: dict[str, Any] = {}
        self._proc: subprocess.Popen[str] | None = None
        self._lines: list[str] = []
        self._ready = threading.Event()
        self._tmp: str | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> OidcProvider:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        node = require_provider()
        self._tmp = tempfile.mkdtemp(prefix="sdl-oidc-")
        users_file = Path(self._tmp) / "users.json"
        users_file.write_text(json.dumps(self.users))
        users_file.chmod(0o600)
        command = [node, str(PROVIDER_JS), "--host", self.host, "--port", "0"]
        command += ["--client-id", self.client_id, "--users", str(users_file)]
        command += ["--token-auth-method", self.token_auth_method]
        for uri in self.redirect_uris:
            command += ["--redirect-uri", uri]
        env = dict(os.environ, OIDC_CLIENT_SECRET=self.client_secret)  # not on the command line
        self._proc = subprocess.Popen(
            command,
            cwd=OIDC_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read_output, daemon=True).start()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _read_output(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            line = line.rstrip("\n")
            self._lines.append(line)
            if line.startswith(READY_PREFIX):
                ready = json.loads(line[len(READY_PREFIX) :])
                self.issuer = ready["issuer"]
                self.port = int(ready["port"])
                self._ready.set()

    def _wait_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.startup_timeout
        while not self._ready.wait(0.05):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                time.sleep(0.2)  # let the reader catch the last lines
                raise RuntimeError(
                    f"OIDC provider did not start (exit code {self._proc.poll()}):\n"
                    + self.log_text()
                )
        url = f"{self.issuer}/.well-known/openid-configuration"
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            try:
                response = requests.get(url, timeout=2)
                if response.status_code == 200:
                    self.discovery = response.json()
                    return
                last_error = RuntimeError(f"HTTP {response.status_code}")
            except requests.RequestException as exc:
                last_error = exc
            time.sleep(0.1)
        raise RuntimeError(f"{url} did not answer: {last_error}\n{self.log_text()}")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def log_text(self) -> str:
        """Everything the provider printed (one line per request): attach it to failures."""
        return "\n".join(self._lines)

    # -- what a hub needs --------------------------------------------------------------

    def sdl_settings(self, callback_url: str, **overrides: Any) -> dict[str, Any]:
        """The `auth.oidc` block of an sdl settings file for this provider."""
        block: dict[str, Any] = {
            "issuer": self.issuer,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "callback_url": callback_url,
            "scopes": ["openid", "profile", "email", "groups"],
            "username_claim": "preferred_username",
            "groups_claim": "groups",
        }
        block.update(overrides)
        return block

    # -- driving a login ---------------------------------------------------------------

    def login(
        self,
        session: requests.Session,
        hub_url: str,
        username: str,
        password: str,
        *,
        follow_hub_redirects: bool = False,
        timeout: float = 30,
    ) -> requests.Response:
        """Log `username` in to the hub at `hub_url` through this provider, like a browser.

        GET <hub>/hub/oauth_login → the provider's login form (filled in and posted) →
        any further provider form → <hub>/hub/oauth_callback. Returns the hub's answer to
        the callback without following it (302 and a hub login cookie on success, or the
        hub's error page, e.g. 403 for a user not allowed), or, when the login does not
        get back to the hub, the provider's last page (401 and "Invalid username or
        password." for a wrong password). `follow_hub_redirects=True` follows the
        callback's redirects too. Use a fresh session per user: the provider remembers
        the last login in its own cookies.
        """
        base = hub_url.rstrip("/")
        if not base.endswith("/hub"):
            base += "/hub"
        hub_netloc = urlsplit(base).netloc
        provider_netloc = urlsplit(self.issuer).netloc
        method, url, data = "get", f"{base}/oauth_login", None
        password_sent = False
        forms_submitted = 0
        for _hop in range(30):
            target = urlsplit(url)
            if target.netloc == hub_netloc and target.path.endswith("/oauth_callback"):
                return session.get(url, allow_redirects=follow_hub_redirects, timeout=timeout)
            response = session.request(
                method, url, data=data, allow_redirects=False, timeout=timeout
            )
            if response.is_redirect:
                method, url, data = "get", urljoin(response.url, response.headers["Location"]), None
                continue
            if target.netloc != provider_netloc or response.status_code >= 400:
                return response  # a hub page or an error page: the caller judges it
            forms = _forms(response.text)
            if not forms:
                return response
            form = forms[0]
            fields = dict(form.fields)
            password_fields = [name for name, kind in form.types.items() if kind == "password"]
            if password_fields:
                if password_sent:
                    return response  # the login form again: the password was refused
                user_fields = [
                    name
                    for name, kind in form.types.items()
                    if kind in ("text", "email") and name not in password_fields
                ]
                for name in user_fields[:1]:
                    fields[name] = username
                fields[password_fields[0]] = password
                password_sent = True
            forms_submitted += 1
            if forms_submitted > 5:
                raise RuntimeError(f"too many provider forms at {url}:\n{response.text[:2000]}")
            method = form.method if form.method in ("get", "post") else "get"
            url, data = urljoin(response.url, form.action or response.url), fields
            if method == "get":
                url, data = f"{url}?{urlencode(fields)}", None
        raise RuntimeError(f"login of {username} did not finish after 30 requests (last: {url})")
