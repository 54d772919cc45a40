"""Drives `tenet serve` with an agent framework's MCP client: FastMCP's `Client` or
LangChain's `MultiServerMCPClient` (langchain-mcp-adapters), over stdio and Streamable HTTP.

    python py_clients.py fastmcp   TENET_BIN HTTP_URL
    python py_clients.py langchain TENET_BIN HTTP_URL

Run by scripts/interop-clients, each in its own venv (FastMCP 4 needs mcp 2.x,
langchain-mcp-adapters needs mcp 1.x). HTTP_URL is a running `tenet serve --transport
http` (http://127.0.0.1:PORT/mcp); stdio starts TENET_BIN itself.

Everything the client side prints or reports is captured: every logging record of any
logger (WARNING and above; the root logger is left at WARNING), every Python warning
(`simplefilter("always")`, so none is hidden by the once-per-location rule), and writes to
sys.stdout / sys.stderr. A check fails when its call fails, its result is wrong, or
anything was captured while it ran; the last check of each block fails if anything was
captured during the block at all. Nothing is filtered. The server's own stderr (stdio)
goes to a file, not into the capture.

Prints one `PASS [label] check: detail` / `FAIL [label] check: why` line per check, then
`N passed, M failed`; exits 1 on any failure.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import re
import sys
import tempfile
import traceback
import warnings

STEP_TIMEOUT = 20.0
REAL_STDOUT = sys.stdout
PASSED = 0
FAILED = 0
CAPTURED: list[tuple[str, str]] = []  # (step, what)
CURRENT = ["startup"]
# The stdio server's stderr (see _Tee): not client output; checked at the end for
# warnings (BAD_LOG_LINE), shown whole with INTEROP_DEBUG=1.
SERVER_LOG = tempfile.TemporaryFile(prefix="tenet-stdio-", suffix=".log")
BAD_LOG_LINE = re.compile(r"\b(WARN|ERROR)\b|panicked at")


def out(line: str) -> None:
    REAL_STDOUT.write(line + "\n")
    REAL_STDOUT.flush()


def one_line(s: str, limit: int = 1500) -> str:
    return " | ".join(x.strip() for x in str(s).strip().splitlines() if x.strip())[:limit]


def uniq(items: list[str]) -> list[str]:
    counts: dict[str, int] = {}
    for x in items:
        counts[x] = counts.get(x, 0) + 1
    return [f"{x} (x{n})" if n > 1 else x for x, n in counts.items()]


class _Tee(io.TextIOBase):
    """Captures what Python code writes. Its fileno() is a separate file for the server's
    stderr: the MCP SDKs hand sys.stderr to a stdio server subprocess as its stderr."""

    def __init__(self, name: str, fd: int) -> None:
        self.name = name
        self._fd = fd

    def fileno(self) -> int:
        return self._fd

    def write(self, s: str) -> int:
        if s.strip():
            CAPTURED.append((CURRENT[0], f"{self.name}: {s.rstrip()}"))
        return len(s)

    def flush(self) -> None:
        pass


class _Handler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            msg = record.getMessage()
        except Exception:  # a broken log call is itself worth reporting
            msg = repr(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            msg += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
        CAPTURED.append((CURRENT[0], f"log {record.levelname} {record.name}: {msg}"))


def _showwarning(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001
    CAPTURED.append((CURRENT[0], f"warning {category.__name__}: {message} ({filename}:{lineno})"))


def install_capture() -> None:
    warnings.simplefilter("always")
    warnings.showwarning = _showwarning
    logging.captureWarnings(False)
    root = logging.getLogger()
    root.handlers[:] = [_Handler(level=logging.WARNING)]
    root.setLevel(logging.WARNING)
    # Libraries that attach their own handlers (rich, stream handlers) still propagate to
    # the root; their direct output lands in the sys.stdout/sys.stderr capture below.
    sys.stdout = _Tee("stdout", SERVER_LOG.fileno())
    sys.stderr = _Tee("stderr", SERVER_LOG.fileno())


def pass_(label: str, name: str, detail: str = "") -> None:
    global PASSED
    PASSED += 1
    out(f"PASS [{label}] {name}" + (f": {detail}" if detail else ""))


def fail(label: str, name: str, why: str) -> None:
    global FAILED
    FAILED += 1
    out(f"FAIL [{label}] {name}: {one_line(why)}")


async def check(label: str, name: str, fn) -> object:  # noqa: ANN001
    """fn: async, returns the PASS detail (a str) or a (detail, value) tuple, or raises."""
    CURRENT[0] = name
    before = len(CAPTURED)
    try:
        result = await asyncio.wait_for(fn(), STEP_TIMEOUT)
        error = None
    except BaseException as e:  # noqa: BLE001 - every failure is reported as such
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        result, error = None, e
    await asyncio.sleep(0.05)
    printed = uniq([w for _, w in CAPTURED[before:]])
    if error is not None:
        why = "; ".join(describe(x) for x in leaves(error))

        if os.environ.get("INTEROP_DEBUG"):
            why += " " + "".join(traceback.format_exception(error))
        if printed:
            why += "; the client printed: " + " || ".join(printed)
        fail(label, name, why)
        return None
    detail, value = result if isinstance(result, tuple) else (result or "", None)
    if printed:
        fail(label, name, "the call succeeded but the client printed/reported: " + " || ".join(printed))
    else:
        pass_(label, name, detail)
    return value


def leaves(e: BaseException) -> list[BaseException]:
    """The real errors inside (nested) exception groups."""
    if isinstance(e, BaseExceptionGroup):
        return [x for sub in e.exceptions for x in leaves(sub)]
    return [e]


def describe(e: BaseException) -> str:
    """`Type: message`, followed by what caused it (`raise ... from`), if anything."""
    text = f"{type(e).__name__}: {e}"
    cause = e.__cause__ or (None if e.__suppress_context__ else e.__context__)
    if cause is not None and cause is not e:
        text += " (caused by " + "; ".join(describe(x) for x in leaves(cause)) + ")"
    return text


def session_check(label: str, start: int) -> None:
    everything = uniq([f"[during {step}] {w}" for step, w in CAPTURED[start:]])
    if everything:
        fail(label, "the client printed no error and no warning in the whole session", " || ".join(everything))
    else:
        pass_(label, "the client printed no error and no warning in the whole session")


def hit_uri(structured: dict) -> str:
    hits = structured.get("results") or []
    assert hits, "no hits"
    h = hits[0]
    return h["uri"] if "#" in h["uri"] else f"{h['uri']}#{h['section']}"


# --- FastMCP ------------------------------------------------------------------------------


async def run_fastmcp(label: str, transport_factory, mode: str) -> None:  # noqa: ANN001
    from fastmcp import Client

    start = len(CAPTURED)
    state: dict = {}
    client = Client(transport_factory(), mode=mode, timeout=STEP_TIMEOUT)
    stack = None

    async def connect():
        nonlocal stack
        stack = await client.__aenter__()
        init = getattr(client, "initialize_result", None)
        pv = getattr(init, "protocol_version", None) or getattr(client, "protocol_version", None) or "?"
        state["pv"] = pv
        info = getattr(init, "server_info", None)
        return f"mode {mode}, protocol {pv}" + (f", {info.name} {info.version}" if info else "")

    connected = await check(label, "connect", lambda: _ret(connect(), True)) is True

    async def list_tools():
        tools = await client.list_tools()
        names = sorted(t.name for t in tools)
        for n in ("get_stdlib", "search_stdlib", "list_stdlib"):
            assert n in names, f"no {n} in {names}"
        assert all(t.output_schema for t in tools), "a tool without outputSchema"
        return ", ".join(names)

    async def get_stdlib():
        r = await client.call_tool("get_stdlib", {"language": "rust", "domain": "testing"})
        s = r.structured_content
        assert s and s.get("found") is True, f"found {s and s.get('found')}"
        uris = [d["uri"] for d in s["documents"]]
        assert uris == ["stdlib://all/testing", "stdlib://rust/testing"], f"documents {uris}"
        # FastMCP turns structuredContent into r.data through the outputSchema; a schema
        # it cannot use leaves data None (and logs an error, which the capture reports).
        assert r.data is not None, "FastMCP could not parse structuredContent through the outputSchema (data is None)"
        return f"{s.get('title')!r}, {s.get('tokens')} tokens, data {type(r.data).__name__}"

    async def search_stdlib():
        r = await client.call_tool("search_stdlib", {"query": "sql injection", "domain": "security"})
        s = r.structured_content
        state["hit"] = hit_uri(s)
        assert r.data is not None, "FastMCP could not parse structuredContent through the outputSchema (data is None)"
        return f"{len(s['results'])} hits, first {state['hit']}"

    async def read(uri: str):
        contents = await client.read_resource(uri)
        assert contents and getattr(contents[0], "text", None), f"no text for {uri}"
        return f"{uri}: {contents[0].mime_type}, {len(contents[0].text)} chars"

    async def read_hit():
        assert state.get("hit"), "search_stdlib gave no hit URI"
        return await read(state["hit"])

    async def templates():
        t = [x.uri_template for x in await client.list_resource_templates()]
        assert "stdlib://{language}/{domain}" in t, f"templates {t}"
        return ", ".join(t)

    async def prompt():
        r = await client.get_prompt(
            "review_against_standards",
            {"language": "python", "domain": "security", "code": 'cur.execute("SELECT 1 WHERE id=" + uid)'},
        )
        assert r.messages, "no messages"
        return f"{len(r.messages)} messages"

    async def complete():
        from mcp.types import ResourceTemplateReference

        c = await client.complete(
            ResourceTemplateReference(type="ref/resource", uri="stdlib://{language}/{domain}"), {"name": "language", "value": "ru"}
        )
        assert "rust" in c.values, f"values {c.values}"
        return repr(c.values)

    async def ping():
        assert await client.ping(), "ping answered no EmptyResult"
        return ""

    steps = [
        ("tools/list", list_tools),
        ("tools/call get_stdlib rust testing", get_stdlib),
        ('tools/call search_stdlib "sql injection"', search_stdlib),
        ("resources/read stdlib://rust/testing", lambda: read("stdlib://rust/testing")),
        ("resources/read of a search hit URI (#section)", read_hit),
        ("resources/templates/list", templates),
        ("prompts/get review_against_standards", prompt),
        ("completion/complete stdlib://{language}/{domain} language ru", complete),
    ]
    # ping exists only in the handshake era (the 2026-07-28 method registry has none, in
    # the spec's types and in mcp-types alike), so it is checked only there.
    if connected and state.get("pv") != "2026-07-28":
        steps.append(("ping", ping))
    for name, fn in steps:
        if not connected:
            fail(label, name, "not run: connect failed")
            continue
        await check(label, name, fn)

    async def close():
        await client.__aexit__(None, None, None)
        return ""

    if connected:
        await check(label, "close", close)
    session_check(label, start)


async def _ret(coro, value):  # noqa: ANN001
    detail = await coro
    return detail, value


# --- LangChain ----------------------------------------------------------------------------


async def run_langchain(label: str, connection: dict) -> None:
    from langchain_mcp_adapters.client import MultiServerMCPClient

    start = len(CAPTURED)
    state: dict = {}
    client = MultiServerMCPClient({"tenet": connection})

    async def get_tools():
        tools = await client.get_tools()
        names = sorted(t.name for t in tools)
        for n in ("get_stdlib", "search_stdlib", "list_stdlib"):
            assert n in names, f"no {n} in {names}"
        state["tools"] = {t.name: t for t in tools}
        return ", ".join(names)

    async def call_get():
        tool = state["tools"]["get_stdlib"]
        # A tool call the way an agent makes it: the model's ToolCall, a ToolMessage back.
        msg = await tool.ainvoke(
            {"type": "tool_call", "id": "call-1", "name": "get_stdlib", "args": {"language": "rust", "domain": "testing"}}
        )
        assert getattr(msg, "status", "success") == "success", f"status {msg.status}: {str(msg.content)[:300]}"
        text = msg.content if isinstance(msg.content, str) else " ".join(
            b.get("text", "") if isinstance(b, dict) else str(b) for b in msg.content
        )
        assert "# " in text and "test" in text.lower(), f"content {text[:200]!r}"
        artifact = getattr(msg, "artifact", None)
        structured = artifact.get("structured_content") if isinstance(artifact, dict) else None
        if structured is not None:
            assert structured.get("found") is True, f"structured found {structured.get('found')}"
        return f"{len(text)} chars of text" + (", structured_content in the artifact" if structured else "")

    async def call_search():
        tool = state["tools"]["search_stdlib"]
        msg = await tool.ainvoke(
            {"type": "tool_call", "id": "call-2", "name": "search_stdlib", "args": {"query": "sql injection", "domain": "security"}}
        )
        assert getattr(msg, "status", "success") == "success", f"status {msg.status}: {str(msg.content)[:300]}"
        artifact = getattr(msg, "artifact", None)
        structured = artifact.get("structured_content") if isinstance(artifact, dict) else None
        text = msg.content if isinstance(msg.content, str) else " ".join(
            b.get("text", "") if isinstance(b, dict) else str(b) for b in msg.content
        )
        if structured:
            state["hit"] = hit_uri(structured)
        else:  # the text block shows `(stdlib://lang/domain#section)` per hit
            import re

            m = re.search(r"\((stdlib://[^)\s]+#[^)\s]+)\)", text)
            assert m, f"no hit URI in {text[:200]!r}"
            state["hit"] = m.group(1)
        return f"first hit {state['hit']}"

    async def read(uri: str):
        blobs = await client.get_resources("tenet", uris=[uri])
        assert blobs, f"nothing for {uri}"
        text = blobs[0].as_string()
        assert text, f"empty {uri}"
        return f"{uri}: {blobs[0].mimetype}, {len(text)} chars"

    async def read_hit():
        assert state.get("hit"), "search_stdlib gave no hit URI"
        return await read(state["hit"])

    async def prompt():
        # standards_brief, not review_against_standards: langchain-mcp-adapters 0.3.2 turns
        # prompt messages into LangChain messages for text content only and raises
        # "Unsupported prompt message content type: resource" on the review prompt's
        # embedded resources (valid MCP, a limitation of the adapter).
        msgs = await client.get_prompt("tenet", "standards_brief", arguments={"language": "rust"})
        assert msgs, "no messages"
        text = " ".join(str(m.content) for m in msgs)
        assert "stdlib://rust/testing" in text, f"the brief does not name stdlib://rust/testing: {text[:200]!r}"
        return f"{len(msgs)} messages"

    steps = [
        ("get_tools (tools/list)", get_tools),
        ("tool get_stdlib rust testing", call_get),
        ('tool search_stdlib "sql injection"', call_search),
        ("get_resources stdlib://rust/testing", lambda: read("stdlib://rust/testing")),
        ("get_resources of a search hit URI (#section)", read_hit),
        ("get_prompt standards_brief rust", prompt),
    ]
    for name, fn in steps:
        if name.startswith("tool ") and "tools" not in state:
            fail(label, name, "not run: get_tools failed")
            continue
        await check(label, name, fn)
    session_check(label, start)


# --- main ---------------------------------------------------------------------------------


async def main() -> None:
    which, binary, url = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3]
    args = ["serve", "--log-level", "warn"]
    if which == "fastmcp":
        from fastmcp.client.transports import StdioTransport, StreamableHttpTransport

        for mode in ("auto", "legacy"):
            await run_fastmcp(
                f"fastmcp stdio {mode}",
                lambda: StdioTransport(command=binary, args=args, keep_alive=False),
                mode,
            )
            await run_fastmcp(f"fastmcp http {mode}", lambda: StreamableHttpTransport(url), mode)
    elif which == "langchain":
        await run_langchain("langchain stdio", {"transport": "stdio", "command": binary, "args": args})
        await run_langchain("langchain http", {"transport": "streamable_http", "url": url})
    else:
        raise SystemExit(f"unknown client {which!r}")
    # The stdio servers these clients started log at warn: a line of warning, error or
    # panic there fails, as the HTTP server's log does (scripts/interop-clients).
    SERVER_LOG.seek(0)
    log = SERVER_LOG.read().decode("utf-8", "replace")
    bad = [line for line in log.splitlines() if BAD_LOG_LINE.search(line)]
    name = "the stdio servers logged no warning, no error and no panic"
    if bad:
        fail(which, name, " || ".join(uniq(bad)))
    else:
        pass_(which, name, f"{len([x for x in log.splitlines() if x.strip()])} lines at --log-level warn")
    if FAILED and os.environ.get("INTEROP_DEBUG") and log.strip():
        out("    server stderr (stdio): " + one_line(log))


if __name__ == "__main__":
    install_capture()
    try:
        asyncio.run(main())
    except BaseException as e:  # noqa: BLE001
        if isinstance(e, KeyboardInterrupt):
            raise
        FAILED += 1
        out(f"FAIL [{sys.argv[1] if len(sys.argv) > 1 else '?'}] the run: {type(e).__name__}: {one_line(str(e))}")
    out(f"{PASSED} passed, {FAILED} failed")
    sys.exit(1 if FAILED else 0)
