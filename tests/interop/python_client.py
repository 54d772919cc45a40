#!/usr/bin/env python3
"""Interop test: the official Python MCP SDK client (`mcp==2.3.0`) drives `tenet serve`.

Usage: python tests/interop/python_client.py <path-to-tenet-binary>

Run through `scripts/interop-python`, which creates the venv and installs the SDK.

The SDK's `mcp.Client` launches `<bin> serve --demo --log-level warn` over stdio three
times, once per connection mode:

- `legacy`      the initialize handshake (the SDK offers 2025-11-25);
- `2026-07-28`  pinned modern version: no handshake, every request carries the
                per-request `_meta` (protocolVersion, clientCapabilities, ...);
- `auto`        the SDK probes `server/discover` and must settle on 2026-07-28.

In each mode the same checks run (tools, structured output, input validation,
unknown tool, resources, prompts, completion, progress).

A fourth block starts the knowledge server (`<bin> serve --log-level warn`, no `--demo`:
the built-in corpus of standards) in modes `auto` and `legacy`, and calls get_stdlib
(rust, testing), search_stdlib and list_stdlib, reads stdlib://rust/testing and gets
the prompt standards_brief(rust); the SDK validates each tool's structuredContent
against its outputSchema.

One line is printed per
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

# The knowledge server (no --demo), in these modes, with these checks.
KNOWLEDGE_MODES = ("auto", "legacy")
KNOWLEDGE_CHECKS = (
    "connect",
    "protocol version",
    "tools/list knowledge",
    "get_stdlib rust testing",
    "search_stdlib",
    "list_stdlib",
    "resources/read stdlib://rust/testing",
    "prompts/get standards_brief",
    "disconnect",
)
LANGUAGES = ("python", "go", "javascript", "typescript", "rust")


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


# --- the knowledge server's checks -------------------------------------------------


async def check_knowledge_tools(c: Client, mode: str) -> str:
    result = await bounded(c.list_tools(), "tools/list")
    tools = {t.name: t for t in result.tools}
    for name in ("get_stdlib", "search_stdlib", "list_stdlib"):
        expect(name in tools, f"{name} not listed; got {sorted(tools)}")
        tool = tools[name]
        expect(bool(tool.description), f"{name} has no description")
        expect(tool.output_schema is not None, f"{name} has no outputSchema")
        hints = tool.annotations
        expect(
            hints is not None and hints.read_only_hint is True and hints.idempotent_hint is True,
            f"{name} annotations {hints!r}: expected readOnlyHint and idempotentHint true",
        )
    expect("echo" not in tools, f"the demo tools are served without --demo: {sorted(tools)}")
    return ", ".join(sorted(tools))


async def check_get_stdlib(c: Client, mode: str) -> str:
    result = await bounded(c.call_tool("get_stdlib", {"language": "rust", "domain": "testing"}), "get_stdlib")
    expect(not result.is_error, f"isError is true: {text_of(result.content)!r}")
    s = result.structured_content
    expect(isinstance(s, dict), f"structuredContent is {s!r}, expected an object")
    expect(s.get("found") is True, f"found is {s.get('found')!r}")
    key = f"{s.get('language')}/{s.get('domain')}"
    expect(key == "rust/testing", f"key is {key}, expected rust/testing")
    uris = [d.get("uri") for d in s.get("documents") or []]
    expect(uris == ["stdlib://all/testing", "stdlib://rust/testing"], f"documents {uris}, expected the base then rust")
    expect(all(d.get("root") == "builtin" for d in s["documents"]), f"provenance {s['documents']!r}")
    content = s.get("content") or ""
    expect(content.startswith("# "), f"content does not start with a heading: {content[:80]!r}")
    expect(text_of(result.content).startswith(content[:200]), "the text block is not the content")
    expect(isinstance(s.get("last_updated"), str), f"last_updated is {s.get('last_updated')!r}")
    return f"{s.get('title')!r}, {s.get('tokens')} tokens, {s.get('remaining_tokens')} remaining, {len(uris)} documents"


async def check_search_stdlib(c: Client, mode: str) -> str:
    result = await bounded(
        c.call_tool("search_stdlib", {"query": "sql injection", "domain": "security"}), "search_stdlib"
    )
    expect(not result.is_error, f"isError is true: {text_of(result.content)!r}")
    s = result.structured_content
    expect(isinstance(s, dict), f"structuredContent is {s!r}, expected an object")
    hits = s.get("results") or []
    expect(len(hits) >= 1, "no results for 'sql injection' in security")
    for hit in hits:
        for field in ("language", "domain", "title", "uri", "section", "snippet", "score", "updatedAt"):
            expect(field in hit, f"a hit without {field}: {hit!r}")
        expect(hit["domain"] == "security", f"a hit outside the domain filter: {hit!r}")
        expect(str(hit["uri"]).startswith("stdlib://"), f"uri {hit['uri']!r}")
    scores = [h["score"] for h in hits]
    expect(scores == sorted(scores, reverse=True), f"not ordered by score: {scores}")
    return f"{len(hits)} hits, best {hits[0]['uri']}#{hits[0]['section']}"


async def check_list_stdlib(c: Client, mode: str) -> str:
    result = await bounded(c.call_tool("list_stdlib", {}), "list_stdlib")
    expect(not result.is_error, f"isError is true: {text_of(result.content)!r}")
    s = result.structured_content
    expect(isinstance(s, dict), f"structuredContent is {s!r}, expected an object")
    languages = s.get("languages") or []
    missing = [lang for lang in LANGUAGES if lang not in languages]
    expect(not missing, f"languages {languages} lack {missing}")
    entries = s.get("entries") or []
    expect(len(entries) >= 25, f"{len(entries)} entries, expected 25 or more")
    for entry in entries:
        expect(isinstance(entry.get("documents"), int) and entry["documents"] >= 1, f"entry {entry!r}")
    return f"{len(languages)} languages, {len(entries)} entries"


async def check_read_standard(c: Client, mode: str) -> str:
    result = await bounded(c.read_resource("stdlib://rust/testing"), "resources/read")
    expect(len(result.contents) == 1, f"{len(result.contents)} contents, expected 1")
    first = result.contents[0]
    expect(str(first.uri) == "stdlib://rust/testing", f"contents[0].uri is {str(first.uri)!r}")
    expect(first.mime_type == "text/markdown", f"mimeType is {first.mime_type!r}")
    text = getattr(first, "text", None)
    expect(isinstance(text, str) and text.startswith("# ") and "\n## " in text, f"not Markdown: {str(text)[:80]!r}")
    return f"{len(text)} chars of Markdown"


async def check_standards_brief(c: Client, mode: str) -> str:
    result = await bounded(c.get_prompt("standards_brief", {"language": "rust"}), "prompts/get")
    expect(len(result.messages) >= 1, "no messages")
    text = "\n".join(getattr(m.content, "text", "") or "" for m in result.messages)
    expect("stdlib://rust/testing" in text, f"the brief does not mention stdlib://rust/testing: {text[:200]!r}")
    return f"{len(result.messages)} message(s), {len(text)} chars"


KNOWLEDGE_FNS: dict[str, Callable[[Client, str], Awaitable[str]]] = {
    "protocol version": check_protocol_version,
    "tools/list knowledge": check_knowledge_tools,
    "get_stdlib rust testing": check_get_stdlib,
    "search_stdlib": check_search_stdlib,
    "list_stdlib": check_list_stdlib,
    "resources/read stdlib://rust/testing": check_read_standard,
    "prompts/get standards_brief": check_standards_brief,
}


# --- driver -------------------------------------------------------------------------


async def run_mode(
    binary: str,
    mode: str,
    *,
    args: tuple[str, ...] = ("serve", "--demo", "--log-level", "warn"),
    checks: tuple[str, ...] = CHECKS,
    fns: dict[str, Callable[[Client, str], Awaitable[str]]] = CHECK_FNS,
    label: str | None = None,
) -> None:
    """Connects in `mode` to `<binary> <args>` and runs `checks` (the first is the
    connection, the last the disconnection); lines are labelled `label` (default: mode)."""
    params = StdioServerParameters(command=binary, args=list(args))
    recorded: set[str] = set()
    current = "connect"
    shown = label or mode

    def ok(name: str, detail: str = "") -> None:
        recorded.add(name)
        REPORT.ok(shown, name, detail)

    def fail(name: str, detail: str) -> None:
        recorded.add(name)
        REPORT.fail(shown, name, detail)

    try:
        with anyio.fail_after(MODE_TIMEOUT):
            async with Client(params, mode=mode, read_timeout_seconds=CALL_TIMEOUT) as client:
                ok("connect")
                for current in checks[1:-1]:
                    try:
                        detail = await fns[current](client, mode)
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
        print(f"ERROR [{shown}] aborted during {current!r}: {reason}", flush=True)
        if os.environ.get("INTEROP_DEBUG"):
            traceback.print_exception(unwrap(exc))
        if current not in recorded:
            fail(current, reason)
        for name in checks:
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
    for mode in KNOWLEDGE_MODES:
        print(f"--- knowledge server, mode {mode}", flush=True)
        await run_mode(
            binary,
            mode,
            args=("serve", "--log-level", "warn"),
            checks=KNOWLEDGE_CHECKS,
            fns=KNOWLEDGE_FNS,
            label=f"knowledge {mode}",
        )
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
