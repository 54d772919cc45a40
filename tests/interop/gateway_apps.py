#!/usr/bin/env python3
"""Interop test: an MCP App (io.modelcontextprotocol/ui) through one `tenet serve` gateway,
in front of the official example @modelcontextprotocol/server-basic-vanillajs over stdio
(upstream `apps`).

Usage: python tests/interop/gateway_apps.py GATEWAY_URL

Run through `scripts/interop-gateway`. With the official Python SDK client (`mcp==2.3.0`),
in the legacy era and in the client's own choice: the app's tool is listed as
`apps__get-time` with its user interface named under `ui://` (`_meta.ui.resourceUri`, and
the older `ui/resourceUri`), the upstream's name inside the URI; that URI is listed among
the gateway's resources; reading it through the gateway gives the app's HTML as
`text/html;profile=mcp-app` under the same URI; and the tool answers a call.

One line is printed per check, then exactly `N passed, M failed`; the exit status is 0 only
when nothing failed. Every request is bounded by a timeout and the run by a watchdog.
"""

from __future__ import annotations

import sys
from typing import Any

import anyio
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from gateway_client import expect, recorder, run_checks

CALL_TIMEOUT = 30.0  # seconds, per request
WATCHDOG = 120.0  # seconds, for the whole run
TOOL = "apps__get-time"
UI_URI = "ui://apps/get-time/mcp-app.html"
APP_MIME = "text/html;profile=mcp-app"


async def check(c: Client, report: list[int], mode: str) -> None:
    record = recorder(f"gateway apps, {mode}", report)

    try:
        with anyio.fail_after(CALL_TIMEOUT):
            tools = (await c.list_tools()).tools
        tool = next((t for t in tools if t.name == TOOL), None)
        expect(tool is not None, f"{TOOL} not listed: {[t.name for t in tools]}")
        meta: dict[str, Any] = tool.meta or {}
        expect(meta.get("ui", {}).get("resourceUri") == UI_URI, f"_meta.ui.resourceUri: {meta}")
        expect(meta.get("ui/resourceUri") == UI_URI, f"_meta['ui/resourceUri']: {meta}")
        record("the tool names its interface under ui://", UI_URI)
    except Exception as exc:  # noqa: BLE001 - every failure is reported
        record("the tool names its interface under ui://", exc)
    try:
        with anyio.fail_after(CALL_TIMEOUT):
            resources = (await c.list_resources()).resources
        uris = [str(r.uri) for r in resources]
        expect(UI_URI in uris, f"not among the resources: {uris}")
        record("the interface is listed", UI_URI)
    except Exception as exc:  # noqa: BLE001
        record("the interface is listed", exc)
    try:
        with anyio.fail_after(CALL_TIMEOUT):
            read = await c.read_resource(UI_URI)
        expect(len(read.contents) == 1, f"{len(read.contents)} contents")
        content = read.contents[0]
        text = getattr(content, "text", "") or ""
        expect(str(content.uri) == UI_URI, f"read back under {content.uri}")
        expect(content.mime_type == APP_MIME, f"mimeType {content.mime_type!r}")
        expect("<html" in text.lower() and "</html>" in text.lower(), f"not an HTML page: {text[:200]!r}")
        record("reading it gives the app's HTML", f"{len(text)} characters of {APP_MIME}")
    except Exception as exc:  # noqa: BLE001
        record("reading it gives the app's HTML", exc)
    try:
        with anyio.fail_after(CALL_TIMEOUT):
            result = await c.call_tool(TOOL, {})
        text = "".join(getattr(block, "text", "") or "" for block in result.content)
        expect(not result.is_error and "T" in text and text.endswith("Z"), f"not a time: {text[:200]!r}")
        record("the tool answers", text)
    except Exception as exc:  # noqa: BLE001
        record("the tool answers", exc)


async def run(url: str, report: list[int]) -> None:
    for mode in ("legacy", "auto"):
        async with Client(streamable_http_client(url), mode=mode, read_timeout_seconds=CALL_TIMEOUT) as c:
            await check(c, report, mode)


def main() -> int:
    return run_checks("gateway apps", run, sys.argv[1], seconds=WATCHDOG)


if __name__ == "__main__":
    sys.exit(main())
