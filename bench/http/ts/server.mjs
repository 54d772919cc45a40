// Benchmark peer: the official TypeScript SDK (@modelcontextprotocol/sdk 1.32.2)
// serving one `echo` tool over Streamable HTTP on 127.0.0.1, with express.
//
//   node server.mjs PORT [stateless|session]
//
// stateless (default): the SDK's documented stateless pattern, a fresh McpServer +
// StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true })
// per POST (a stateless transport cannot be reused across requests). 1.32.2 knows
// protocol versions up to 2025-11-25 only, so it is driven with that header.
// session: one transport per initialize, looked up by Mcp-Session-Id.
import { randomUUID } from 'node:crypto';
import express from 'express';
import { z } from 'zod';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';

const port = Number(process.argv[2] ?? 3033);
const stateless = (process.argv[3] ?? 'stateless') !== 'session';

function makeServer() {
  const server = new McpServer({ name: 'ts-echo', version: '0.1.0' });
  server.registerTool('echo', { description: 'Echo the given text back.', inputSchema: { text: z.string() } },
    async ({ text }) => ({ content: [{ type: 'text', text }] }));
  return server;
}

const app = express();
app.use(express.json({ limit: '4mb' }));
const sessions = new Map();

app.post('/mcp', async (req, res) => {
  try {
    if (stateless) {
      const server = makeServer();
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      res.on('close', () => { transport.close(); server.close(); });
      await server.connect(transport);
      await transport.handleRequest(req, res, req.body);
      return;
    }
    const sid = req.headers['mcp-session-id'];
    let transport = sid ? sessions.get(sid) : undefined;
    if (!transport && !sid && isInitializeRequest(req.body)) {
      transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(), enableJsonResponse: true,
        onsessioninitialized: (id) => sessions.set(id, transport),
      });
      transport.onclose = () => { if (transport.sessionId) sessions.delete(transport.sessionId); };
      await makeServer().connect(transport);
    }
    if (!transport) {
      res.status(sid ? 404 : 400).json({ jsonrpc: '2.0', error: { code: -32000, message: 'bad session' }, id: null });
      return;
    }
    await transport.handleRequest(req, res, req.body);
  } catch (e) {
    if (!res.headersSent) res.status(500).json({ jsonrpc: '2.0', error: { code: -32603, message: String(e) }, id: null });
  }
});

const httpServer = app.listen(port, '127.0.0.1', () => console.error(`ts-echo on 127.0.0.1:${port}/mcp (${stateless ? 'stateless' : 'session'})`));
httpServer.on('connection', (socket) => socket.setNoDelay(true));
