"""Running a cell on a kernel over its websocket, as JupyterLab does (through the proxy)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect


def execute_message(code: str, session: str) -> dict[str, Any]:
    return {
        "header": {
            "msg_id": uuid.uuid4().hex,
            "msg_type": "execute_request",
            "username": "sdl-tests",
            "session": session,
            "version": "5.3",
        },
        "parent_header": {},
        "metadata": {},
        "content": {"code": code, "silent": False, "store_history": False},
        "channel": "shell",
    }


async def run_cell(ws_url: str, token: str, code: str, timeout: float) -> str:
    """Run `code` on a kernel over its websocket; the text of its execute_result."""
    request = HTTPRequest(  # a browser waits for a handshake as long as the user does
        ws_url,
        headers={"Authorization": f"token {token}"},
        connect_timeout=timeout,
        request_timeout=timeout,
    )
    conn = await websocket_connect(request)
    try:
        message = execute_message(code, uuid.uuid4().hex)
        await conn.write_message(json.dumps(message))
        deadline = time.monotonic() + timeout
        result = None
        while time.monotonic() < deadline:
            raw = await asyncio.wait_for(conn.read_message(), deadline - time.monotonic())
            if raw is None:
                raise RuntimeError("the kernel's websocket closed")
            reply = json.loads(raw)
            if reply.get("parent_header", {}).get("msg_id") != message["header"]["msg_id"]:
                continue
            kind = reply["header"]["msg_type"]
            if kind == "execute_result":
                result = reply["content"]["data"]["text/plain"]
            elif kind == "error":
                raise RuntimeError(f"the cell failed: {reply['content'].get('ename')}")
            elif kind == "status" and reply["content"]["execution_state"] == "idle":
                if result is None:
                    raise RuntimeError("the kernel went idle without a result")
                return result
        raise TimeoutError("no result before the timeout")
    finally:
        conn.close()


def kernel_ws_url(public_url: str, user: str, kernel_id: str) -> str:
    return f"{public_url.replace('http', 'ws', 1)}/user/{user}/api/kernels/{kernel_id}/channels"
