#!/usr/bin/env python3
"""The official Python SDK 2.x (mcp==2.3.0) drives `tenet serve --transport http` over
WebSocket. mcp 2.x has no WebSocket transport, but its `mcp.Client` takes any `Transport`
(an async context manager yielding the read and write streams of `SessionMessage`s):
`websocket_transport` below is ours, with the `websockets` package (subprotocol "mcp", one
JSON-RPC message per text frame), and the SDK's own Client negotiates the era over it:

- `2026-07-28`  (`Client(mode="2026-07-28")`) no handshake: every request carries
                `_meta` io.modelcontextprotocol/protocolVersion (and clientInfo,
                clientCapabilities); checked on the wire, with every answer's resultType;
- `auto`        (`Client(mode="auto")`, the SDK's default) probes `server/discover` and
                must adopt 2026-07-28 without falling back to `initialize`;
- `legacy`      (`Client(mode="legacy")`) the initialize handshake at 2025-11-25.

In each mode the knowledge checks of _checks.py run (the SDK validates each result against
the negotiated version's schema, and structuredContent against the tool's outputSchema),
then the socket is closed and the server must echo close code 1000.

Usage: python py_ws_modern.py ws://127.0.0.1:PORT/mcp

Run by scripts/interop-websocket in target/interop/websocket/venv/mcp2 (installed from
tests/interop/websocket/requirements-mcp2.txt).
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import STEP_TIMEOUT, Harness, expect  # noqa: E402

H = Harness("py mcp-2.3.0 ws")

import anyio  # noqa: E402
import mcp_types as types  # noqa: E402
from mcp import Client  # noqa: E402
from mcp.client._transport import TransportStreams  # noqa: E402
from mcp.shared.message import SessionMessage  # noqa: E402
from websockets.asyncio.client import ClientConnection, connect  # noqa: E402
from websockets.typing import Subprotocol  # noqa: E402

from _checks import CHECKS, run_knowledge_checks  # noqa: E402

PROTOCOL_VERSION_META = "io.modelcontextprotocol/protocolVersion"
SERVER_INFO_META = "io.modelcontextprotocol/serverInfo"


# --- the transport ---------------------------------------------------------------------


@dataclass
class Wire:
    """What went over one socket, as JSON, for the era checks."""

    sent: list[dict[str, Any]] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    socket: ClientConnection | None = None


@asynccontextmanager
async def websocket_transport(url: str, wire: Wire) -> AsyncIterator[TransportStreams]:
    """MCP over WebSocket for mcp 2.x's Client: one JSON-RPC message per text frame."""
    read_writer, read_stream = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    write_stream, write_reader = anyio.create_memory_object_stream[SessionMessage](0)
    async with connect(url, subprotocols=[Subprotocol("mcp")]) as ws:
        wire.socket = ws

        async def reader() -> None:
            async with read_writer:
                async for frame in ws:
                    try:
                        if not isinstance(frame, str):
                            raise ValueError(f"a binary frame ({len(frame)} bytes); MCP messages are text frames")
                        wire.received.append(json.loads(frame))
                        item: SessionMessage | Exception = SessionMessage(
                            types.jsonrpc_message_adapter.validate_json(frame, by_name=False)
                        )
                    except ValueError as exc:  # the SDK only debug-logs these: report them here
                        H.note(f"the server sent a frame that is not one JSON-RPC message: {exc}")
                        item = exc
                    await read_writer.send(item)

        async def writer() -> None:
            async with write_reader:
                async for message in write_reader:
                    text = message.message.model_dump_json(by_alias=True, exclude_unset=True)
                    wire.sent.append(json.loads(text))
                    await ws.send(text)

        async with anyio.create_task_group() as tg:
            tg.start_soon(reader)
            tg.start_soon(writer)
            try:
                yield read_stream, write_stream
            finally:
                tg.cancel_scope.cancel()


# --- the checks ------------------------------------------------------------------------


def dump(result: Any) -> dict[str, Any]:
    return result.model_dump(by_alias=True, mode="json", exclude_none=True)


class Api:
    def __init__(self, c: Client) -> None:
        self.c = c

    async def list_tools(self) -> dict[str, Any]:
        return dump(await self.c.list_tools())

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        return dump(await self.c.call_tool(name, arguments))

    async def list_resources(self) -> dict[str, Any]:
        return dump(await self.c.list_resources())

    async def read_resource(self, uri: str) -> dict[str, Any]:
        return dump(await self.c.read_resource(uri))

    async def list_prompts(self) -> dict[str, Any]:
        return dump(await self.c.list_prompts())

    async def get_prompt(self, name: str, arguments: dict[str, str]) -> dict[str, Any]:
        return dump(await self.c.get_prompt(name, arguments))

    async def complete_template(self, argument: str, value: str) -> dict[str, Any]:
        ref = types.ResourceTemplateReference(type="ref/resource", uri="stdlib://{language}/{domain}")
        return dump(await self.c.complete(ref, {"name": argument, "value": value}))


def requests(wire: Wire) -> list[dict[str, Any]]:
    return [m for m in wire.sent if "method" in m and "id" in m]


def era_check(mode: str, client: Client, wire: Wire) -> str:
    """What the wire shows about the era, after the knowledge checks ran."""
    methods = [m["method"] for m in requests(wire)]
    answers = {m["id"]: m for m in wire.received if "id" in m and "method" not in m}
    if mode == "legacy":
        expect(methods[:1] == ["initialize"], f"first request {methods[:1]}, expected initialize")
        expect(client.protocol_version == "2025-11-25", f"negotiated {client.protocol_version!r}")
        stamped = [m["id"] for m in answers.values() if "resultType" in (m.get("result") or {})]
        expect(not stamped, f"legacy answers carry resultType (a 2026-07-28 field): ids {stamped}")
        return f"initialize, then {len(methods) - 1} requests at {client.protocol_version}, no answer with resultType"
    expect("initialize" not in methods, f"the SDK fell back to initialize: {methods}")
    expect(client.protocol_version == "2026-07-28", f"negotiated {client.protocol_version!r}")
    if mode == "auto":
        expect(methods[:1] == ["server/discover"], f"first request {methods[:1]}, expected server/discover")
        discovered = client.session.discover_result
        expect(discovered is not None, "no server/discover result adopted")
        expect("2026-07-28" in discovered.supported_versions, f"supportedVersions {discovered.supported_versions}")
    else:
        expect("server/discover" not in methods, f"pinned mode sent server/discover: {methods}")
    for req in requests(wire):
        meta = (req.get("params") or {}).get("_meta") or {}
        expect(
            meta.get(PROTOCOL_VERSION_META) == "2026-07-28",
            f"{req['method']} (id {req['id']}) carried _meta {PROTOCOL_VERSION_META}={meta.get(PROTOCOL_VERSION_META)!r}",
        )
        answer = answers.get(req["id"])
        expect(answer is not None, f"no answer on the wire to {req['method']} (id {req['id']})")
        expect("result" in answer, f"{req['method']} answered with an error: {answer.get('error')}")
        expect(
            answer["result"].get("resultType") == "complete",
            f"{req['method']} result has resultType {answer['result'].get('resultType')!r} (2026-07-28 results say 'complete')",
        )
    stamped = sum(
        1 for req in requests(wire) if ((answers[req["id"]]["result"].get("_meta") or {}).get(SERVER_INFO_META) or {}).get("name") == "tenet"
    )
    return (
        f"{len(methods)} requests, every one with _meta {PROTOCOL_VERSION_META}=2026-07-28, every answer "
        f"resultType complete ({stamped} stamped with _meta {SERVER_INFO_META} tenet)"
    )


async def run_mode(url: str, mode: str) -> None:
    H.label = f"py mcp-{version('mcp')} ws {mode}"
    wire = Wire()
    stack = AsyncExitStack()
    client: Client | None = None

    async def on_message(message: Any) -> None:
        if isinstance(message, Exception):
            H.note(f"the session received an exception instead of a message: {message!r}")

    async def connect_check() -> str:
        nonlocal client
        # read_timeout_seconds bounds every request, the handshake's too (this check cannot
        # run under a cancel scope of its own: it enters the Client's task groups).
        c = Client(websocket_transport(url, wire), mode=mode, message_handler=on_message, read_timeout_seconds=STEP_TIMEOUT)
        await stack.enter_async_context(c)
        client = c
        ws = wire.socket
        expect(ws is not None and ws.subprotocol == "mcp", f"negotiated subprotocol {getattr(ws, 'subprotocol', None)!r}")
        how = {"legacy": "initialize", "auto": "server/discover, adopted"}.get(mode, "pinned, no handshake")
        return f"subprotocol mcp, protocol {c.protocol_version} ({how})"

    await H.check(f"connect, Client(our WebSocket transport, mode={mode!r})", connect_check, bounded=False)
    if client is None:
        for name in (*CHECKS, "era on the wire", "close"):
            H.skip(name, "connect failed")
        await stack.aclose()
        return
    await run_knowledge_checks(H, Api(client))

    async def era() -> str:
        return era_check(mode, client, wire)

    await H.check("era on the wire" if mode != "legacy" else "era on the wire (initialize, 2025-11-25)", era)

    async def close() -> str:
        ws = wire.socket
        expect(ws.close_code is None, f"the server closed the socket early: code {ws.close_code} {ws.close_reason!r}")
        await stack.aclose()
        expect(ws.close_code == 1000, f"close code from the server {ws.close_code} {ws.close_reason!r}, expected 1000 echoed")
        return f"close code {ws.close_code}"

    await H.check("close (the server echoes 1000)", close, bounded=False)


async def main(url: str) -> int:
    for mode in ("2026-07-28", "auto", "legacy"):
        await run_mode(url, mode)
    H.label = f"py mcp-{version('mcp')} ws"
    return H.finish()


if __name__ == "__main__":
    if len(sys.argv) != 2 or not sys.argv[1].startswith("ws://"):
        H.emit("usage: py_ws_modern.py ws://HOST:PORT/mcp")
        sys.exit(2)
    sys.exit(anyio.run(main, sys.argv[1]))
