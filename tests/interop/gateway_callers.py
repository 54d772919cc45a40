#!/usr/bin/env python3
"""Interop test: two callers through one `tenet serve` gateway, each with an API key of its
own, in front of @modelcontextprotocol/server-everything over stdio (`ev`) and over
Streamable HTTP (`evh`), both speaking the legacy protocol and keeping roots per session.

Usage: python tests/interop/gateway_callers.py GATEWAY_URL ALICE_KEY BOB_KEY

Run through `scripts/interop-gateway`. Each caller is the official Python SDK client
(`mcp==2.3.0`, legacy mode) with roots, an elicitation answer and a sampling answer of its
own, and a log of what log messages reach it. Through each upstream, each asks for its
roots (server-everything asks the client once per session and keeps them), for an
elicitation and for a sampling: each must see its own roots and its own answers, never the
other's, whichever asks first. Then Alice turns on server-everything's simulated logging
(random levels every 5 s, on her upstream session only) and both run a 7 s operation at
once: Alice's messages must reach Alice (relayed while her call runs), none Bob. The
gateway's `/upstreams` must then count a session per caller at each upstream.

One line is printed per check, then exactly `N passed, M failed`; the exit status is 0 only
when nothing failed. Every request is bounded by a timeout and the run by a watchdog.
"""

from __future__ import annotations

import json
import re
import sys
import urllib.request
from typing import Any

import anyio
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.types import CreateMessageResult, ElicitResult, ListRootsResult, Root, TextContent

from gateway_client import expect, recorder, run_checks

CALL_TIMEOUT = 30.0  # seconds, per request
WATCHDOG = 180.0  # seconds, for the whole run
UPSTREAMS = ("ev", "evh")


class Caller:
    """One user: an API key, a home folder as the one root, a name to answer with."""

    def __init__(self, name: str, key: str) -> None:
        self.name = name
        self.key = key
        self.root = f"file:///home/{name}/private"
        self.logs: list[str] = []

    async def on_roots(self, context: Any) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri=self.root, name=self.name)])

    async def on_elicitation(self, context: Any, params: Any) -> ElicitResult:
        # server-everything's form needs only a name: the caller answers with its own.
        return ElicitResult(action="accept", content={"name": f"answer-of-{self.name}"})

    async def on_sampling(self, context: Any, params: Any) -> CreateMessageResult:
        text = TextContent(type="text", text=f"sample-of-{self.name}")
        return CreateMessageResult(role="assistant", content=text, model=f"model-of-{self.name}")

    async def on_log(self, params: Any) -> None:
        self.logs.append(str(params.data)[:200])

    def client(self, url: str) -> Client:
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {self.key}"})
        return Client(
            streamable_http_client(url, http_client=http),
            mode="legacy",
            read_timeout_seconds=CALL_TIMEOUT,
            list_roots_callback=self.on_roots,
            elicitation_callback=self.on_elicitation,
            sampling_callback=self.on_sampling,
            logging_callback=self.on_log,
        )


async def call_text(c: Client, tool: str, arguments: dict[str, Any] | None = None) -> str:
    with anyio.fail_after(CALL_TIMEOUT):
        result = await c.call_tool(tool, arguments or {})
    text = "".join(getattr(block, "text", "") or "" for block in result.content)
    expect(not result.is_error, f"{tool} failed: {text[:300]!r}")
    return text


SIMULATED = re.compile(r"(Debug|Info|Notice|Warning|Error|Critical|Alert|Emergency)[- ]level[- ]message")


def simulated(logs: list[str]) -> list[str]:
    """The messages of server-everything's simulated logging among `logs`."""
    return [line for line in logs if SIMULATED.search(line)]


def sessions(base: str, key: str) -> dict[str, Any]:
    request = urllib.request.Request(f"{base}/upstreams", headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        status = json.load(response)
    return {u["name"]: (u.get("session"), u.get("sessions")) for u in status["upstreams"]}


async def run(url: str, alice: Caller, bob: Caller, report: list[int]) -> None:
    base = url.rsplit("/mcp", 1)[0]

    record = recorder("gateway callers", report)

    async with alice.client(url) as a, bob.client(url) as b:
        for upstream in UPSTREAMS:
            # Alice first, then Bob: with one shared upstream session Bob would read the
            # roots server-everything kept from Alice.
            for me, other, c in ((alice, bob, a), (bob, alice, b)):
                label = f"{upstream}: {me.name}'s roots"
                try:
                    got = await call_text(c, f"{upstream}__get-roots-list")
                    expect(me.root in got, f"{me.name} was not shown their own root: {got[:300]!r}")
                    expect(other.root not in got, f"{me.name} was shown {other.name}'s root: {got[:300]!r}")
                    record(label, "their own, and not the other's")
                except Exception as exc:  # noqa: BLE001 - every failure is reported
                    record(label, exc)
            for me, other, c in ((bob, alice, b), (alice, bob, a)):
                label = f"{upstream}: {me.name}'s elicitation"
                try:
                    got = await call_text(c, f"{upstream}__trigger-elicitation-request")
                    expect(f"answer-of-{me.name}" in got, f"{me.name}'s answer is not in {got[:300]!r}")
                    expect(f"answer-of-{other.name}" not in got, f"{other.name}'s answer reached {me.name}: {got[:300]!r}")
                    record(label, "answered by them alone")
                except Exception as exc:  # noqa: BLE001
                    record(label, exc)
            for me, other, c in ((alice, bob, a), (bob, alice, b)):
                label = f"{upstream}: {me.name}'s sampling"
                try:
                    got = await call_text(c, f"{upstream}__trigger-sampling-request", {"prompt": "hello"})
                    expect(f"sample-of-{me.name}" in got, f"{me.name}'s sampling answer is not in {got[:300]!r}")
                    expect(f"sample-of-{other.name}" not in got, f"{other.name}'s answer reached {me.name}: {got[:300]!r}")
                    record(label, "answered by them alone")
                except Exception as exc:  # noqa: BLE001
                    record(label, exc)
        # Logs: on Alice's session of one upstream only, relayed while her call runs.
        label = "ev: alice's log messages"
        try:
            for c in (a, b):
                with anyio.fail_after(CALL_TIMEOUT):
                    await c.set_logging_level("debug")
            await call_text(a, "ev__toggle-simulated-logging")
            long = {"duration": 7, "steps": 7}
            async with anyio.create_task_group() as both:
                both.start_soon(call_text, a, "ev__trigger-long-running-operation", long)
                both.start_soon(call_text, b, "ev__trigger-long-running-operation", long)
            await call_text(a, "ev__toggle-simulated-logging")
            # Each caller's session also logs its own roots ("Roots updated"): only the
            # simulated messages ("Info-level message", "Alert level-message") are Alice's.
            alices, at_bob = simulated(alice.logs), simulated(bob.logs)
            expect(len(alices) > 0, f"none of alice's simulated log messages reached alice: {alice.logs[:3]}")
            expect(not at_bob, f"alice's log messages reached bob: {at_bob[:3]}")
            record(label, f"{len(alices)} reached alice, none bob")
        except Exception as exc:  # noqa: BLE001
            record(label, exc)
        try:
            seen = sessions(base, alice.key)
            for upstream in UPSTREAMS:
                expect(seen.get(upstream) == ("per-caller", 2), f"/upstreams shows {seen}")
            record("/upstreams", f"a session per caller at each upstream: {seen}")
        except Exception as exc:  # noqa: BLE001
            record("/upstreams", exc)


def main() -> int:
    url, alice_key, bob_key = sys.argv[1:4]
    return run_checks("gateway callers", run, url, Caller("alice", alice_key), Caller("bob", bob_key), seconds=WATCHDOG)


if __name__ == "__main__":
    sys.exit(main())
