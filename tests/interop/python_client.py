#!/usr/bin/env python3
"""Interop test: the official Python MCP SDK client (`mcp==2.3.0`) drives `tenet serve`.

Usage: python tests/interop/python_client.py <path-to-tenet-binary>

Run through `scripts/interop-python`, which creates the venv and installs the SDK.

The SDK's `mcp.Client` launches `<bin> serve --log-level warn` over stdio three times,
once per connection mode:

- `legacy`      the initialize handshake (the SDK offers 2025-11-25);
- `2026-07-28`  pinned modern version: no handshake, every request carries the
                per-request `_meta` (protocolVersion, clientCapabilities, ...);
- `auto`        the SDK probes `server/discover` and must settle on 2026-07-28.

In each mode the same checks run (tools, structured output, input validation,
unknown tool, resources, prompts, completion, progress). One line is printed per
check, then a final line exactly `N passed, M failed` (CI parses it). The exit
status is 0 only when nothing failed. Every request is bounded by a timeout, each
mode by an overall deadline, and the whole run by a watchdog, so it cannot hang.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import threading
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from mcp import Client, MCPError, StdioServerParameters
from mcp.types import PromptReference

if sys.version_info < (3, 11):  # the SDK supports 3.10, where anyio brings the backport
    from exceptiongroup import BaseExceptionGroup

CALL_TIMEOUT = 20.0  # seconds, per request
MODE_TIMEOUT = 120.0  # seconds, per mode: connect, all checks, shutdown
WATCHDOG = 420.0  # seconds, for the whole run (a last resort)

MODES = ("legacy", "2026-07-28", "auto")
INVALID_PARAMS = -32602

# The checks each mode runs, in order; a mode that dies early fails the rest.
CHECKS = (
    "connect",
    "protocol version",
    "tools/list",
    "echo",
    "add structuredContent",
    "echo wrong-typed argument",
    "unknown tool",
    "resources/list",
    "resources/read tenet://about",
    "prompts/list",
    "prompts/get greet",
    "completion/complete",
    "countdown progress",
    "disconnect",
)


class Failure(Exception):
    """A check's expectation was not met."""


class Report:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0
        self.lock = threading.Lock()

    def ok(self, mode: str, check: str, detail: str = "") -> None:
        with self.lock:
            self.passed += 1
        print(f"PASS [{mode}] {check}{': ' + detail if detail else ''}", flush=True)

    def fail(self, mode: str, check: str, detail: str) -> None:
        with self.lock:
            self.failed += 1
        print(f"FAIL [{mode}] {check}: {detail}", flush=True)

    def summary(self) -> str:
        with self.lock:
            return f"{self.passed} passed, {self.failed} failed"


REPORT = Report()


def expect(cond: bool, message: str) -> None:
    if not cond:
        raise Failure(message)


def describe(exc: BaseException) -> str:
    exc = unwrap(exc)
    if isinstance(exc, MCPError):
        return f"MCPError {exc.code}: {exc.message}" + (f" data={exc.data!r}" if exc.data is not None else "")
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return f"timed out ({exc!r})"
    text = str(exc).strip().replace("\n", " | ")
    return f"{type(exc).__name__}: {text[:600]}"


def unwrap(exc: BaseException) -> BaseException:
    """The single leaf of (nested) exception groups from anyio task groups, if there is one."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


async def bounded(awaitable: Awaitable[Any], what: str) -> Any:
    try:
        return await asyncio.wait_for(awaitable, CALL_TIMEOUT)
    except asyncio.TimeoutError as exc:
        raise Failure(f"{what} did not answer within {CALL_TIMEOUT:.0f}s") from exc


def text_of(content: list[Any]) -> str:
    return "\n".join(getattr(block, "text", "") or "" for block in content)


# --- the checks ----------------------------------------------------------------------


async def check_protocol_version(c: Client, mode: str) -> str:
    version = c.protocol_version
    if mode == "legacy":
        expect(version == "2025-11-25", f"negotiated {version!r}, expected '2025-11-25' (what the SDK offers)")
        expect(c.session.initialize_result is not None, "no InitializeResult recorded")
    else:
        expect(version == "2026-07-28", f"negotiated {version!r}, expected '2026-07-28'")
        if mode == "auto":
            discovered = c.session.discover_result
            expect(discovered is not None, "auto mode did not adopt a server/discover result (fell back to initialize?)")
            expect(
                "2026-07-28" in discovered.supported_versions,
                f"server/discover supportedVersions={discovered.supported_versions!r} lacks 2026-07-28",
            )
    info = c.server_info
    who = f"{info.name} {info.version}" if info is not None else "(server did not identify itself)"
    how = {"legacy": "initialize", "auto": "server/discover"}.get(mode, "pinned, no handshake")
    return f"{version} ({how}), server {who}"


async def check_tools_list(c: Client, mode: str) -> str:
    result = await bounded(c.list_tools(), "tools/list")
    names = sorted(t.name for t in result.tools)
    missing = {"echo", "add", "countdown"} - set(names)
    expect(not missing, f"missing tools {sorted(missing)}; got {names}")
    return ", ".join(names)


async def check_echo(c: Client, mode: str) -> str:
    result = await bounded(c.call_tool("echo", {"text": "hi"}), "tools/call echo")
    expect(not result.is_error, f"isError is true: {text_of(result.content)!r}")
    got = text_of(result.content)
    expect(got == "hi", f"text is {got!r}, expected 'hi'")
    return repr(got)


async def check_add(c: Client, mode: str) -> str:
    result = await bounded(c.call_tool("add", {"a": 2, "b": 3}), "tools/call add")
    expect(not result.is_error, f"isError is true: {text_of(result.content)!r}")
    structured = result.structured_content
    expect(isinstance(structured, dict), f"structuredContent is {structured!r}, expected an object")
    expect(structured.get("sum") == 5, f"structuredContent.sum is {structured.get('sum')!r}, expected 5")
    return f"structuredContent={structured}"


async def check_echo_wrong_type(c: Client, mode: str) -> str:
    try:
        result = await bounded(c.call_tool("echo", {"text": 42}), "tools/call echo (wrong type)")
    except MCPError as exc:
        raise Failure(
            f"raised {describe(exc)}; an input-validation failure must be a tool result with isError: true"
        ) from exc
    message = text_of(result.content)
    expect(result.is_error is True, f"isError is {result.is_error!r}, expected true (content {message!r})")
    expect(
        re.search(r"(?<![A-Za-z0-9_])text(?![A-Za-z0-9_])", message) is not None,
        f"error message does not name the field `text`: {message!r}",
    )
    return f"isError, {message!r}"


async def check_unknown_tool(c: Client, mode: str) -> str:
    try:
        result = await bounded(c.call_tool("no_such_tool", {}), "tools/call no_such_tool")
    except MCPError as exc:
        expect(exc.code == INVALID_PARAMS, f"error code {exc.code} ({exc.message!r}), expected {INVALID_PARAMS}")
        return f"MCPError {exc.code}: {exc.message}"
    raise Failure(
        f"no error raised; got a result (isError={result.is_error!r}, {text_of(result.content)!r}),"
        f" expected a JSON-RPC error {INVALID_PARAMS}"
    )


async def check_resources_list(c: Client, mode: str) -> str:
    result = await bounded(c.list_resources(), "resources/list")
    uris = [str(r.uri) for r in result.resources]
    expect("tenet://about" in uris, f"tenet://about not listed; got {uris}")
    return ", ".join(uris)


async def check_resources_read(c: Client, mode: str) -> str:
    result = await bounded(c.read_resource("tenet://about"), "resources/read")
    expect(len(result.contents) >= 1, "no contents")
    first = result.contents[0]
    expect(str(first.uri) == "tenet://about", f"contents[0].uri is {str(first.uri)!r}")
    text = getattr(first, "text", None)
    expect(isinstance(text, str) and "Tenet" in text, f"contents[0].text is {text!r}, expected text mentioning Tenet")
    return f"{first.mime_type or 'no mimeType'}, {len(text)} chars"


async def check_prompts_list(c: Client, mode: str) -> str:
    result = await bounded(c.list_prompts(), "prompts/list")
    names = [p.name for p in result.prompts]
    expect("greet" in names, f"greet not listed; got {names}")
    greet = next(p for p in result.prompts if p.name == "greet")
    args = [a.name for a in greet.arguments or []]
    expect("name" in args, f"greet has arguments {args}, expected `name`")
    return ", ".join(names)


async def check_prompts_get(c: Client, mode: str) -> str:
    result = await bounded(c.get_prompt("greet", {"name": "Ada"}), "prompts/get")
    expect(len(result.messages) >= 1, "no messages")
    text = getattr(result.messages[0].content, "text", None)
    expect(isinstance(text, str) and "Ada" in text, f"messages[0] text is {text!r}, expected it to mention Ada")
    return repr(text)


async def check_complete(c: Client, mode: str) -> str:
    result = await bounded(
        c.complete(PromptReference(type="ref/prompt", name="greet"), {"name": "name", "value": "A"}),
        "completion/complete",
    )
    values = list(result.completion.values)
    expect({"Ada", "Alan"} <= set(values), f"values {values}, expected Ada and Alan")
    expect(not {"Grace", "Linus"} & set(values), f"values {values} include names not starting with A")
    return f"values={values}"


async def check_countdown(c: Client, mode: str) -> str:
    updates: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        updates.append((progress, total, message))

    result = await bounded(
        c.call_tool("countdown", {"steps": 3, "step_ms": 10}, progress_callback=on_progress),
        "tools/call countdown",
    )
    expect(not result.is_error, f"isError is true: {text_of(result.content)!r}")
    got = text_of(result.content)
    expect(got == "counted down 3 steps", f"text is {got!r}")
    # The SDK runs progress callbacks as tasks: give the ones already received a moment to run.
    with anyio.move_on_after(1.0):
        while not updates:
            await anyio.sleep(0.01)
    expect(len(updates) >= 1, "no notifications/progress arrived for the call's progressToken")
    return f"{len(updates)} progress notifications: {[u[0] for u in updates]}"


CHECK_FNS: dict[str, Callable[[Client, str], Awaitable[str]]] = {
    "protocol version": check_protocol_version,
    "tools/list": check_tools_list,
    "echo": check_echo,
    "add structuredContent": check_add,
    "echo wrong-typed argument": check_echo_wrong_type,
    "unknown tool": check_unknown_tool,
    "resources/list": check_resources_list,
    "resources/read tenet://about": check_resources_read,
    "prompts/list": check_prompts_list,
    "prompts/get greet": check_prompts_get,
    "completion/complete": check_complete,
    "countdown progress": check_countdown,
}


# --- driver -------------------------------------------------------------------------


async def run_mode(binary: str, mode: str) -> None:
    params = StdioServerParameters(command=binary, args=["serve", "--demo", "--log-level", "warn"])
    recorded: set[str] = set()
    current = "connect"

    def ok(name: str, detail: str = "") -> None:
        recorded.add(name)
        REPORT.ok(mode, name, detail)

    def fail(name: str, detail: str) -> None:
        recorded.add(name)
        REPORT.fail(mode, name, detail)

    try:
        with anyio.fail_after(MODE_TIMEOUT):
            async with Client(params, mode=mode, read_timeout_seconds=CALL_TIMEOUT) as client:
                ok("connect")
                for current in CHECKS[1:-1]:
                    try:
                        detail = await CHECK_FNS[current](client, mode)
                    except Failure as exc:
                        fail(current, str(exc))
                    except Exception as exc:  # an SDK exception is a failed check, not a crash
                        fail(current, describe(exc))
                    else:
                        ok(current, detail)
                current = "disconnect"
        ok("disconnect", "stdin closed, server process gone")
    except BaseException as exc:  # connect failed, deadline hit, or the connection died
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        leaf = unwrap(exc)
        if isinstance(leaf, TimeoutError) and not str(leaf):
            reason = f"the mode's {MODE_TIMEOUT:.0f}s deadline passed"
        else:
            reason = describe(leaf)
        print(f"ERROR [{mode}] aborted during {current!r}: {reason}", flush=True)
        if os.environ.get("INTEROP_DEBUG"):
            traceback.print_exception(unwrap(exc))
        if current not in recorded:
            fail(current, reason)
        for name in CHECKS:
            if name not in recorded:
                fail(name, f"not run: the mode was aborted during {current!r}")


def start_watchdog() -> None:
    def fire() -> None:
        print(f"FAIL [all] watchdog: the run took longer than {WATCHDOG:.0f}s; aborting", flush=True)
        REPORT.fail("all", "watchdog", "aborted")
        print(REPORT.summary(), flush=True)
        os._exit(1)

    timer = threading.Timer(WATCHDOG, fire)
    timer.daemon = True
    timer.start()


async def main(binary: str) -> int:
    for mode in MODES:
        print(f"--- mode {mode}", flush=True)
        await run_mode(binary, mode)
    print(REPORT.summary(), flush=True)
    return 0 if REPORT.failed == 0 else 1


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(f"usage: {sys.argv[0]} <path-to-tenet-binary>", file=sys.stderr)
        sys.exit(2)
    bin_path = os.path.abspath(sys.argv[1])
    if not (os.path.isfile(bin_path) and os.access(bin_path, os.X_OK)):
        print(f"not an executable file: {bin_path}", file=sys.stderr)
        print("0 passed, 1 failed", flush=True)
        sys.exit(2)
    start_watchdog()
    sys.exit(asyncio.run(main(bin_path)))
