"""Live reload, driven by the official Python SDK client: `tenet serve --root DIR` over
stdio and over Streamable HTTP, a file edited and a new file added on disk, and the change notifications received.

- `legacy` (initialize handshake): `resources/subscribe` to stdlib://go/testing, then the
  SDK's message handler must see `notifications/resources/updated` for it after the
  edit, and `notifications/resources/list_changed` plus `notifications/tools/list_changed`
  after a file for a new language (kotlin) appears; reads then return the new text.
- `2026-07-28`: the same through a `subscriptions/listen` stream (`Client.listen`).

Run from python_client.py, which owns the report and the helpers passed in.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import warnings
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters

EVENT_TIMEOUT = 10.0  # seconds for a notification to arrive after a change on disk
WATCH_SETTLE = 0.3  # seconds between the server answering and the first edit
DOC = "stdlib://go/testing"
NEW_DOC = "stdlib://kotlin/testing"
LIVE_CHECKS = ("updated after an edit", "read after the edit", "list_changed after a new language")


def document(title: str, language: str, body: str) -> str:
    return (
        f"---\ntitle: {title}\ndescription: d\nlanguage: {language}\ndomain: testing\ntags: [live]\n"
        f"createdAt: '2026-01-01T00:00:00Z'\nupdatedAt: '2026-01-01T00:00:00Z'\n---\n# {title}\n\n{body}\n"
    )


class Seen:
    """Change events as (kind, uri) pairs, with a way to wait for one."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.changed = asyncio.Event()

    def add(self, kind: str, uri: str = "") -> None:
        self.events.append((kind, uri))
        self.changed.set()

    async def wait_for(self, wanted: set[tuple[str, str]]) -> float:
        """Seconds until every wanted event was seen; raises TimeoutError."""
        start = time.monotonic()
        async with asyncio.timeout(EVENT_TIMEOUT):
            while not wanted <= set(self.events):
                self.changed.clear()
                await self.changed.wait()
        return time.monotonic() - start


def kind_of(name: str) -> str:
    """The event kind from a notification method or an SDK event class name."""
    return {
        "notifications/resources/updated": "updated",
        "ResourceUpdated": "updated",
        "notifications/resources/list_changed": "resources",
        "ResourcesListChanged": "resources",
        "notifications/tools/list_changed": "tools",
        "ToolsListChanged": "tools",
    }.get(name, name)


async def exercise(
    client: Client, root: Path, seen: Seen, ok: Callable[[str, str], None], check: Callable[[bool, str], None]
) -> None:
    """Edits, then adds a file, waiting each time for the notifications."""
    await asyncio.sleep(WATCH_SETTLE)
    (root / "go" / "testing.md").write_text(document("Go testing, edited", "go", "wombat rules"))
    took = await seen.wait_for({("updated", DOC)})
    ok(LIVE_CHECKS[0], f"{DOC} after {took * 1000:.0f} ms")
    read = await client.read_resource(DOC)
    text = getattr(read.contents[0], "text", "")
    check("wombat rules" in text, f"the read after the edit returned the old text: {text[:120]!r}")
    search = await client.call_tool("search_stdlib", {"query": "wombat", "language": "go"})
    hits = (search.structured_content or {}).get("results") or []
    check(any(h.get("uri") == DOC for h in hits), f"search for the new word found {hits!r}")
    ok(LIVE_CHECKS[1], "resources/read and search_stdlib see the new text")
    (root / "kotlin").mkdir()
    (root / "kotlin" / "testing.md").write_text(document("Kotlin testing", "kotlin", "numbat"))
    took = await seen.wait_for({("resources", ""), ("tools", "")})
    listed = [str(r.uri) for r in (await client.list_resources()).resources]
    check(NEW_DOC in listed, f"{NEW_DOC} not in resources/list after list_changed")
    ok(LIVE_CHECKS[2], f"resources and tools list_changed after {took * 1000:.0f} ms; {NEW_DOC} listed")


Serve = Callable[[Path], AbstractAsyncContextManager[Any]]
"""Starts `tenet serve --root <path>` and yields what `mcp.Client` connects to."""


def stdio(binary: str) -> Serve:
    @asynccontextmanager
    async def serve(root: Path) -> AsyncIterator[Any]:
        yield StdioServerParameters(command=binary, args=["serve", "--root", str(root), "--log-level", "warn"])

    return serve


async def run_live_reload(
    transport: str,
    serve: Serve,
    report: Any,
    describe: Callable[[BaseException], str],
    check: Callable[[bool, str], None],
    timeout: float,
) -> None:
    """Both eras over one transport, each on a fresh root. `check(cond, message)` raises."""
    for mode in ("legacy", "2026-07-28"):
        label = f"live reload {transport} {mode}"
        done: set[str] = set()

        def ok(name: str, detail: str, label: str = label, done: set[str] = done) -> None:
            done.add(name)
            report.ok(label, name, detail)

        print(f"--- live reload, {transport}, mode {mode}", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            (root / "go").mkdir()
            (root / "go" / "testing.md").write_text(document("Go testing", "go", "quokka rules"))
            try:
                async with asyncio.timeout(timeout), serve(root) as target:
                    await one_mode(target, mode, root, ok, check)
            except BaseException as exc:  # a failed expectation, a timeout, or the SDK giving up
                if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                    raise
                reason = describe(exc)
                for name in LIVE_CHECKS:
                    if name not in done:
                        report.fail(label, name, reason)
                        reason = "not run: an earlier check failed"


async def one_mode(
    target: Any,
    mode: str,
    root: Path,
    ok: Callable[[str, str], None],
    check: Callable[[bool, str], None],
) -> None:
    seen = Seen()
    if mode == "legacy":

        async def on_message(message: Any) -> None:
            method = getattr(message, "method", None)
            if isinstance(method, str):
                seen.add(kind_of(method), str(getattr(getattr(message, "params", None), "uri", "") or ""))

        async with Client(target, mode=mode, message_handler=on_message) as client:
            with warnings.catch_warnings():  # deprecated only from 2026-07-28 on
                warnings.simplefilter("ignore")
                await client.subscribe_resource(DOC)
            await exercise(client, root, seen, ok, check)
        return
    async with Client(target, mode=mode) as client:
        listening = client.listen(tools_list_changed=True, resources_list_changed=True, resource_subscriptions=[DOC])
        async with listening as subscription:

            async def pump() -> None:
                async for event in subscription:
                    seen.add(kind_of(type(event).__name__), str(getattr(event, "uri", "") or ""))

            task = asyncio.create_task(pump())
            try:
                await exercise(client, root, seen, ok, check)
            finally:
                task.cancel()
