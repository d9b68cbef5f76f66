"""Run configurable-http-proxy (the Python port), streaming, with room for many users.

The port proxies each request through tornado's `AsyncHTTPClient` and, as it comes,
buffers the whole response before it sends a byte. Three things break on that:

* the spawn page's progress (an event stream the hub keeps open until the server is
  ready) reaches the browser only when the spawn is over;
* a download from JupyterLab sits whole in the proxy's memory, and one over the
  client's 100 MB body limit fails;
* each request has tornado's 20 s default timeout: with 100 users starting at once on
  two cores, a busy server answers a kernel start or a websocket handshake later than
  that, and the user gets a 503 (what the load benchmark saw).

So the handler below streams: headers and each chunk go to the browser as they arrive,
bytes as the server sent them (no decompressing and recompressing), a client that goes
away ends the request upstream, and timeouts leave room for a loaded machine. The pool
of upstream connections is raised too: its default of 10 would make the 11th browser
wait behind every spawn-pending page.

`sdl up` holds the proxy's two listening sockets itself and hands them to each proxy it
starts (SDL_PROXY_SOCKETS: port to file descriptors): a restarted proxy serves on the same
sockets, and no user can bind the port while it is down (hub.ports).
"""

from __future__ import annotations

import json
import os
import socket
import sys
from typing import Any, cast

from configurable_http_proxy import cli, configproxy
from configurable_http_proxy.handlers import ProxyHandler
from tornado import httputil
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.httpserver import HTTPServer

SOCKETS_ENV = "SDL_PROXY_SOCKETS"
MAX_CLIENTS = 512
#: Time for the server to answer (or a websocket to be accepted): generous for a
#: loaded machine, finite so a server that never answers frees its slot.
ANSWER_TIMEOUT = 300.0
#: Whole-request bound for a streamed response (progress, downloads).
STREAM_TIMEOUT = 3600.0
#: Downloads stream through, so no size needs refusing; the client's default is 100 MB.
MAX_BODY_SIZE = 1 << 40
#: Hop-by-hop headers (RFC 9110 7.6.1) are the proxy's own, never passed on.
HOP_BY_HOP = frozenset(
    [
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    ]
)


class ClientGoneError(Exception):
    """The browser closed its connection: stop reading from the server."""


class StreamingProxyHandler(ProxyHandler):
    """configurable-http-proxy's handler, streaming responses instead of buffering them."""

    _headers_sent = False
    _upstream_status: httputil.ResponseStartLine | None = None
    _upstream_headers: httputil.HTTPHeaders

    def compute_etag(self) -> None:
        return None  # the server's answer, not one tornado makes up from a buffer

    def _get_proxy_request(self, url: str) -> HTTPRequest:
        request: HTTPRequest = super()._get_proxy_request(url)
        request.connect_timeout = ANSWER_TIMEOUT
        request.request_timeout = ANSWER_TIMEOUT  # a websocket's handshake; see call_proxy
        return request

    async def call_proxy(self, path: str | None = None) -> None:
        url = await self.get_target_url(path)
        if url is None:
            return
        request = self._get_proxy_request(url)
        request.request_timeout = STREAM_TIMEOUT
        request.decompress_response = False  # pass the bytes on as they were sent
        request.header_callback = self._on_header_line
        request.streaming_callback = self._on_chunk
        try:
            await AsyncHTTPClient().fetch(request, raise_error=False)
        except ClientGoneError:
            return
        except Exception as err:
            if not self._headers_sent:
                await self.handle_proxy_error(503, err)
                return
            self.proxy.log.warning(f"{self.request.path}: cut while streaming: {err}")
        if not self._finished:
            self._send_headers()
            self.finish()

    def _on_header_line(self, line: str) -> None:
        line = line.rstrip("\r\n")
        if line.startswith("HTTP/"):
            status = httputil.parse_response_start_line(line)
            if status.code != 100:  # "100 Continue" precedes the real answer
                self._upstream_status, self._upstream_headers = status, httputil.HTTPHeaders()
        elif line and self._upstream_status is not None:
            self._upstream_headers.parse_line(line)

    def _send_headers(self) -> None:
        if self._headers_sent or self._upstream_status is None:
            return
        self._headers_sent = True
        self.set_status(self._upstream_status.code, self._upstream_status.reason)
        ours = {name.lower() for name, _ in self._headers.get_all()}
        for name, value in self._upstream_headers.get_all():
            if name.lower() in HOP_BY_HOP:
                continue
            if name.lower() in ours:  # Server, Content-Type, Date: the server's win
                self.set_header(name, value)
            else:
                self.add_header(name, value)

    def _on_chunk(self, chunk: bytes) -> None:
        if self.request.connection.stream.closed():
            raise ClientGoneError  # raised into the client: it closes the server's side
        self._send_headers()
        self.write(chunk)
        self.flush().add_done_callback(_retrieve)


def _retrieve(flushed: Any) -> None:
    """A flush to a browser that just left fails; nothing waits for it, so nothing logs."""
    if not flushed.cancelled():
        flushed.exception()


def inherited_sockets(held: dict[int, list[socket.socket]]) -> str:
    """SDL_PROXY_SOCKETS for sockets a parent holds: {port: [file descriptors]}."""
    return json.dumps({str(port): [s.fileno() for s in socks] for port, socks in held.items()})


class InheritedSocketServer(HTTPServer):
    """Serves on the sockets the parent handed down for a port, binding only others."""

    def listen(
        self,
        port: int,
        address: str | None = None,
        family: socket.AddressFamily = socket.AF_UNSPEC,
        backlog: int = 128,
        flags: int | None = None,
        reuse_port: bool = False,
    ) -> None:
        fds = json.loads(os.environ.get(SOCKETS_ENV, "{}")).get(str(port))
        if not fds:
            super().listen(port, address, family, backlog, flags, reuse_port)
            return
        sockets = [socket.socket(fileno=fd) for fd in fds]
        for sock in sockets:
            sock.setblocking(False)
        self.add_sockets(sockets)


def main(argv: list[str]) -> None:
    AsyncHTTPClient.configure(None, max_clients=MAX_CLIENTS, max_body_size=MAX_BODY_SIZE)
    # the port builds its application and servers from these module names when it starts
    cast(Any, configproxy).ProxyHandler = StreamingProxyHandler
    cast(Any, cli).HTTPServer = InheritedSocketServer
    cli.main(args=argv, prog_name="configurable-http-proxy")


if __name__ == "__main__":
    main(sys.argv[1:])
