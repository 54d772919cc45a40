#!/usr/bin/env python3
"""The official Python SDK 1.x (mcp==1.30.0) drives `tenet serve --transport http` over
WebSocket, legacy era: `mcp.client.websocket.websocket_client(url)` (the SDK's own transport,
subprotocol "mcp") and `mcp.ClientSession` (initialize, then the knowledge checks in
_checks.py, then ping and close).

Usage: python py_ws_legacy.py ws://127.0.0.1:PORT/mcp

Run by scripts/interop-websocket in target/interop/clients/venv/langchain (the venv
scripts/interop-clients installs from tests/interop/clients/requirements-langchain.txt:
mcp 1.30.0 and websockets 17.4). The SDK marks websocket_client deprecated and warns so
at every call; that one DeprecationWarning is expected and named in the last PASS line,
every other warning, log record at WARNING or above, or output fails a check.
"""

from __future__ import annotations

import sys
from contextlib import AsyncExitStack
from importlib.metadata import version
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import STEP_TIMEOUT, Harness, expect  # noqa: E402

H = Harness(
    "py mcp-1.30.0 ws legacy",
    expected_warnings=((DeprecationWarning, "The WebSocket client transport is deprecated"),),
)

import anyio  # noqa: E402
import mcp.client.websocket as mcp_ws  # noqa: E402
from mcp import ClientSession, types  # noqa: E402
from pydantic import AnyUrl  # noqa: E402

from _checks import CHECKS, run_knowledge_checks  # noqa: E402

# Observe (not change) the socket the SDK opens: the negotiated subprotocol and the close
# code are checked below.
SOCKETS: list[Any] = []
_real_connect = mcp_ws.ws_connect


class _Observed:
    def __init__(self, cm: Any) -> None:
        self.cm = cm

    async def __aenter__(self) -> Any:
        ws = await self.cm.__aenter__()
        SOCKETS.append(ws)
        return ws

    async def __aexit__(self, *exc: Any) -> Any:
        return await self.cm.__aexit__(*exc)


mcp_ws.ws_connect = lambda *a, **kw: _Observed(_real_connect(*a, **kw))


def dump(result: Any) -> dict[str, Any]:
    return result.model_dump(by_alias=True, mode="json", exclude_none=True)


class Api:
    def __init__(self, s: ClientSession) -> None:
        self.s = s

    async def list_tools(self) -> dict[str, Any]:
        return dump(await self.s.list_tools())

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        return dump(await self.s.call_tool(name, arguments))

    async def list_resources(self) -> dict[str, Any]:
        return dump(await self.s.list_resources())

    async def read_resource(self, uri: str) -> dict[str, Any]:
        return dump(await self.s.read_resource(AnyUrl(uri)))

    async def list_prompts(self) -> dict[str, Any]:
        return dump(await self.s.list_prompts())

    async def get_prompt(self, name: str, arguments: dict[str, str]) -> dict[str, Any]:
        return dump(await self.s.get_prompt(name, arguments))

    async def complete_template(self, argument: str, value: str) -> dict[str, Any]:
        ref = types.ResourceTemplateReference(type="ref/resource", uri="stdlib://{language}/{domain}")
        return dump(await self.s.complete(ref, {"name": argument, "value": value}))


async def main(url: str) -> int:
    notifications: list[str] = []

    async def on_message(message: Any) -> None:
        if isinstance(message, Exception):
            H.note(f"the session received an exception instead of a message: {message!r}")
        elif isinstance(message, types.ServerNotification):
            notifications.append(message.root.method)

    stack = AsyncExitStack()
    session: ClientSession | None = None

    async def connect() -> str:
        nonlocal session
        read, write = await stack.enter_async_context(mcp_ws.websocket_client(url))
        s = await stack.enter_async_context(ClientSession(read, write, message_handler=on_message))
        with anyio.fail_after(STEP_TIMEOUT):
            init = await s.initialize()
        session = s
        ws = SOCKETS[-1]
        expect(ws.subprotocol == "mcp", f"negotiated subprotocol {ws.subprotocol!r}, expected 'mcp'")
        expect(
            init.protocolVersion == types.LATEST_PROTOCOL_VERSION,
            f"server answered {init.protocolVersion!r}, the SDK offered {types.LATEST_PROTOCOL_VERSION!r}",
        )
        expect(init.serverInfo.name == "tenet", f"serverInfo {init.serverInfo!r}")
        caps = init.capabilities
        expect(caps.tools and caps.resources and caps.prompts, f"capabilities {caps!r}")
        return f"subprotocol {ws.subprotocol}, protocol {init.protocolVersion}, {init.serverInfo.name} {init.serverInfo.version}"

    await H.check(f"connect + initialize (mcp {version('mcp')} websocket_client + ClientSession)", connect, bounded=False)
    if session is None:
        for name in (*CHECKS, "ping", "close"):
            H.skip(name, "connect failed")
        await stack.aclose()
        return H.finish()

    await run_knowledge_checks(H, Api(session))

    async def ping() -> str:
        await session.send_ping()
        return ""

    await H.check("ping", ping)

    async def close() -> str:
        ws = SOCKETS[-1]
        expect(ws.close_code is None, f"the server closed the socket early: code {ws.close_code} {ws.close_reason!r}")
        await stack.aclose()
        await anyio.sleep(0.05)
        expect(ws.close_code == 1000, f"close code from the server {ws.close_code} {ws.close_reason!r}, expected 1000 echoed")
        return f"close code {ws.close_code}{'; notifications: ' + ', '.join(sorted(set(notifications))) if notifications else ''}"

    await H.check("close (the server echoes 1000)", close, bounded=False)
    return H.finish()


if __name__ == "__main__":
    if len(sys.argv) != 2 or not sys.argv[1].startswith("ws://"):
        H.emit("usage: py_ws_legacy.py ws://HOST:PORT/mcp")
        sys.exit(2)
    sys.exit(anyio.run(main, sys.argv[1]))
