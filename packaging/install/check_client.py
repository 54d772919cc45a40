"""Connects the official MCP Python SDK client to a Tenet started by COMMAND ARGS... over
stdio, as an assistant would, and checks it serves the standards: initialize, the
search tool listed, a search that finds the section on goroutine leaks.

    python check_client.py COMMAND ARGS...
"""

import asyncio
import json
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


async def main(command, args):
    params = StdioServerParameters(command=command, args=args)
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await asyncio.wait_for(session.initialize(), 60)
            tools = [tool.name for tool in (await session.list_tools()).tools]
            assert "search_stdlib" in tools, tools
            result = await session.call_tool("search_stdlib", {"query": "goroutine leak", "limit": 1})
            assert not result.is_error, result
            hits = (result.structured_content or json.loads(result.content[0].text))["results"]
            assert hits and hits[0]["uri"] == "stdlib://go/patterns", hits
            print(f"{init.server_info.name} {init.server_info.version}: {len(tools)} tools; "
                  f"search_stdlib found {hits[0]['uri']}#{hits[0]['section']}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2:]))
