"""Run configurable-http-proxy (the Python port) with room for many users at once.

The port proxies through tornado's `AsyncHTTPClient`, whose default pool holds 10
requests: the 11th browser waits, and every spawn-pending page holds one slot while its
server starts. A workshop of 30 starting together would stall logins. We raise the pool
before handing over to the proxy's own command line.
"""

from __future__ import annotations

import sys

MAX_CLIENTS = 512


def main(argv: list[str]) -> None:
    from configurable_http_proxy.cli import main as proxy_main
    from tornado.httpclient import AsyncHTTPClient

    AsyncHTTPClient.configure(None, max_clients=MAX_CLIENTS)
    proxy_main(args=argv, prog_name="configurable-http-proxy")


if __name__ == "__main__":
    main(sys.argv[1:])
