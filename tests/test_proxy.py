"""The platform's proxy (`python -m hub.proxy`, as `sdl up` runs it) streams.

A real proxy process in front of a small tornado server that answers the way the hub
and JupyterLab do: an event stream that stays open (the spawn page's progress), a
download larger than tornado's 100 MB client limit, a gzip-encoded answer, an answer
later than tornado's 20 s default timeout, and a stream whose reader goes away.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from tornado import web
from tornado.httpserver import HTTPServer
from tornado.iostream import StreamClosedError
from tornado.netutil import bind_sockets

from hub.netutil import free_port, wait_for_port
from tests.support.platform import wait_until

REPO = Path(__file__).resolve().parent.parent
CHUNK = os.urandom(1 << 20)
DOWNLOAD_CHUNKS = 150  # MiB: over the 100 MB a buffering proxy would refuse


@dataclass
class Upstream:
    """What the server behind the proxy saw, for the tests to wait on."""

    loop: asyncio.AbstractEventLoop
    port: int
    first_event_read: asyncio.Event = field(default_factory=asyncio.Event)
    reader_gone: threading.Event = field(default_factory=threading.Event)


class Progress(web.RequestHandler):
    """Sends one event, then the second only once the test has read the first: a
    proxy that buffers the whole answer never delivers the first."""

    async def get(self) -> None:
        upstream: Upstream = self.settings["upstream"]
        self.set_header("Content-Type", "text/event-stream")
        self.write("data: one\n\n")
        await self.flush()
        await asyncio.wait_for(upstream.first_event_read.wait(), timeout=30)
        self.write("data: two\n\n")


class Download(web.RequestHandler):
    async def get(self) -> None:
        self.set_header("Content-Length", str(len(CHUNK) * DOWNLOAD_CHUNKS))
        for _ in range(DOWNLOAD_CHUNKS):
            self.write(CHUNK)
            await self.flush()


class Gzipped(web.RequestHandler):
    def get(self) -> None:
        self.set_header("Content-Encoding", "gzip")
        self.set_header("Content-Type", "application/json")
        self.write(gzip.compress(b'{"kernel": "started"}'))


class Slow(web.RequestHandler):
    async def post(self) -> None:
        await asyncio.sleep(22)  # a loaded server starting a kernel
        self.set_status(201)
        self.write({"id": "k1"})


class Endless(web.RequestHandler):
    async def get(self) -> None:
        upstream: Upstream = self.settings["upstream"]
        try:
            while True:
                self.write("data: tick\n\n")
                await self.flush()
                await asyncio.sleep(0.2)
        except StreamClosedError:
            upstream.reader_gone.set()


def _serve(ready: list[Upstream], started: threading.Event) -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    sockets = bind_sockets(0, "127.0.0.1")
    upstream = Upstream(loop, sockets[0].getsockname()[1])
    app = web.Application(
        [
            ("/progress", Progress),
            ("/download", Download),
            ("/gzipped", Gzipped),
            ("/slow", Slow),
            ("/endless", Endless),
        ],
        upstream=upstream,
    )
    HTTPServer(app).add_sockets(sockets)
    ready.append(upstream)
    started.set()
    loop.run_forever()


@pytest.fixture(scope="module")
def upstream() -> Upstream:
    ready: list[Upstream] = []
    started = threading.Event()
    threading.Thread(target=_serve, args=(ready, started), daemon=True).start()
    assert started.wait(10)
    return ready[0]


@pytest.fixture(scope="module")
def proxy(upstream: Upstream) -> Iterator[str]:
    port, api_port = free_port(), free_port()
    command = [
        sys.executable,
        "-m",
        "hub.proxy",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--api-ip",
        "127.0.0.1",
        "--api-port",
        str(api_port),
        "--default-target",
        f"http://127.0.0.1:{upstream.port}",
    ]
    env = {**os.environ, "CONFIGPROXY_AUTH_TOKEN": "secret", "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(command, env=env)
    try:
        assert wait_for_port("127.0.0.1", port, 30), "the proxy listens"
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_an_event_stream_reaches_the_browser_as_it_is_sent(proxy: str, upstream: Upstream) -> None:
    with requests.get(f"{proxy}/progress", stream=True, timeout=30) as reply:
        lines = reply.iter_lines()
        assert next(line for line in lines if line) == b"data: one"
        upstream.loop.call_soon_threadsafe(upstream.first_event_read.set)
        assert next(line for line in lines if line) == b"data: two"


def test_a_download_over_100_mb_passes_whole(proxy: str) -> None:
    digest = hashlib.sha256()
    with requests.get(f"{proxy}/download", stream=True, timeout=60) as reply:
        assert reply.status_code == 200
        assert reply.headers["Content-Length"] == str(len(CHUNK) * DOWNLOAD_CHUNKS)
        for piece in reply.iter_content(1 << 20):
            digest.update(piece)
    assert digest.hexdigest() == hashlib.sha256(CHUNK * DOWNLOAD_CHUNKS).hexdigest()


def test_a_compressed_answer_passes_as_the_server_sent_it(proxy: str) -> None:
    reply = requests.get(f"{proxy}/gzipped", timeout=30)
    assert reply.headers["Content-Encoding"] == "gzip"
    assert reply.json() == {"kernel": "started"}  # requests undoes the gzip


def test_a_server_slower_than_tornados_default_timeout_still_answers(proxy: str) -> None:
    reply = requests.post(f"{proxy}/slow", timeout=60)
    assert reply.status_code == 201 and reply.json() == {"id": "k1"}


def test_a_reader_that_leaves_ends_the_stream_upstream(proxy: str, upstream: Upstream) -> None:
    with requests.get(f"{proxy}/endless", stream=True, timeout=30) as reply:
        assert next(line for line in reply.iter_lines() if line) == b"data: tick"
    wait_until(upstream.reader_gone.is_set, timeout=30, what="the server sees the reader go")
