#!/usr/bin/env python3
"""Interop test: Tenet replicas behind HAProxy (round-robin, no stickiness) sharing a real
Redis, driven by the official Python MCP SDK client (`mcp==2.3.0`).

Usage: python tests/interop/replicas_client.py FIXTURE_LB DEMO_LB DEMO_PID FIXTURE_PIDS

Run through `scripts/interop-replicas`, which starts Redis, the replicas and HAProxy and
passes:

- FIXTURE_LB  HAProxy in front of three conformance fixture replicas;
- DEMO_LB     HAProxy in front of three `tenet serve --demo` replicas, `add` limited to
              5 calls a second (burst 5) per client;
- DEMO_PID    the process id of one demo replica, which this script kills mid-session;
- FIXTURE_PIDS  the fixture replicas' process ids by HAProxy name (`r1=PID,r2=PID,r3=PID`):
              the one that served a stream is killed before the stream is resumed.

HAProxy names the replica that served each response in `X-Replica`; the client's HTTP
responses are recorded, so every check can show that its requests crossed replicas.

Checks: a legacy session served by all three replicas; an elicitation and a sampling
request sent from one replica answered through another (on both pools); a 2026-07-28
input round (MRTR) begun on one replica and finished on another (on both pools); a
2025-11-25 task made on one replica, polled, its result read and another cancelled
through others (on both pools); a conversation's context kept across replicas in a
legacy session; a DELETE ending the session on every replica; a rate limit holding in
total, not per replica; a replica killed mid-session while the session goes on; an SSE
stream resumed with `Last-Event-ID` on another replica after the one that served it was
killed, with every event after the last one seen, once, in order; a tool list change
made on one replica heard by a listen stream held by another.
One line per check, then exactly `N passed, M failed`.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import threading
import time
import traceback
import urllib.error
import urllib.request
from collections.abc import Awaitable
from typing import Any

import anyio
import httpx2 as httpx
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.types import CreateMessageResult, ElicitResult, TextContent
from mcp_types import (
    CallToolResult,
    CancelTaskRequest,
    CancelTaskRequestParams,
    CancelTaskResult,
    CreateTaskResult,
    GetTaskPayloadRequest,
    GetTaskPayloadRequestParams,
    GetTaskRequest,
    GetTaskRequestParams,
    GetTaskResult,
)

CALL_TIMEOUT = 30.0
WATCHDOG = 240.0


class Failure(Exception):
    """A check's expectation was not met."""


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise Failure(message)


async def bounded(awaitable: Awaitable[Any], what: str) -> Any:
    try:
        return await asyncio.wait_for(awaitable, CALL_TIMEOUT)
    except asyncio.TimeoutError as exc:
        raise Failure(f"{what} did not answer within {CALL_TIMEOUT:.0f}s") from exc


async def kill(pid: int) -> None:
    """SIGKILL a replica and wait (at most 5 s) until it is dead: gone, or a zombie with
    no thread left (the main thread turns zombie before the others are done), its
    sockets closed. Until then its kernel still accepts connections into the listen
    backlog, and a request sent on one of them is lost with the process: HAProxy answers
    502 and cannot retry it (the request was sent; it may have run). That request is the
    one a replica's death costs; these checks are about the requests after it."""
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                zombie = stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
            if zombie and os.listdir(f"/proc/{pid}/task") == [str(pid)]:
                return
        except (FileNotFoundError, ProcessLookupError):  # reaped while read
            return
        await asyncio.sleep(0.002)
    raise Failure(f"process {pid} still alive 5 s after SIGKILL")


def text_of(result: Any) -> str:
    return "\n".join(getattr(block, "text", "") or "" for block in result.content)


class Seen:
    """Every HTTP exchange of one client: method, session id, body sent, replica."""

    def __init__(self) -> None:
        self.exchanges: list[dict[str, Any]] = []

    async def hook(self, response: Any) -> None:
        request = response.request
        try:
            body = request.content.decode("utf-8", "replace")
        except Exception:  # noqa: BLE001 - a streamed body has no content to read
            body = ""
        self.exchanges.append(
            {
                "method": request.method,
                "session": request.headers.get("mcp-session-id"),
                "body": body,
                "replica": response.headers.get("x-replica"),
                "status": response.status_code,
            }
        )

    def replicas(self, where: Any = lambda e: True) -> list[str]:
        return [e["replica"] for e in self.exchanges if where(e) and e["replica"]]


def client(url: str, seen: Seen, mode: str) -> Client:
    http = create_mcp_http_client()
    http.event_hooks["response"].append(seen.hook)
    return Client(
        streamable_http_client(url, http_client=http),
        mode=mode,
        read_timeout_seconds=CALL_TIMEOUT,
        elicitation_callback=on_elicitation,
        sampling_callback=on_sampling,
    )


async def on_elicitation(context: Any, params: Any) -> ElicitResult:
    properties = dict((getattr(params, "requested_schema", None) or {}).get("properties", {}))
    return ElicitResult(action="accept", content={key: "ada" for key in properties})


async def on_sampling(context: Any, params: Any) -> CreateMessageResult:
    return CreateMessageResult(role="assistant", content=TextContent(type="text", text="sampled"), model="m")


async def answered_elsewhere(seen: Seen, since: int, tool: str) -> tuple[str, str]:
    """The replica that ran the call of `tool` (made after exchange `since`) and the one
    its client's answer to the server's request reached (a POST of a JSON-RPC response).
    The answer's own response (202) may be read after the call's result: it is waited
    for, a moment."""
    deadline = time.monotonic() + 5
    while True:
        recent = seen.exchanges[since:]
        call = next((e for e in recent if f'"name":"{tool}"' in e["body"].replace(" ", "")), None)
        answer = next((e for e in recent if '"result"' in e["body"] and '"method"' not in e["body"]), None)
        if (call and answer) or time.monotonic() > deadline:
            break
        await anyio.sleep(0.05)
    shown = [(e["method"], e["replica"], e["status"], e["body"][:90]) for e in recent]
    expect(call is not None and answer is not None, f"no call of {tool} and answer to its request: {shown}")
    return call["replica"], answer["replica"]


async def legacy_fixture(url: str) -> list[tuple[str, str]]:
    seen = Seen()
    out = []
    async with client(url, seen, "legacy") as c:
        for _ in range(6):
            await bounded(c.list_tools(), "tools/list")
        served = set(seen.replicas(lambda e: e["session"]))
        expect(served == {"r1", "r2", "r3"}, f"the session's requests were served by {sorted(served)}")
        out.append(("a legacy session served by every replica", f"{len(seen.exchanges)} requests over {sorted(served)}"))

        for kind, tool, arguments, expected in (
            ("an elicitation", "test_elicitation", {"message": "Who?"}, "accept"),
            ("a sampling request", "test_sampling", {"prompt": "Say"}, "sampled"),
        ):
            # Round-robin moves the answer to another replica unless other requests of
            # the client happen to come between: then the call is made again.
            for _attempt in range(3):
                since = len(seen.exchanges)
                result = await bounded(c.call_tool(tool, arguments), tool)
                expect(expected in text_of(result), text_of(result))
                ran, answered = await answered_elsewhere(seen, since, tool)
                if ran != answered:
                    break
            expect(ran != answered, f"asked and answered on {ran} three times")
            out.append((f"{kind} sent from one replica, answered through another", f"asked by {ran}, answer to {answered}"))
    return out


async def legacy_tasks(
    url: str, tool: str, quick: dict[str, Any], long: dict[str, Any], expected: str, label: str
) -> list[tuple[str, str]]:
    """A 2025-11-25 session's tasks across replicas, polled, read and cancelled through the
    SDK's own task requests: one polled to its end and its result read; another cancelled."""
    seen = Seen()
    async with client(url, seen, "legacy") as c:
        session = c.session

        async def create(n: int, arguments: dict[str, Any]) -> tuple[str, str]:
            """The task's id and the replica that made it. The SDK (2.3.0) checks every
            `tools/call` result as a CallToolResult, so the task-augmented call (whose
            result is a CreateTaskResult) goes out raw, in the SDK's own session."""
            sid = next(e["session"] for e in seen.exchanges if e["session"])
            call = {"jsonrpc": "2.0", "id": 9000 + n, "method": "tools/call", "params": {
                "name": tool, "arguments": arguments, "task": {"ttl": 60000}}}
            headers = {"accept": "application/json, text/event-stream", "content-type": "application/json",
                       "mcp-session-id": sid, "mcp-protocol-version": "2025-11-25"}
            async with httpx.AsyncClient(timeout=CALL_TIMEOUT) as http:
                answer = await http.post(url, json=call, headers=headers)
            expect(answer.status_code == 200, f"tools/call as a task: {answer.status_code} {answer.text}")
            text = answer.text
            if not text.lstrip().startswith("{"):
                text = [d for _, d in sse_events(text.splitlines()) if '"result"' in d][0]
            created = CreateTaskResult.model_validate(json.loads(text)["result"])
            return created.task.task_id, answer.headers.get("x-replica", "")

        def get(task: str) -> Any:
            return bounded(session.send_request(GetTaskRequest(params=GetTaskRequestParams(task_id=task)), GetTaskResult), "tasks/get")

        await bounded(c.list_tools(), "tools/list")
        since = len(seen.exchanges)
        task, made_on = await create(1, quick)
        status = None
        for _ in range(60):
            status = (await get(task)).status
            if status == "completed":
                break
            await anyio.sleep(0.1)
        expect(status == "completed", f"the task is {status}")
        payload = GetTaskPayloadRequest(params=GetTaskPayloadRequestParams(task_id=task))
        result = await bounded(session.send_request(payload, CallToolResult), "tasks/result")
        expect(expected in text_of(result), text_of(result))
        polled = sorted({e["replica"] for e in seen.exchanges[since:] if '"tasks/get"' in e["body"]})
        expect(any(r != made_on for r in polled), f"made on {made_on}, polled only on {polled}")

        since = len(seen.exchanges)
        long_task, long_on = await create(2, long)
        cancel = CancelTaskRequest(params=CancelTaskRequestParams(task_id=long_task))
        cancelled = await bounded(session.send_request(cancel, CancelTaskResult), "tasks/cancel")
        cancel_on = next(e["replica"] for e in seen.exchanges[since:] if '"tasks/cancel"' in e["body"])
        expect(cancelled.status == "cancelled", f"cancelled: {cancelled}")
        after = [(await get(long_task)).status for _ in range(3)]
        expect(after == ["cancelled"] * 3, f"after the cancel: {after}")
        got_on = sorted({e["replica"] for e in seen.exchanges[since:] if '"tasks/get"' in e["body"]})
        expect(cancel_on != long_on or len(got_on) > 1, f"made on {long_on}, cancelled on {cancel_on}, read on {got_on}")
    return [
        (f"a 2025-11-25 task made on one replica, polled and its result read through others ({label})", f"made on {made_on}, polled on {polled}"),
        (f"a 2025-11-25 task cancelled across replicas ({label})", f"made on {long_on}, cancelled through {cancel_on}, read as cancelled on {got_on}"),
    ]


async def input_round(url: str, tool: str, arguments: dict[str, Any], expected: str, label: str) -> list[tuple[str, str]]:
    """A 2026-07-28 call of `tool` that asks for input (an input round, MRTR): begun on
    one replica, finished on another."""
    seen = Seen()
    async with client(url, seen, "2026-07-28") as c:
        result = await bounded(c.call_tool(tool, arguments), tool)
        expect(expected in text_of(result), text_of(result))
    rounds = [e for e in seen.exchanges if f'"{tool}"' in e["body"]]
    expect(len(rounds) >= 2, f"no input round: {len(rounds)} request(s)")
    first, last = rounds[0]["replica"], rounds[-1]["replica"]
    expect(first != last, f"the round began and ended on {first}")
    return [(f"a 2026-07-28 input round begun on one replica, finished on another ({label})", f"{first} -> {last}, {len(rounds)} requests")]


def post_raw(url: str, session: str) -> int:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"}).encode()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "content-type": "application/json",
            "accept": "application/json, text/event-stream",
            "mcp-session-id": session,
            "mcp-protocol-version": "2025-11-25",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


def sse_events(lines: list[str]) -> list[tuple[str, str]]:
    """The (id, data) of each event in SSE `lines`."""
    events, event_id, data = [], "", []
    for line in lines + [""]:
        if line == "":
            if data:
                events.append((event_id, "\n".join(data)))
            event_id, data = "", []
        elif line.startswith("id:"):
            event_id = line[3:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
    return events


async def resumed_after_kill(url: str, pids: dict[str, int]) -> list[tuple[str, str]]:
    """A 2025-11-25 session's tool call streams progress; the client reads the first
    notification and drops the connection; the replica that served it is killed; the
    stream is resumed through the load balancer from that notification's id."""
    base = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
    async with httpx.AsyncClient(timeout=CALL_TIMEOUT) as http:
        init = {
            "jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "resume", "version": "1"}},
        }
        opened = await http.post(url, json=init, headers=base)
        expect(opened.status_code == 200, f"initialize: {opened.status_code} {opened.text}")
        headers = {**base, "mcp-session-id": opened.headers["mcp-session-id"], "mcp-protocol-version": "2025-11-25"}
        await http.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers)
        call = {
            "jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "test_tool_with_progress", "arguments": {}, "_meta": {"progressToken": "resume"}},
        }
        lines: list[str] = []
        async with http.stream("POST", url, json=call, headers=headers) as response:
            served = response.headers.get("x-replica", "")
            expect(response.headers.get("content-type", "").startswith("text/event-stream"), "the call did not stream")
            async for line in response.aiter_lines():
                lines.append(line)
                if line == "" and any("notifications/progress" in d for _, d in sse_events(lines)):
                    break
        first = [e for e in sse_events(lines) if "notifications/progress" in e[1]][0]
        expect(served in pids and first[0], f"served by {served!r}, first event {first}")
        await asyncio.sleep(0.5)  # the call finishes on its replica meanwhile
        killed = time.monotonic()
        await kill(pids[served])
        again = {**headers, "accept": "text/event-stream", "last-event-id": first[0]}
        lines, first_event = [], None
        async with http.stream("GET", url, headers=again) as response:
            resumer = response.headers.get("x-replica", "")
            expect(response.status_code == 200, f"resume: {response.status_code} {await response.aread()!r}")
            async for line in response.aiter_lines():
                first_event = first_event or time.monotonic()
                lines.append(line)
        events = sse_events(lines)
    expect(resumer and resumer != served, f"resumed on {resumer!r}, served by {served!r}")
    expect(len(events) == 3, f"three events after the first notification: {events}")
    messages = [json.loads(d) for _, d in events]
    progress = [m.get("params", {}).get("progress") for m in messages[:2]]
    expect(progress == [50, 100], f"the two later progress notifications first, in order: {messages}")
    expect(messages[2].get("id") == 1 and "completed" in json.dumps(messages[2].get("result")), f"then the answer: {messages}")
    ids = [i for i, _ in events]
    expect(len(set(ids)) == 3 and ids[0] != first[0], f"ids {ids} after {first[0]}")
    took = (first_event or time.monotonic()) - killed
    return [
        (
            "a stream resumed with Last-Event-ID after the replica that served it was killed",
            f"{served} killed, {resumer} replayed 2 progress notifications and the answer; first event {took * 1000:.0f} ms after the kill",
        )
    ]


def modern_request(request_id: int, method: str, params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """A 2026-07-28 request and its headers."""
    params = {**params, "_meta": {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}}
    headers = {"accept": "application/json, text/event-stream", "content-type": "application/json",
               "mcp-protocol-version": "2026-07-28", "mcp-method": method}
    if "name" in params:
        headers["mcp-name"] = params["name"]
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}, headers


async def announced_everywhere(url: str) -> list[tuple[str, str]]:
    """A 2026-07-28 listen stream held by one replica hears a tool list change made on
    another (the fixture's `test_trigger_tool_change` re-registers a tool)."""
    async with httpx.AsyncClient(timeout=CALL_TIMEOUT) as http:
        listen, listen_headers = modern_request(1, "subscriptions/listen", {"notifications": {"toolsListChanged": True}})
        async with http.stream("POST", url, json=listen, headers=listen_headers) as stream:
            holder = stream.headers.get("x-replica", "")
            lines = stream.aiter_lines()
            seen: list[str] = []

            async def until(text: str) -> None:
                async for line in lines:
                    seen.append(line)
                    if text in line:
                        return
                raise Failure(f"the listen stream ended before {text}: {seen}")

            await asyncio.wait_for(until("notifications/subscriptions/acknowledged"), CALL_TIMEOUT)
            changed_on = holder
            for n in range(3):
                call, headers = modern_request(2 + n, "tools/call", {"name": "test_trigger_tool_change", "arguments": {}})
                answer = await http.post(url, json=call, headers=headers)
                expect(answer.status_code == 200, f"trigger: {answer.status_code} {answer.text}")
                changed_on = answer.headers.get("x-replica", "")
                if changed_on != holder:
                    break
            expect(changed_on != holder, f"every trigger landed on {holder}, the stream's replica")
            started = time.monotonic()
            await asyncio.wait_for(until("notifications/tools/list_changed"), 10)
            took = time.monotonic() - started
    return [
        (
            "a listen stream on one replica hears a list change made on another",
            f"stream on {holder}, tools changed on {changed_on}, heard within {took * 1000:.0f} ms",
        )
    ]


async def demo(url: str, pid: int) -> list[tuple[str, str]]:
    out = []
    seen = Seen()
    async with client(url, seen, "legacy") as c:
        stored = await bounded(c.call_tool("remember", {"key": "city", "value": "Oslo"}), "remember")
        expect(not stored.is_error, text_of(stored))
        # Round-robin puts the next request on another replica, unless the SDK's own
        # requests (its GET stream) came between: recall until one ran elsewhere.
        for _ in range(3):
            got = await bounded(c.call_tool("recall", {"key": "city"}), "recall")
            expect("Oslo" in text_of(got), text_of(got))
            calls = [e["replica"] for e in seen.exchanges if '"remember"' in e["body"] or '"recall"' in e["body"]]
            if calls[-1] != calls[0]:
                break
        expect(calls[-1] != calls[0], f"remember and every recall on {calls}")
        calls = [calls[0], calls[-1]]
        out.append(("a conversation's context kept across replicas in a legacy session", " -> ".join(calls)))

        for _attempt in range(3):
            since = len(seen.exchanges)
            result = await bounded(c.call_tool("welcome", {}), "welcome")
            expect("Welcome, ada" in text_of(result), text_of(result))
            ran, answered = await answered_elsewhere(seen, since, "welcome")
            if ran != answered:
                break
        expect(ran != answered, f"asked and answered on {ran} three times")
        out.append(("an elicitation sent from one tenet serve replica, answered through another", f"asked by {ran}, answer to {answered}"))

        await kill(pid)
        killed_at = len(seen.exchanges)
        started = time.monotonic()
        def shown() -> list[tuple[str, str, int, str]]:
            return [(e["method"], e["replica"], e["status"], e["body"][:60]) for e in seen.exchanges[killed_at:]]

        for n in range(6):
            try:
                result = await bounded(c.call_tool("echo", {"text": f"after {n}"}), "echo after the kill")
            except Exception as error:  # noqa: BLE001 - show the exchanges that led to it
                raise Failure(f"echo {n} after the kill: {error!r}; exchanges since: {shown()}") from error
            expect(not result.is_error, text_of(result))
        posts = [e for e in seen.exchanges[killed_at:] if e["method"] == "POST"]
        after = sorted({e["replica"] for e in posts if e["replica"]})
        expect("r1" not in after and len(after) == 2, f"served after r1 was killed by {after}: {shown()}")
        out.append(
            (
                "a replica killed mid-session: the session goes on",
                f"6 calls in {time.monotonic() - started:.2f}s on {after}",
            )
        )
        session = next(e["session"] for e in seen.exchanges if e["session"])
    statuses = [post_raw(url, session) for _ in range(3)]
    expect(statuses == [404, 404, 404], f"after DELETE: {statuses}")
    out.append(("DELETE ends the session on every replica", f"then {statuses}"))

    seen = Seen()
    allowed = refused = 0
    started = time.monotonic()
    async with client(url, seen, "2026-07-28") as c:
        for n in range(30):
            try:
                result = await asyncio.wait_for(c.call_tool("add", {"a": n, "b": 1}), CALL_TIMEOUT)
                allowed += 0 if result.is_error else 1
            except Exception:  # noqa: BLE001 - a 429 surfaces as an error
                refused += 1
    elapsed = time.monotonic() - started
    served = sorted(set(seen.replicas()))
    ceiling = 5 + 5 * elapsed + 1
    expect(refused > 0 and allowed <= ceiling, f"{allowed} allowed, {refused} refused in {elapsed:.2f}s")
    out.append(
        (
            "a rate limit (5/s, burst 5) holds in total across replicas",
            f"{allowed} of 30 allowed in {elapsed:.2f}s (at most {ceiling:.0f}) over {served}",
        )
    )
    return out


async def run(fixture: str, demo_url: str, pid: int, fixture_pids: dict[str, int], report: list[int]) -> None:
    for label, step in (
        ("fixture legacy", lambda: legacy_fixture(fixture)),
        ("fixture 2026-07-28", lambda: input_round(fixture, "test_elicitation", {"message": "Who?"}, "accept", "fixture")),
        ("demo 2026-07-28", lambda: input_round(demo_url, "welcome", {}, "Welcome, ada", "tenet serve")),
        ("fixture 2025-11-25 tasks", lambda: legacy_tasks(
            fixture, "slow_compute", {"seconds": 1, "label": "replicas"}, {"seconds": 120}, "Computed replicas", "fixture")),
        ("demo 2025-11-25 tasks", lambda: legacy_tasks(
            demo_url, "countdown", {"steps": 5, "step_ms": 100}, {"steps": 100, "step_ms": 1000}, "counted down 5", "tenet serve")),
        ("fixture announcements", lambda: announced_everywhere(fixture)),
        ("fixture stream resumed", lambda: resumed_after_kill(fixture, fixture_pids)),
        ("demo", lambda: demo(demo_url, pid)),
    ):
        try:
            for check, detail in await step():
                report[0] += 1
                print(f"PASS [replicas] {check}: {detail}", flush=True)
        except Exception as exc:  # noqa: BLE001 - every failure is reported
            report[1] += 1
            while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
                exc = exc.exceptions[0]
            print(f"FAIL [replicas] {label}: {type(exc).__name__}: {exc}", flush=True)
            # Where, in this script: the frames of ours that led there.
            frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == __file__]
            for frame in frames[-4:]:
                print(f"    at line {frame.lineno}: {frame.line}", flush=True)


def main() -> int:
    fixture, demo_url, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
    fixture_pids = {name: int(p) for name, p in (pair.split("=") for pair in sys.argv[4].split(","))}
    report = [0, 0]

    def watchdog() -> None:
        print(f"FAIL watchdog: the run took more than {WATCHDOG:.0f}s", flush=True)
        print(f"{report[0]} passed, {report[1] + 1} failed", flush=True)
        os._exit(1)

    timer = threading.Timer(WATCHDOG, watchdog)
    timer.daemon = True
    timer.start()
    anyio.run(run, fixture, demo_url, pid, fixture_pids, report)
    timer.cancel()
    print(f"{report[0]} passed, {report[1]} failed", flush=True)
    return 0 if report[1] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
