"""FastMCP's proxy in front of one upstream: a gateway peer for bench/gateway-run.sh.

    fastmcp_proxy.py stdio|http PORT UPSTREAM...

UPSTREAM is a URL (Streamable HTTP) or a command and its arguments (stdio). The
backend client is connected once and shared by every request (FastMCP's fastest
proxy setup; a disconnected client would open a fresh upstream session per request).
The front end is stdio, or Streamable HTTP on 127.0.0.1:PORT/mcp.
"""

import asyncio
import sys

from fastmcp import Client
from fastmcp.server import create_proxy


async def main() -> None:
    front, port, target = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    if target[0].startswith("http"):
        backend = Client(target[0])
    else:
        backend = Client({"mcpServers": {"up": {"command": target[0], "args": target[1:]}}})
    async with backend:
        proxy = create_proxy(backend, name="fastmcp-proxy")
        if front == "stdio":
            await proxy.run_async(transport="stdio", show_banner=False, log_level="ERROR")
        else:
            await proxy.run_async(transport="http", show_banner=False, host="127.0.0.1", port=port,
                                  path="/mcp", log_level="error")


asyncio.run(main())
