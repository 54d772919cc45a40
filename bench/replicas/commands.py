#!/usr/bin/env python3
"""Redis commands between two `INFO commandstats` snapshots.

Usage: commands.py snapshot PORT > before.json
       commands.py diff PORT before.json   -> one JSON object: {command: calls}
"""

import json
import socket
import sys


def commandstats(port: int) -> dict[str, int]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"INFO commandstats\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            data += chunk
            if not chunk or (data.startswith(b"$") and len(data) >= int(data[1 : data.index(b"\r\n")]) + 4):
                break
    calls = {}
    for line in data.decode().splitlines():
        if line.startswith("cmdstat_"):
            name, fields = line[len("cmdstat_") :].split(":", 1)
            stats = dict(f.split("=", 1) for f in fields.split(","))
            calls[name] = int(stats["calls"])
    return calls


def main() -> None:
    if sys.argv[1] == "snapshot":
        print(json.dumps(commandstats(int(sys.argv[2]))))
        return
    before = json.load(open(sys.argv[3]))
    after = commandstats(int(sys.argv[2]))
    # INFO itself is how we look: not the server's.
    print(json.dumps({k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0) and k != "info"}))


if __name__ == "__main__":
    main()
