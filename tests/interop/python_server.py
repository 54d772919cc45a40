"""A small server on the official Python MCP SDK (mcp==2.3.0) for Tenet's client interop
tests: `python_server.py stdio` or `python_server.py http PORT` (loopback only)."""

import sys

from mcp.server import MCPServer

server = MCPServer("python-interop")


@server.tool(description="Echo a message back")
def echo(message: str) -> str:
    return f"Echo: {message}"


@server.tool(description="Add two integers")
def add(a: int, b: int) -> str:
    return str(a + b)


@server.resource("interop://greeting", name="greeting", description="A fixed greeting")
def greeting() -> str:
    return "Hello from Python"


@server.prompt(description="Greet someone")
def greet(name: str) -> str:
    return f"Please greet {name}."


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
