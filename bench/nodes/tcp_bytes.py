#!/usr/bin/env python3
"""The TCP bytes a process's open connections have sent and received, from the kernel's
own counters (`ss -tinp`: bytes_sent, bytes_received), by connection.

Usage: python bench/nodes/tcp_bytes.py PID            -> JSON {"local peer": [sent, received]}
       python bench/nodes/tcp_bytes.py PID BEFORE.json -> JSON {"sent": n, "received": n,
          "connections": n, "closed": n}: what was sent and received since BEFORE (a
          connection opened since counts from zero; one closed since is counted in
          `closed` and its bytes are lost, so the figures are a floor).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys


def snapshot(pid: str) -> dict[str, list[int]]:
    out = subprocess.run(["ss", "-tinpH"], capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    connections: dict[str, list[int]] = {}
    for i, line in enumerate(lines):
        if f"pid={pid}," not in line or i + 1 >= len(lines):
            continue
        fields = line.split()
        key = f"{fields[3]} {fields[4]}"
        info = lines[i + 1]
        sent = re.search(r"bytes_sent:(\d+)", info)
        received = re.search(r"bytes_received:(\d+)", info)
        connections[key] = [int(sent.group(1)) if sent else 0, int(received.group(1)) if received else 0]
    return connections


def main() -> None:
    now = snapshot(sys.argv[1])
    if len(sys.argv) == 2:
        print(json.dumps(now))
        return
    with open(sys.argv[2], encoding="utf-8") as f:
        before: dict[str, list[int]] = json.load(f)
    sent = sum(s - before.get(k, [0, 0])[0] for k, (s, _) in now.items())
    received = sum(r - before.get(k, [0, 0])[1] for k, (_, r) in now.items())
    closed = sum(1 for k in before if k not in now)
    print(json.dumps({"sent": sent, "received": received, "connections": len(now), "closed": closed}))


if __name__ == "__main__":
    main()
