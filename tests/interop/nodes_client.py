#!/usr/bin/env python3
"""Interop test: three Tenet nodes over real processes, driven by the official Python MCP
SDK client (`mcp==2.3.0`) connected to node A, in the legacy era and in 2026-07-28.

Usage: python tests/interop/nodes_client.py A_URL B_BASE C_PORT C_LOG -- C_COMMAND...

Run through `scripts/interop-nodes`, which starts the network and passes:

- A_URL   node A's MCP endpoint: `--demo`, its peer is B;
- B_BASE  node B's base URL: no tools of its own, re-exports, its peer is C (with C's
          API key);
- C_PORT, C_LOG and C_COMMAND: how to start node C (`--demo`, an API key required),
          which this script starts, stops and starts again on the same port (its
          output appended to C_LOG).

In each era, through A: C's tools are listed (under `b__c__`) and called, with progress
and cancellation passing A -> B -> C; a value `remember`ed on A is `recall`ed on C and
one set on C is read on A (the conversation's context travels with the call); C is
stopped, and A's client is told `tools/list_changed` within two heartbeat intervals and
C's tools are gone; C starts again, and they come back.

One line is printed per check, then exactly `N passed, M failed`; the exit status is 0
only when nothing failed. Every request is bounded by a timeout and the run by a watchdog.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Awaitable
from typing import Any

import anyio
from mcp import Client
from mcp.types import ToolListChangedNotification

CALL_TIMEOUT = 30.0
WATCHDOG = 300.0
HEARTBEAT = 1.0  # the nodes' --heartbeat, in seconds
MODES = ("legacy", "2026-07-28")
CONTEXT_KEY = "io.tenet/context"


class Failure(Exception):
    """A check's expectation was not met."""


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise Failure(message)


def text_of(result: Any) -> str:
    return "\n".join(getattr(block, "text", "") or "" for block in result.content)


async def bounded(awaitable: Awaitable[Any], what: str, timeout: float = CALL_TIMEOUT) -> Any:
    try:
        return await asyncio.wait_for(awaitable, timeout)
    except asyncio.TimeoutError as exc:
        raise Failure(f"{what} did not answer within {timeout:.0f}s") from exc


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback only
        return json.loads(response.read())


class NodeC:
    """Node C's process: started, stopped and started again on the same port."""

    def __init__(self, command: list[str], port: int, log: str) -> None:
        self.command = command
        self.port = port
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Starts C and waits (20 s at most) until it listens on its port."""
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(self.command, stdout=log, stderr=log)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        with open(self.log, encoding="utf-8", errors="replace") as log:
            tail = log.read()[-800:]
        raise Failure(f"node C did not listen on {self.port}: {tail}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


async def tool_names(c: Client) -> set[str]:
    listed = await bounded(c.list_tools(), "tools/list")
    return {tool.name for tool in listed.tools}


async def until_tools(c: Client, present: bool, what: str, within: float = 30.0) -> float:
    """Waits until C's tools are (or are not) listed by A; returns how long it took."""
    started = time.monotonic()
    while True:
        names = await tool_names(c)
        if ("b__c__countdown" in names) == present:
            return time.monotonic() - started
        if time.monotonic() - started > within:
            raise Failure(f"{what}: still {sorted(names)} after {within:.0f}s")
        await anyio.sleep(0.1)


class Changes:
    """When A's client was told tools/list_changed: by the session's notifications
    (legacy), or on a `subscriptions/listen` stream (2026-07-28)."""

    def __init__(self) -> None:
        self.times: list[float] = []

    async def on_message(self, message: Any) -> None:
        if isinstance(message, ToolListChangedNotification) or getattr(
            getattr(message, "root", None), "method", None
        ) == "notifications/tools/list_changed":
            self.times.append(time.monotonic())

    async def listen(self, c: Client) -> None:
        async with c.listen(tools_list_changed=True) as sub:
            async for _event in sub:
                self.times.append(time.monotonic())

    def since(self, moment: float) -> list[float]:
        return [t - moment for t in self.times if t >= moment]


async def check_listed(c: Client, mode: str, env: dict[str, Any]) -> str:
    names = await tool_names(c)
    wanted = {"b__c__countdown", "b__c__recall", "b__c__remember", "remember", "recall"}
    expect(wanted <= names, f"missing {sorted(wanted - names)} in {sorted(names)}")
    expect(not any(n.startswith("b__") and not n.startswith("b__c__") for n in names), "b has no tools of its own")
    return f"{len(names)} tools, C's under b__c__"


async def check_progress(c: Client, mode: str, env: dict[str, Any]) -> str:
    seen: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    result = await bounded(
        c.call_tool("b__c__countdown", {"steps": 3, "step_ms": 30}, progress_callback=on_progress),
        "b__c__countdown",
    )
    expect(not result.is_error, f"isError: {text_of(result)}")
    expect("counted down 3 steps" in text_of(result), text_of(result))
    expect(len(seen) >= 2 and seen == sorted(seen), f"progress {seen}")
    return f"C's countdown through A and B, progress {seen}"


def cancelled_at(base: str, peer: str) -> int:
    peers = get_json(f"{base}/peers")["peers"]
    row = next((p for p in peers if p.get("name") == peer), None)
    return int(row["calls"]["cancelled"]) if row else -1


async def check_cancellation(c: Client, mode: str, env: dict[str, Any]) -> str:
    before = cancelled_at(env["b"], "c")
    with anyio.move_on_after(1.0):
        await c.call_tool("b__c__countdown", {"steps": 100, "step_ms": 200})
    deadline = time.monotonic() + 10
    while cancelled_at(env["b"], "c") <= before:
        expect(time.monotonic() < deadline, f"B never saw its call to C cancelled ({before})")
        await anyio.sleep(0.1)
    return f"the call B relayed to C was cancelled ({cancelled_at(env['b'], 'c')} at B's /peers)"


def structured(result: Any) -> dict[str, Any]:
    return getattr(result, "structured_content", None) or json.loads(text_of(result))


async def check_context(c: Client, mode: str, env: dict[str, Any]) -> str:
    value = f"Oslo ({mode})"
    first = await bounded(c.call_tool("remember", {"key": "city", "value": value}), "remember on A")
    expect(not first.is_error, f"remember: {text_of(first)}")
    meta: dict[str, Any] | None = None
    if mode != "legacy":
        told = (first.meta or {}).get(CONTEXT_KEY) or {}
        expect("id" in told, f"A told no conversation id: {first.meta}")
        meta = {CONTEXT_KEY: told["id"]}
    read = await bounded(c.call_tool("b__c__recall", {"key": "city"}, meta=meta), "recall on C")
    expect(structured(read).get("value") == value, f"C recalled {structured(read)}")
    changed = await bounded(
        c.call_tool("b__c__remember", {"key": "city", "value": "Bergen"}, meta=meta), "remember on C"
    )
    expect(not changed.is_error, f"remember on C: {text_of(changed)}")
    back = await bounded(c.call_tool("recall", {"key": "city"}, meta=meta), "recall on A")
    expect(structured(back).get("value") == "Bergen", f"A recalled {structured(back)}")
    return "set on A, read on C; set on C, read on A"


async def check_stop_and_return(c: Client, mode: str, env: dict[str, Any]) -> str:
    changes: Changes = env["changes"]
    node_c: NodeC = env["c"]
    stopped = time.monotonic()
    node_c.stop()
    gone_after = await until_tools(c, False, "C's tools leave A's list")
    deadline = stopped + 2 * HEARTBEAT + 1.0
    while not changes.since(stopped) and time.monotonic() < deadline:
        await anyio.sleep(0.05)
    told = changes.since(stopped)
    expect(told, f"no tools/list_changed within {deadline - stopped:.1f}s of C stopping")
    expect(told[0] <= 2 * HEARTBEAT, f"tools/list_changed {told[0]:.2f}s after C stopped (heartbeat {HEARTBEAT}s)")
    restarted = time.monotonic()
    node_c.start()
    back_after = await until_tools(c, True, "C's tools come back to A's list", within=60.0)
    deadline = time.monotonic() + 10
    while not changes.since(restarted) and time.monotonic() < deadline:
        await anyio.sleep(0.05)
    expect(changes.since(restarted), "no tools/list_changed when C came back")
    return (
        f"C stopped: list_changed after {told[0]:.2f}s, gone from the list after {gone_after:.2f}s; "
        f"C started: back after {back_after:.2f}s"
    )


CHECKS = (
    ("C's tools listed on A", check_listed),
    ("progress A -> B -> C", check_progress),
    ("cancellation A -> B -> C", check_cancellation),
    ("shared context A <-> C", check_context),
    ("C stops, and comes back", check_stop_and_return),
)


async def run_mode(url: str, env: dict[str, Any], mode: str, report: list[int]) -> None:
    changes = Changes()
    env["changes"] = changes
    try:
        async with Client(url, mode=mode, read_timeout_seconds=CALL_TIMEOUT, message_handler=changes.on_message) as c:
            async with anyio.create_task_group() as tg:
                if mode != "legacy":
                    tg.start_soon(changes.listen, c)
                await until_tools(c, True, "C's tools listed on A")
                for label, check in CHECKS:
                    try:
                        detail = await check(c, mode, env)
                        report[0] += 1
                        print(f"PASS [nodes {mode}] {label}: {detail}", flush=True)
                    except Exception as exc:  # noqa: BLE001 - every failure is reported
                        report[1] += 1
                        print(f"FAIL [nodes {mode}] {label}: {type(exc).__name__}: {exc}", flush=True)
                tg.cancel_scope.cancel()
    except Exception as exc:  # noqa: BLE001
        report[1] += 1
        print(f"FAIL [nodes {mode}] connect: {type(exc).__name__}: {exc}", flush=True)


def main() -> int:
    separator = sys.argv.index("--")
    url, b_base, c_port, c_log = sys.argv[1:separator]
    node_c = NodeC(sys.argv[separator + 1 :], int(c_port), c_log)
    report = [0, 0]

    def watchdog() -> None:
        print(f"FAIL watchdog: the run took more than {WATCHDOG:.0f}s", flush=True)
        print(f"{report[0]} passed, {report[1] + 1} failed", flush=True)
        node_c.stop()
        import os

        os._exit(1)

    timer = threading.Timer(WATCHDOG, watchdog)
    timer.daemon = True
    timer.start()
    try:
        node_c.start()
    except Failure as exc:
        print(f"FAIL [nodes] start C: {exc}", flush=True)
        print(f"{report[0]} passed, {report[1] + 1} failed", flush=True)
        return 1
    try:
        for mode in MODES:
            anyio.run(run_mode, url, {"b": b_base, "c": node_c}, mode, report)
    finally:
        node_c.stop()
        timer.cancel()
    print(f"{report[0]} passed, {report[1]} failed", flush=True)
    return 0 if report[1] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
