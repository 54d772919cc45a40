"""Benchmark peer: the official Python SDK (mcp 2.3.0) serving one `echo` tool
over Streamable HTTP on 127.0.0.1, via uvicorn (one process, one event loop).

    python server.py PORT [stateless|session]

`stateless` (default): streamable_http_app(stateless_http=True, json_response=True).
`session`: the SDK's default legacy session mode (json_response=True too).
"""

import sys

import uvicorn
from mcp.server.mcpserver import MCPServer

port = int(sys.argv[1]) if len(sys.argv) > 1 else 3032
stateless = (sys.argv[2] if len(sys.argv) > 2 else "stateless") != "session"

# WARNING, not the default INFO: the SDK logs a line per stateless request at INFO.
server = MCPServer("python-echo", log_level="WARNING")


@server.tool(description="Echo the given text back.")
def echo(text: str) -> str:
    """Return `text` unchanged."""
    return text


app = server.streamable_http_app(stateless_http=stateless, json_response=True)
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
