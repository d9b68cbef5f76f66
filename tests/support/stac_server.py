"""Servers for the sync tests, all on 127.0.0.1 with free ports, all stopped by themselves.

- `rustac_api`: a real STAC API (`rustac serve`, memory backend) over an items file.
- `AssetHost`: the asset host, a threaded `http.server` with Range support (206 and
  Content-Range, 416), a log of every request and its Range header, and faults on
  demand: cut the connection after N bytes of a file, once.
- `FaultyProxy`: forwards to the STAC API but answers 503 to the first N requests, so
  a test can check that the sync retries a 5xx.
"""

from __future__ import annotations

import contextlib
import http.server
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def rustac_api(items_file: Path, timeout_s: float = 20) -> Iterator[str]:
    """A running `rustac serve` over `items_file`; yields its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    rustac = shutil.which("rustac")
    assert rustac, "rustac is not installed (pip install rustac: the test extra)"
    log = open(items_file.with_suffix(".rustac.log"), "wb")  # noqa: SIM115 closed below
    process = subprocess.Popen(
        [rustac, "serve", "--create-collections", "--addr", f"127.0.0.1:{port}", str(items_file)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(f"{url}/collections", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"rustac serve did not start: {items_file.with_suffix('.rustac.log')}"
                    ) from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


class _Quiet(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:  # a cut is on purpose
        pass


class AssetHost:
    """Serves the files of `root` with Range; `cut_once[path] = n` cuts after n bytes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[tuple[str, str]] = []  # (path, Range header or "")
        self.cut_once: dict[str, int] = {}
        self.served = 0  # body bytes sent
        self._lock = threading.Lock()
        host = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                host._get(self)

        self.server = _Quiet(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def href(self, path: Path) -> str:
        return f"{self.url}/{path.relative_to(self.root).as_posix()}"

    def _get(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?")[0].lstrip("/")
        ranged = handler.headers.get("Range", "")
        with self._lock:
            self.requests.append((path, ranged))
            cut = self.cut_once.pop(path, None)
        file = (self.root / path).resolve()
        if not file.is_relative_to(self.root.resolve()) or not file.is_file():
            handler.send_error(404)
            return
        size = file.stat().st_size
        start = int(ranged.removeprefix("bytes=").split("-")[0]) if ranged else 0
        if start >= size:
            handler.send_response(416)
            handler.send_header("Content-Range", f"bytes */{size}")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        handler.send_response(206 if ranged else 200)
        if ranged:
            handler.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        handler.send_header("Content-Length", str(size - start))
        handler.send_header("Accept-Ranges", "bytes")
        handler.end_headers()
        limit = size - start if cut is None else cut
        with open(file, "rb") as source:
            source.seek(start)
            while limit > 0 and (block := source.read(min(1 << 16, limit))):
                handler.wfile.write(block)
                limit -= len(block)
                with self._lock:
                    self.served += len(block)
        if cut is not None:  # a connection cut mid-file: the client sees a short body
            handler.close_connection = True
            handler.wfile.flush()
            handler.connection.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> AssetHost:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


class FaultyProxy:
    """Forwards GET/POST to `upstream`, answering 503 to the first `failures` requests."""

    def __init__(self, upstream: str, failures: int) -> None:
        self.upstream = upstream
        self.failures = failures
        self.answers: list[int] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                proxy._forward(self)

            def do_POST(self) -> None:
                proxy._forward(self)

        self.server = _Quiet(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _forward(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        if self.failures > 0:
            self.failures -= 1
            self._answer(handler, 503, b'{"code":"unavailable"}', "application/json")
            return
        request = urllib.request.Request(
            self.upstream + handler.path,
            data=body or None,
            method=handler.command,
            headers={"Content-Type": handler.headers.get("Content-Type", "application/json")},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                status, payload, kind = answer.status, answer.read(), answer.headers["Content-Type"]
        except urllib.error.HTTPError as exc:
            status, payload, kind = exc.code, exc.read(), exc.headers["Content-Type"]
        # links name the upstream; point them back here so paging goes through us
        payload = payload.replace(self.upstream.encode(), self.url.encode())
        self._answer(handler, status, payload, kind or "application/json")

    def _answer(self, handler, status: int, payload: bytes, kind: str) -> None:
        self.answers.append(status)
        handler.send_response(status)
        handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def __enter__(self) -> FaultyProxy:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
