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
(rust, testing), search_stdlib and list_stdlib, lists and reads the resources and the
template, gets both prompts and completes every language/domain argument; the SDK
validates each tool's structuredContent against its outputSchema. live_reload.py then
edits files under `serve --root` (stdio and HTTP, both eras) and waits for the
notifications.

Then the same over HTTP: `<bin> serve --transport http --port 0 --log-level info` is
started on loopback (once with --demo, once without); the port it bound comes from its
`serving MCP over HTTP at` log line, then /health must answer, and the SDK connects to
http://127.0.0.1:PORT/mcp (Streamable HTTP) in modes legacy, 2026-07-28 and auto
(labels `http <mode>`, `http knowledge <mode>`); the demo server is also driven by
the SDK's HTTP+SSE client (`mcp.client.sse.sse_client`, the 2024-11-05 transport) at
/sse (label `http+sse`). Each server must outlive its clients and exit 0 on SIGTERM;
it is stopped by PID at the end, on failure, and by the watchdog.

One line is printed per
check, then a final line exactly `N passed, M failed` (CI parses it). The exit
status is 0 only when nothing failed. Every request is bounded by a timeout, each
mode by an overall deadline, and the whole run by a watchdog, so it cannot hang.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.types import PromptReference, ResourceTemplateReference

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from live_reload import run_live_reload, stdio  # noqa: E402  (beside this file)

if sys.version_info < (3, 11):  # the SDK supports 3.10, where anyio brings the backport
    from exceptiongroup import BaseExceptionGroup

CALL_TIMEOUT = 20.0  # seconds, per request
MODE_TIMEOUT = 120.0  # seconds, per mode: connect, all checks, shutdown
WATCHDOG = 420.0  # seconds, for the whole run (a last resort)
SERVER_START_TIMEOUT = 15.0  # seconds for `tenet serve --transport http` to answer
SERVER_STOP_TIMEOUT = 10.0  # seconds between SIGTERM and SIGKILL

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
    "resources/list knowledge",
    "resources/templates/list",
    "prompts/get standards_brief",
    "prompts/get review_against_standards",
    "completion/complete template language",
    "completion/complete template domain",
    "completion/complete prompt language",
    "disconnect",
)
LANGUAGES = ("python", "go", "javascript", "typescript", "rust")
STANDARD_TEMPLATE = "stdlib://{language}/{domain}"


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


async def check_sse_protocol_version(c: Client, mode: str) -> str:
    """HTTP+SSE is the 2024-11-05 transport: the SDK's initialize offers 2025-11-25, and the
    server answers with a handshake-era version (which one is its choice)."""
    version = c.protocol_version
    expect(c.session.initialize_result is not None, "no InitializeResult recorded (no initialize handshake?)")
    expect(
        version in ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"),
        f"negotiated {version!r}, expected a handshake-era version",
    )
    info = c.server_info
    who = f"{info.name} {info.version}" if info is not None else "(server did not identify itself)"
    return f"{version} (initialize over HTTP+SSE), server {who}"


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


async def check_knowledge_resources(c: Client, mode: str) -> str:
    result = await bounded(c.list_resources(), "resources/list")
    uris = [str(r.uri) for r in result.resources]
    expect("stdlib://rust/testing" in uris and "stdlib://all/security" in uris, f"resources {uris[:8]}...")
    expect(len(uris) >= 30, f"{len(uris)} resources, expected one per document (30 or more)")
    return f"{len(uris)} resources"


async def check_templates(c: Client, mode: str) -> str:
    result = await bounded(c.list_resource_templates(), "resources/templates/list")
    templates = [t.uri_template for t in result.resource_templates]
    expect(STANDARD_TEMPLATE in templates, f"templates {templates}")
    return ", ".join(templates)


async def check_review_prompt(c: Client, mode: str) -> str:
    code = "def handler(req):\n    return eval(req.body)\n"
    arguments = {"language": "python", "domain": "security", "code": code}
    result = await bounded(c.get_prompt("review_against_standards", arguments), "prompts/get")
    text = "\n".join(getattr(m.content, "text", "") or "" for m in result.messages)
    expect("eval(req.body)" in text, f"the code under review is missing: {text[:200]!r}")
    embedded = [str(getattr(getattr(m.content, "resource", None), "uri", "")) for m in result.messages]
    expected = ["stdlib://all/security", "stdlib://python/security"]
    expect(embedded[:2] == expected, f"embedded standards {embedded}, expected {expected} first")
    return f"{len(result.messages)} message(s): {embedded[:2]} + the code"


async def completions(c: Client, ref: Any, name: str, value: str, context: dict[str, str] | None = None) -> list[str]:
    result = await bounded(c.complete(ref, {"name": name, "value": value}, context), "completion/complete")
    return list(result.completion.values)


async def check_complete_template_language(c: Client, mode: str) -> str:
    values = await completions(c, ResourceTemplateReference(type="ref/resource", uri=STANDARD_TEMPLATE), "language", "ru")
    expect(values == ["rust"], f"language 'ru' completed to {values}")
    return f"ru -> {values}"


async def check_complete_template_domain(c: Client, mode: str) -> str:
    ref = ResourceTemplateReference(type="ref/resource", uri=STANDARD_TEMPLATE)
    values = await completions(c, ref, "domain", "te", {"language": "rust"})
    expect(values == ["testing"], f"domain 'te' (language rust) completed to {values}")
    return f"te -> {values}"


async def check_complete_prompt_language(c: Client, mode: str) -> str:
    ref = PromptReference(type="ref/prompt", name="review_against_standards")
    values = await completions(c, ref, "language", "py")
    expect(values == ["python"], f"language 'py' completed to {values}")
    return f"py -> {values}"


KNOWLEDGE_FNS: dict[str, Callable[[Client, str], Awaitable[str]]] = {
    "protocol version": check_protocol_version,
    "tools/list knowledge": check_knowledge_tools,
    "get_stdlib rust testing": check_get_stdlib,
    "search_stdlib": check_search_stdlib,
    "list_stdlib": check_list_stdlib,
    "resources/read stdlib://rust/testing": check_read_standard,
    "resources/list knowledge": check_knowledge_resources,
    "resources/templates/list": check_templates,
    "prompts/get standards_brief": check_standards_brief,
    "prompts/get review_against_standards": check_review_prompt,
    "completion/complete template language": check_complete_template_language,
    "completion/complete template domain": check_complete_template_domain,
    "completion/complete prompt language": check_complete_prompt_language,
}


# The old HTTP+SSE transport (2024-11-05): tools listed and called, plus the rest of the
# demo checks that make sense for a handshake-era client.
SSE_CHECKS = (
    "connect",
    "protocol version",
    "tools/list",
    "echo",
    "add structuredContent",
    "echo wrong-typed argument",
    "unknown tool",
    "resources/read tenet://about",
    "prompts/get greet",
    "countdown progress",
    "disconnect",
)
SSE_FNS = {**CHECK_FNS, "protocol version": check_sse_protocol_version}

HTTP_MODES = MODES
KNOWLEDGE_HTTP_MODES = ("legacy", "2026-07-28", "auto")


# --- `tenet serve --transport http` as a subprocess ------------------------------------

LIVE_SERVERS: set[subprocess.Popen[bytes]] = set()  # killed by the watchdog and at exit


def answers(url: str) -> bool:
    """True when an HTTP server answers at `url` (any status counts)."""
    try:
        with urllib.request.urlopen(url, timeout=1.0):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


# The line `tenet serve --transport http` logs (at info level) once it has bound its port.
SERVING_LINE = re.compile(rb"serving MCP over HTTP at http://127\.0\.0\.1:(\d+)/")


class HttpServer:
    """`<binary> serve --transport http --port 0 --log-level info <extra>` on loopback: the
    server binds a free port itself and logs it, so no other process can take the port
    between picking and binding, and /health is probed only on the port it reported.
    Stopped by PID (SIGTERM, then SIGKILL) on exit, whatever happened."""

    def __init__(self, binary: str, extra: tuple[str, ...]) -> None:
        self.binary = binary
        self.extra = extra
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = tempfile.TemporaryFile()
        self.exit_code: int | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_text(self) -> bytes:
        # pread, not seek + read: the child writes through the same open file description
        # (shared offset, no O_APPEND), so moving the offset here would make it write over
        # its own log.
        fd = self.log.fileno()
        return os.pread(fd, os.fstat(fd).st_size, 0)

    def log_tail(self) -> str:
        text = self.log_text().decode("utf-8", "replace").strip()
        return text[-800:].replace("\n", " | ") or "(nothing on stderr)"

    async def __aenter__(self) -> HttpServer:
        # `--log-level info`: the bound port is logged at info (so also at debug and trace,
        # but those print much more); little else is at info: the knowledge base's size at
        # start, two lines on SIGTERM. TENET_LOG would override --log-level (at warn the
        # port line never comes) and TENET_LOG_FORMAT=json would change the line's shape,
        # so neither is passed on.
        args = [self.binary, "serve", "--transport", "http", "--host", "127.0.0.1", "--port", "0"]
        args += ["--log-level", "info", *self.extra]
        env = {k: v for k, v in os.environ.items() if k not in ("TENET_LOG", "TENET_LOG_FORMAT")}
        env["NO_COLOR"] = "1"
        self.proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT, env=env
        )
        LIVE_SERVERS.add(self.proc)
        what = "`" + " ".join(["tenet", *args[1:]]) + "`"
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while not self.port:
            match = SERVING_LINE.search(self.log_text())
            if match:
                self.port = int(match.group(1))
            elif self.proc.poll() is not None:
                code = self.proc.returncode
                self.stop()
                raise Failure(f"{what} exited with {code} before logging its port: {self.log_tail()}")
            elif time.monotonic() >= deadline:
                self.stop()
                raise Failure(
                    f"{what} logged no 'serving MCP over HTTP at' line within "
                    f"{SERVER_START_TIMEOUT:.0f}s: {self.log_tail()}"
                )
            else:
                await asyncio.sleep(0.05)
        while True:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self.stop()
                raise Failure(f"{what} exited with {code} after binding {self.base}: {self.log_tail()}")
            if await asyncio.to_thread(answers, f"{self.base}/health"):
                return self
            if time.monotonic() >= deadline:
                self.stop()
                raise Failure(
                    f"{what} bound {self.base} but /health did not answer within "
                    f"{SERVER_START_TIMEOUT:.0f}s: {self.log_tail()}"
                )
            await asyncio.sleep(0.05)

    def stop(self) -> int | None:
        """SIGTERM by PID, then SIGKILL; returns the exit status (negative: killed by a signal)."""
        proc = self.proc
        if proc is None:
            return self.exit_code
        if proc.poll() is None:
            try:
                os.kill(proc.pid, signal.SIGTERM)
                proc.wait(SERVER_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
            except ProcessLookupError:
                proc.wait()
        LIVE_SERVERS.discard(proc)
        self.proc = None
        self.exit_code = proc.returncode
        return self.exit_code

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)
        self.log.close()


def kill_live_servers() -> None:
    for proc in list(LIVE_SERVERS):
        try:
            os.kill(proc.pid, signal.SIGKILL)
        except OSError:
            pass


# --- driver -------------------------------------------------------------------------


async def run_mode(
    binary: str,
    mode: str,
    *,
    args: tuple[str, ...] = ("serve", "--demo", "--log-level", "warn"),
    target: Any = None,
    checks: tuple[str, ...] = CHECKS,
    fns: dict[str, Callable[[Client, str], Awaitable[str]]] = CHECK_FNS,
    label: str | None = None,
    gone: str = "stdin closed, server process gone",
) -> None:
    """Connects in `mode` to `target` (default: `<binary> <args>` over stdio; a URL for
    Streamable HTTP, or a transport such as `sse_client(url)`) and runs `checks` (the first
    is the connection, the last the disconnection); lines are labelled `label` (default: mode)."""
    params = target if target is not None else StdioServerParameters(command=binary, args=list(args))
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
        ok("disconnect", gone)
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


async def run_http_server(
    binary: str,
    extra: tuple[str, ...],
    what: str,
    blocks: Callable[[str], Awaitable[None]],
    planned: list[tuple[str, tuple[str, ...]]],
) -> None:
    """Starts `tenet serve --transport http <extra>`, runs `blocks(base_url)`, then checks the
    server outlived its clients and stops on SIGTERM with status 0. If it does not start,
    the `planned` (label, checks) fail as not run."""
    label = f"http {what}"
    try:
        server = HttpServer(binary, extra)
        async with server:
            REPORT.ok(label, "server start", f"{server.base} (pid {server.proc.pid if server.proc else '?'})")
            await blocks(server.base)
            if server.proc is not None and server.proc.poll() is None:
                REPORT.ok(label, "server alive after the clients")
            else:
                code = server.proc.returncode if server.proc else None
                REPORT.fail(label, "server alive after the clients", f"exited with {code}: {server.log_tail()}")
            code = await asyncio.to_thread(server.stop)
            if code == 0:
                REPORT.ok(label, "server stop", "SIGTERM, exit 0")
            else:
                REPORT.fail(label, "server stop", f"exit status {code} after SIGTERM: {server.log_tail()}")
    except Failure as exc:
        REPORT.fail(label, "server start", str(exc))
        for shown, checks in planned + [(label, ("server alive after the clients", "server stop"))]:
            for name in checks:
                REPORT.fail(shown, name, "not run: the server did not start")


async def run_http(binary: str) -> None:
    async def demo(base: str) -> None:
        for mode in HTTP_MODES:
            print(f"--- HTTP {base}/mcp, demo server, mode {mode}", flush=True)
            await run_mode(binary, mode, target=f"{base}/mcp", label=f"http {mode}", gone="session closed")
        print(f"--- HTTP+SSE {base}/sse, demo server", flush=True)
        await run_mode(
            binary,
            "legacy",
            target=sse_client(f"{base}/sse", timeout=CALL_TIMEOUT, sse_read_timeout=MODE_TIMEOUT),
            checks=SSE_CHECKS,
            fns=SSE_FNS,
            label="http+sse",
            gone="SSE stream closed",
        )

    async def knowledge(base: str) -> None:
        for mode in KNOWLEDGE_HTTP_MODES:
            print(f"--- HTTP {base}/mcp, knowledge server, mode {mode}", flush=True)
            await run_mode(
                binary,
                mode,
                target=f"{base}/mcp",
                checks=KNOWLEDGE_CHECKS,
                fns=KNOWLEDGE_FNS,
                label=f"http knowledge {mode}",
                gone="session closed",
            )

    print("--- HTTP: tenet serve --transport http --demo", flush=True)
    demo_plan = [(f"http {mode}", CHECKS) for mode in HTTP_MODES] + [("http+sse", SSE_CHECKS)]
    await run_http_server(binary, ("--demo",), "demo", demo, demo_plan)
    print("--- HTTP: tenet serve --transport http (knowledge server)", flush=True)
    knowledge_plan = [(f"http knowledge {mode}", KNOWLEDGE_CHECKS) for mode in KNOWLEDGE_HTTP_MODES]
    await run_http_server(binary, (), "knowledge", knowledge, knowledge_plan)


def start_watchdog() -> None:
    def fire() -> None:
        kill_live_servers()
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
    await run_live_reload("stdio", stdio(binary), REPORT, describe, expect, MODE_TIMEOUT)
    await run_http(binary)

    @asynccontextmanager
    async def http(root: Path) -> AsyncIterator[str]:
        async with HttpServer(binary, ("--root", str(root))) as server:
            yield f"{server.base}/mcp"

    await run_live_reload("http", http, REPORT, describe, expect, MODE_TIMEOUT)
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
    try:
        code = asyncio.run(main(bin_path))
    finally:
        kill_live_servers()
    sys.exit(code)
