#!/usr/bin/env python3
"""Interop test: the official Python MCP SDK client (`mcp==2.3.0`) drives `tenet serve` as a
gateway, in the legacy era (initialize) and in the 2026-07-28 era.

Usage: python tests/interop/gateway_client.py GATEWAY_URL

Run through `scripts/interop-gateway`, which starts the gateway in front of four real
upstreams and passes its URL:

- `ev`   @modelcontextprotocol/server-everything over stdio (the gateway runs it);
- `evh`  the same server over Streamable HTTP;
- `py`   a Python SDK server (tests/interop/python_server.py), pinned to the legacy era;
- `fx`   Tenet's conformance fixture, pinned to 2026-07-28 (its questions come back as
         input-required rounds).

In each era the client lists and calls tools of every upstream and the knowledge server's
own, has an argument refused at the gateway, gets progress, answers sampling, elicitation
and roots requests that upstreams make in the middle of a call (where the eras can meet;
where they cannot, the error must name the upstream; roots in the legacy era only), cancels a long call and reads the
gateway's `/upstreams` to see the upstream call cancelled, and lists, reads, gets and
completes resources, templates and prompts under their namespaced names.

One line is printed per check, then exactly `N passed, M failed`; the exit status is 0
only when nothing failed. Every request is bounded by a timeout and the run by a watchdog.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from mcp import Client, MCPError
from mcp.types import (
    CreateMessageResult,
    ElicitResult,
    ListRootsResult,
    PromptReference,
    Root,
    TextContent,
)

CALL_TIMEOUT = 30.0  # seconds, per request
WATCHDOG = 300.0  # seconds, for the whole run
MODES = ("legacy", "2026-07-28")
SAMPLED = "a sampled answer from the Python client"
ROOT = "file:///work/tenet-interop-root"


class Failure(Exception):
    """A check's expectation was not met."""


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise Failure(message)


def text_of(content: list[Any]) -> str:
    return "\n".join(getattr(block, "text", "") or "" for block in content)


async def bounded(awaitable: Awaitable[Any], what: str) -> Any:
    try:
        return await asyncio.wait_for(awaitable, CALL_TIMEOUT)
    except asyncio.TimeoutError as exc:
        raise Failure(f"{what} did not answer within {CALL_TIMEOUT:.0f}s") from exc


async def call_text(c: Client, tool: str, arguments: dict[str, Any], **kw: Any) -> str:
    result = await bounded(c.call_tool(tool, arguments, **kw), f"tools/call {tool}")
    expect(not result.is_error, f"{tool}: isError: {text_of(result.content)[:300]!r}")
    return text_of(result.content)


async def refused(c: Client, tool: str, arguments: dict[str, Any]) -> str:
    """The text of the tool error or JSON-RPC error a call ends with (a failure if it succeeds)."""
    try:
        result = await bounded(c.call_tool(tool, arguments), f"tools/call {tool}")
    except MCPError as error:
        return f"{error.code}: {error}"
    expect(bool(result.is_error), f"{tool} succeeded: {text_of(result.content)[:200]!r}")
    return text_of(result.content)


# --- what the client answers when an upstream asks -------------------------------------

asked: dict[str, int] = {"sampling": 0, "elicitation": 0, "roots": 0}


async def on_sampling(context: Any, params: Any) -> CreateMessageResult:
    asked["sampling"] += 1
    return CreateMessageResult(role="assistant", content=TextContent(type="text", text=SAMPLED), model="interop")


async def on_elicitation(context: Any, params: Any) -> ElicitResult:
    asked["elicitation"] += 1
    properties = dict((getattr(params, "requested_schema", None) or {}).get("properties", {}))
    content: dict[str, Any] = {}
    for key, schema in properties.items():
        kind = schema.get("type")
        if "enum" in schema:
            content[key] = schema["enum"][0]
        elif "oneOf" in schema:
            content[key] = schema["oneOf"][0].get("const")
        elif kind == "boolean":
            content[key] = True
        elif kind in ("integer", "number"):
            content[key] = 7
        elif schema.get("format") == "email" or key == "email":
            content[key] = "ada@example.com"
        else:
            content[key] = "ada"
    return ElicitResult(action="accept", content=content)


async def on_roots(context: Any) -> ListRootsResult:
    asked["roots"] += 1
    return ListRootsResult(roots=[Root(uri=ROOT, name="interop")])


# --- the checks ------------------------------------------------------------------------


async def check_version(c: Client, mode: str, base: str) -> str:
    wanted = "2025-11-25" if mode == "legacy" else "2026-07-28"
    expect(c.protocol_version == wanted, f"negotiated {c.protocol_version!r}, expected {wanted!r}")
    return c.protocol_version


async def check_tools(c: Client, mode: str, base: str) -> str:
    result = await bounded(c.list_tools(), "tools/list")
    names = {t.name for t in result.tools}
    wanted = {"get_stdlib", "ev__echo", "ev__get-sum", "evh__echo", "py__add", "py__echo", "fx__test_sampling"}
    expect(wanted <= names, f"missing {sorted(wanted - names)}; got {sorted(names)[:40]}")
    bad = sorted(n for n in names if not all(ch.isalnum() or ch in "_-." for ch in n) or len(n) > 128)
    expect(not bad, f"names outside the spec's tool-name rules: {bad}")
    return f"{len(names)} tools from four upstreams and the knowledge server"


async def check_calls(c: Client, mode: str, base: str) -> str:
    local = await call_text(c, "get_stdlib", {"language": "rust", "domain": "testing"})
    expect(len(local) > 100, f"get_stdlib answered {local[:100]!r}")
    got = [
        await call_text(c, "ev__get-sum", {"a": 2, "b": 3}),
        await call_text(c, "evh__echo", {"message": "hi"}),
        await call_text(c, "py__add", {"a": 2, "b": 3}),
        await call_text(c, "py__echo", {"message": "hi"}),
    ]
    expect("5" in got[0], f"ev__get-sum answered {got[0]!r}")
    expect(got[1] == "Echo: hi", f"evh__echo answered {got[1]!r}")
    expect(got[2] == "5", f"py__add answered {got[2]!r}")
    expect(got[3] == "Echo: hi", f"py__echo answered {got[3]!r}")
    return "; ".join(g.replace("\n", " ")[:40] for g in got)


async def check_arguments(c: Client, mode: str, base: str) -> str:
    # The gateway's own refusal (checked against the schema it compiled), naming the field.
    message = await refused(c, "evh__get-sum", {"a": "two", "b": 3})
    expect("Invalid arguments for tool evh__get-sum" in message, f"not the gateway's refusal: {message[:300]!r}")
    expect("/a" in message and "number" in message, f"the refusal does not name the field: {message[:300]!r}")
    return message[:120]


async def check_progress(c: Client, mode: str, base: str) -> str:
    seen: dict[str, list[float]] = {}
    for tool in ("ev__trigger-long-running-operation", "evh__trigger-long-running-operation"):
        updates: list[float] = []

        async def on_progress(progress: float, total: float | None, message: str | None, into=updates) -> None:
            into.append(progress)

        await call_text(c, tool, {"duration": 1, "steps": 3}, progress_callback=on_progress)
        await anyio.sleep(0.2)  # the SDK runs progress callbacks as tasks
        expect(len(updates) >= 2, f"{tool}: {len(updates)} progress notifications")
        seen[tool.split("__")[0]] = updates
    return ", ".join(f"{k}: {v}" for k, v in seen.items())


async def check_sampling(c: Client, mode: str, base: str) -> str:
    before = asked["sampling"]
    got = await call_text(c, "fx__test_sampling", {"prompt": "Say something"})
    expect(SAMPLED in got, f"fx__test_sampling answered {got!r}")
    if mode == "legacy":
        legacy = await call_text(c, "ev__trigger-sampling-request", {"prompt": "Say something", "maxTokens": 20})
        expect(SAMPLED in legacy, f"ev__trigger-sampling-request answered {legacy[:300]!r}")
        expect(asked["sampling"] - before == 2, f"the sampling callback ran {asked['sampling'] - before} times")
        return "answered for a 2026-07-28 upstream (fx) and a legacy one (ev)"
    # A legacy upstream's request in the middle of a call cannot reach a 2026-07-28 client.
    message = await refused(c, "ev__trigger-sampling-request", {"prompt": "Say something", "maxTokens": 20})
    expect("ev" in message, f"the refusal does not name the upstream: {message[:300]!r}")
    return f"answered for fx; ev refused: {message[:100]!r}"


async def check_elicitation(c: Client, mode: str, base: str) -> str:
    before = asked["elicitation"]
    got = await call_text(c, "fx__test_elicitation", {"message": "Who are you?"})
    expect("accept" in got and "ada" in got, f"fx__test_elicitation answered {got!r}")
    if mode == "legacy":
        legacy = await call_text(c, "evh__trigger-elicitation-request", {})
        expect("accept" in legacy, f"evh__trigger-elicitation-request answered {legacy[:300]!r}")
        expect(asked["elicitation"] - before == 2, f"the elicitation callback ran {asked['elicitation'] - before} times")
    return got[:80]


async def check_roots(c: Client, mode: str, base: str) -> str:
    # Legacy clients only: server-everything keeps the roots it got per session, and the
    # gateway keeps one session per caller there; without authorization every client here is
    # one caller (its address), so a later client would read this one's
    # (tests/interop/gateway_callers.py has two callers).
    got = await call_text(c, "ev__get-roots-list", {})
    expect(ROOT in got, f"ev__get-roots-list answered {got[:300]!r}")
    return "the upstream saw this client's root"


def cancelled_calls(base: str, upstream: str) -> int:
    with urllib.request.urlopen(f"{base}/upstreams", timeout=5) as response:
        status = json.load(response)
    for entry in status["upstreams"]:
        if entry["name"] == upstream:
            return int(entry["calls"]["cancelled"])
    raise Failure(f"/upstreams does not list {upstream}")


async def check_cancellation(c: Client, mode: str, base: str) -> str:
    before = cancelled_calls(base, "evh")
    started = time.monotonic()
    with anyio.move_on_after(1.5):
        await c.call_tool("evh__trigger-long-running-operation", {"duration": 30, "steps": 30})
        raise Failure("the 30 s call finished before it was cancelled")
    expect(time.monotonic() - started < 5, "the cancelled call did not return at once")
    deadline = time.monotonic() + 10
    while cancelled_calls(base, "evh") == before:
        expect(time.monotonic() < deadline, "/upstreams never counted the upstream call as cancelled")
        await anyio.sleep(0.1)
    # The connection goes on serving.
    got = await call_text(c, "evh__echo", {"message": "after"})
    expect(got == "Echo: after", f"evh__echo after the cancel answered {got!r}")
    return "the call ended at once, /upstreams counts it as cancelled, and the connection goes on"


async def check_resources(c: Client, mode: str, base: str) -> str:
    listed = await bounded(c.list_resources(), "resources/list")
    uris = [str(r.uri) for r in listed.resources]
    expect(any(u.startswith("tenet://ev/") for u in uris), f"no tenet://ev/ resource in {uris[:20]}")
    greeting = "tenet://py/interop://greeting"
    expect(greeting in uris, f"{greeting} not listed: {uris[:20]}")
    read = await bounded(c.read_resource(greeting), f"resources/read {greeting}")
    body = "".join(getattr(x, "text", "") or "" for x in read.contents)
    expect(body == "Hello from Python", f"{greeting} read {body!r}")
    expect(all(str(x.uri) == greeting for x in read.contents), "the contents are not named by the gateway's URI")
    templates = await bounded(c.list_resource_templates(), "resources/templates/list")
    names = [t.uri_template for t in templates.resource_templates]
    expect(any(t.startswith("tenet://ev/") for t in names), f"no tenet://ev/ template in {names}")
    return f"{len(uris)} resources, {len(names)} templates; read {greeting}"


async def check_prompts(c: Client, mode: str, base: str) -> str:
    listed = await bounded(c.list_prompts(), "prompts/list")
    names = {p.name for p in listed.prompts}
    wanted = {"ev__simple-prompt", "ev__args-prompt", "py__greet", "standards_brief"}
    expect(wanted <= names, f"missing {sorted(wanted - names)}; got {sorted(names)}")
    got = await bounded(c.get_prompt("ev__args-prompt", {"city": "Paris"}), "prompts/get ev__args-prompt")
    text = " ".join(getattr(m.content, "text", "") for m in got.messages)
    expect("Paris" in text, f"ev__args-prompt gave {text!r}")
    got = await bounded(c.get_prompt("py__greet", {"name": "Ada"}), "prompts/get py__greet")
    text = " ".join(getattr(m.content, "text", "") for m in got.messages)
    expect("Ada" in text, f"py__greet gave {text!r}")
    return f"{len(names)} prompts; got two"


async def check_completion(c: Client, mode: str, base: str) -> str:
    ref = PromptReference(type="ref/prompt", name="ev__completable-prompt")
    result = await bounded(c.complete(ref, {"name": "department", "value": "E"}), "completion/complete")
    values = result.completion.values
    expect(values == ["Engineering"], f"completed to {values}")
    return f"department 'E' -> {values}"


CHECKS: tuple[tuple[str, Callable[[Client, str, str], Awaitable[str]]], ...] = (
    ("protocol version", check_version),
    ("tools/list", check_tools),
    ("tools/call on every upstream and the local tools", check_calls),
    ("arguments checked at the gateway", check_arguments),
    ("progress (stdio and HTTP upstreams)", check_progress),
    ("sampling", check_sampling),
    ("elicitation", check_elicitation),
    ("roots", check_roots),
    ("cancellation", check_cancellation),
    ("resources and templates", check_resources),
    ("prompts", check_prompts),
    ("completion", check_completion),
)


async def run_mode(url: str, base: str, mode: str, report: list[int]) -> None:
    record = recorder(f"gateway {mode}", report)
    try:
        async with Client(
            url,
            mode=mode,
            read_timeout_seconds=CALL_TIMEOUT,
            sampling_callback=on_sampling,
            elicitation_callback=on_elicitation,
            list_roots_callback=on_roots,
        ) as c:
            for label, check in CHECKS:
                if check is check_roots and mode != "legacy":
                    continue
                try:
                    record(label, await check(c, mode, base))
                except Exception as exc:  # noqa: BLE001 - every failure is reported
                    record(label, exc)
    except Exception as exc:  # noqa: BLE001
        record("connect", exc)


def watchdog(seconds: float, report: list[int]) -> threading.Timer:
    """Started: ends the process as failed, with its totals, if the run takes longer than
    `seconds` (`report` holds the counts passed and failed so far)."""

    def expired() -> None:
        print(f"FAIL watchdog: the run took more than {seconds:.0f}s", flush=True)
        print(f"{report[0]} passed, {report[1] + 1} failed", flush=True)
        sys.stdout.flush()
        import os

        os._exit(1)

    timer = threading.Timer(seconds, expired)
    timer.daemon = True
    timer.start()
    return timer


def recorder(label: str, report: list[int]) -> Callable[[str, Exception | str], None]:
    """What records one check's outcome under `label`: an exception fails it, a string
    is what it found; each a line, counted in `report`."""

    def record(check: str, outcome: Exception | str) -> None:
        if isinstance(outcome, Exception):
            report[1] += 1
            print(f"FAIL [{label}] {check}: {type(outcome).__name__}: {outcome}", flush=True)
        else:
            report[0] += 1
            print(f"PASS [{label}] {check}: {outcome}", flush=True)

    return record


def run_checks(label: str, run: Callable[..., Awaitable[None]], *args: Any, seconds: float) -> int:
    """Runs `run(*args, report)` under a watchdog of `seconds`, where `report` counts the
    checks passed and failed; a failure to connect at all counts as one more. Prints the
    totals; the exit status: 0 only when nothing failed."""
    report = [0, 0]
    timer = watchdog(seconds, report)
    try:
        anyio.run(run, *args, report)
    except Exception as exc:  # noqa: BLE001 - every failure is reported
        report[1] += 1
        print(f"FAIL [{label}] connect: {type(exc).__name__}: {exc}", flush=True)
    timer.cancel()
    print(f"{report[0]} passed, {report[1]} failed", flush=True)
    return 0 if report[1] == 0 else 1


def main() -> int:
    url = sys.argv[1]
    base = url.rsplit("/mcp", 1)[0]
    report = [0, 0]
    timer = watchdog(WATCHDOG, report)
    for mode in MODES:
        anyio.run(run_mode, url, base, mode, report)
    timer.cancel()
    print(f"{report[0]} passed, {report[1]} failed", flush=True)
    return 0 if report[1] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
