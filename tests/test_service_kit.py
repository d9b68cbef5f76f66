"""The service kit at the HTTP edge: domain errors answered with their status and their
own message (JSON for the API, an escaped page for browsers), a database that does not
answer as a 503, and the health route, on a real tornado server."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from tornado.httpclient import AsyncHTTPClient, HTTPResponse

from hub.errors import Forbidden, NotFound, SdlError
from hub.netutil import free_port
from hub.service.handlers import JsonHandler, PageHandler
from hub.service.html import e, page_shell
from hub.service.startup import ServiceEnv, service_app

PREFIX = "/services/kit/"
HOSTILE = "<script>alert('x')</script>"


def _unreachable() -> int:
    """A real connection attempt to a port nobody listens on."""
    engine = sa.create_engine(f"postgresql+psycopg2://nobody@127.0.0.1:{free_port()}/none")
    with engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT 1")).scalar_one())


class Missing(JsonHandler):
    async def get(self, name: str) -> None:
        raise NotFound(f"no workshop named {name!r}")


class Echo(JsonHandler):
    async def post(self) -> None:
        self.reply(self.body(), 201)


class Database(JsonHandler):
    UNAVAILABLE = "kit database unavailable"

    async def get(self) -> None:
        self.reply({"one": await self.db(_unreachable)})


class Page(PageHandler):
    def page(self, title: str, body: str) -> str:
        return page_shell(title, body, style="", nav=[(PREFIX, "Kit")])

    async def get(self) -> None:
        raise Forbidden(f"{HOSTILE} may not see this")


@pytest.fixture(scope="module")
def kit() -> Iterator[tuple[asyncio.AbstractEventLoop, str]]:
    loop = asyncio.new_event_loop()
    routes = [
        (PREFIX + r"api/missing/([^/]+)", Missing),
        (PREFIX + "api/echo", Echo),
        (PREFIX + "api/db", Database),
        (PREFIX + "page", Page),
    ]
    port = free_port()

    async def start() -> None:
        service_app(PREFIX, routes, secrets.token_bytes(32)).listen(port, "127.0.0.1")

    loop.run_until_complete(start())
    yield loop, f"http://127.0.0.1:{port}{PREFIX}"
    loop.close()


def fetch(kit: tuple[asyncio.AbstractEventLoop, str], path: str, **kwargs: object) -> HTTPResponse:
    loop, base = kit

    async def go() -> HTTPResponse:
        client = AsyncHTTPClient()
        return await client.fetch(base + path, raise_error=False, **kwargs)

    return loop.run_until_complete(go())


def test_a_domain_error_is_answered_with_its_status_and_message(kit) -> None:
    response = fetch(kit, "api/missing/eo-intro")
    assert response.code == NotFound.status == 404
    assert response.headers["Content-Type"] == "application/json"
    assert json.loads(response.body) == {"status": 404, "message": "no workshop named 'eo-intro'"}


def test_bodies_must_be_json_objects(kit) -> None:
    for body, says in ((b"[1, 2]", "must be a JSON object"), (b"{nope", "is not JSON")):
        response = fetch(kit, "api/echo", method="POST", body=body)
        assert response.code == 400 and says in json.loads(response.body)["message"]
    echoed = fetch(kit, "api/echo", method="POST", body=b'{"a": 1}')
    assert echoed.code == 201 and json.loads(echoed.body) == {"a": 1}


def test_a_database_that_does_not_answer_is_a_503(kit) -> None:
    response = fetch(kit, "api/db")
    assert response.code == 503
    assert json.loads(response.body)["message"] == "kit database unavailable: OperationalError"


def test_a_refused_page_escapes_the_message(kit) -> None:
    response = fetch(kit, "page")
    assert response.code == 403
    html = response.body.decode()
    assert HOSTILE not in html and f"{e(HOSTILE)} may not see this" in html
    assert "<title>Error 403</title>" in html and f"<a href='{PREFIX}'>Kit</a>" in html


def test_health_answers_without_a_login(kit) -> None:
    response = fetch(kit, "health")
    assert response.code == 200 and json.loads(response.body) == {"ok": True}


def test_the_service_environment_as_the_hub_sets_it() -> None:
    env = {
        "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{free_port()}",
        "JUPYTERHUB_BASE_URL": "/lab/",
    }
    service = ServiceEnv.read("kit", env)
    assert service.prefix == PREFIX and service.hub_home == "/lab/hub/home"
    assert service.where() == env["JUPYTERHUB_SERVICE_URL"] + PREFIX
    with pytest.raises(SdlError, match="JUPYTERHUB_SERVICE_URL is not set: the hub starts the kit"):
        ServiceEnv.read("kit", {})
