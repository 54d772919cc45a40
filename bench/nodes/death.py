#!/usr/bin/env python3
"""How long a client of node A waits to hear that a peer of A died: the time from the
peer's death to `notifications/tools/list_changed` at a legacy-session client of A
(the official Python SDK), and until the peer's tools are gone from A's list.

Usage: python bench/nodes/death.py A_URL PEER_TOOL ROUNDS MODE -- PEER_COMMAND...

MODE `kill`: the peer process is killed (SIGKILL; its connections close at once).
MODE `hang`: the peer is stopped (SIGSTOP: it holds its connections and answers
nothing), so only missed heartbeats tell; it is continued (SIGCONT) after each round.
Each round starts the peer (once), waits until PEER_TOOL is listed, does it, measures,
then brings it back. Prints one JSON line per round, then exits 0.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import anyio
from mcp import Client
from mcp.types import ToolListChangedNotification


async def main() -> None:
    separator = sys.argv.index("--")
    url, tool, rounds, mode = sys.argv[1:separator]
    command = sys.argv[separator + 1 :]
    told: list[float] = []

    async def on_message(message: object) -> None:
        if isinstance(message, ToolListChangedNotification) or getattr(
            getattr(message, "root", None), "method", None
        ) == "notifications/tools/list_changed":
            told.append(time.monotonic())

    async def listed(c: Client) -> bool:
        return any(t.name == tool for t in (await c.list_tools()).tools)

    async def until(c: Client, present: bool, within: float) -> float:
        started = time.monotonic()
        while await listed(c) != present:
            if time.monotonic() - started > within:
                raise TimeoutError(f"{tool} {'never listed' if present else 'still listed'} after {within:.0f}s")
            await anyio.sleep(0.01)
        return time.monotonic() - started

    peer = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        async with Client(url, mode="legacy", read_timeout_seconds=30, message_handler=on_message) as c:
            for round_ in range(1, int(rounds) + 1):
                await until(c, True, 60)
                await anyio.sleep(0.5)
                died = time.monotonic()
                if mode == "kill":
                    peer.kill()
                    peer.wait()
                else:
                    os.kill(peer.pid, signal.SIGSTOP)
                gone = await until(c, False, 120)
                deadline = time.monotonic() + 5
                while not [t for t in told if t >= died] and time.monotonic() < deadline:
                    await anyio.sleep(0.01)
                first = min((t for t in told if t >= died), default=None)
                print(
                    json.dumps(
                        {
                            "mode": mode,
                            "round": round_,
                            "list_changed_ms": None if first is None else round((first - died) * 1000, 1),
                            "gone_from_list_ms": round(gone * 1000, 1),
                        }
                    ),
                    flush=True,
                )
                if mode == "kill":
                    peer = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                else:
                    os.kill(peer.pid, signal.SIGCONT)
    finally:
        if peer.poll() is None:
            os.kill(peer.pid, signal.SIGCONT)
            peer.kill()
            peer.wait()


if __name__ == "__main__":
    anyio.run(main)
