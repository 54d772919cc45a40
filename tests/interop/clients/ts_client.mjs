// Drives `tenet serve` with one release of the official TypeScript SDK client
// (@modelcontextprotocol/sdk) over one transport, and checks every method the knowledge
// server offers. Run by scripts/interop-clients, once per SDK release x transport:
//
//   node ts_client.mjs SDK_DIR LABEL stdio TENET_BIN
//   node ts_client.mjs SDK_DIR LABEL http  http://127.0.0.1:PORT/mcp
//   node ts_client.mjs SDK_DIR LABEL sse   http://127.0.0.1:PORT/sse
//
// SDK_DIR is the installed package (node_modules/sdk-old or node_modules/sdk-new, npm
// aliases of @modelcontextprotocol/sdk). The SDK validates each tool's structuredContent
// against its outputSchema inside callTool; this program also makes sure it really
// compiled a validator for every tool (1.20.x silently skips validation when it cannot).
//
// Everything the client side prints is captured: process.stdout/stderr writes, every
// console method, process warnings, the client's and the transport's onerror, unhandled
// rejections. A check fails when its call fails, when its result is wrong, or when
// anything was printed or reported while it ran; the last check fails if anything was
// printed or reported at any time during the session. Nothing is filtered.
//
// Prints one `PASS [LABEL] check: detail` / `FAIL [LABEL] check: why` line per check,
// then `N passed, M failed`; exits 1 on any failure.
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { format } from 'node:util';

const [sdkDir, label, transportKind, target] = process.argv.slice(2);
if (!sdkDir || !label || !['stdio', 'http', 'sse'].includes(transportKind) || !target) {
  process.stderr.write('usage: ts_client.mjs SDK_DIR LABEL stdio|http|sse TENET_BIN|URL\n');
  process.exit(2);
}
const STEP_TIMEOUT_MS = 20000;

// --- capture everything printed or reported on the client side -----------------------
const realOut = process.stdout.write.bind(process.stdout);
const captured = []; // { step, what }
let currentStep = 'startup';
const note = (what) => captured.push({ step: currentStep, what: String(what).trimEnd() });
process.stdout.write = (chunk, ...rest) => { note(`stdout: ${chunk}`); return true; };
process.stderr.write = (chunk, ...rest) => { note(`stderr: ${chunk}`); return true; };
for (const level of ['log', 'info', 'warn', 'error', 'debug', 'trace']) {
  console[level] = (...args) => note(`console.${level}: ${format(...args)}`);
}
process.on('warning', (w) => note(`process warning: ${w.name}: ${w.message}`));
process.on('unhandledRejection', (e) => note(`unhandled rejection: ${e?.stack ?? e}`));
process.on('uncaughtException', (e) => note(`uncaught exception: ${e?.stack ?? e}`));

let passed = 0;
let failed = 0;
const out = (line) => realOut(`${line}\n`);
const oneLine = (s) => String(s).replace(/\s*\n\s*/g, ' | ').slice(0, 1500);
// Repeated messages once each, with a count.
const uniq = (list) => {
  const counts = new Map();
  for (const x of list) counts.set(x, (counts.get(x) ?? 0) + 1);
  return [...counts].map(([x, n]) => (n > 1 ? `${x} (x${n})` : x));
};
const pass = (name, detail) => { passed++; out(`PASS [${label}] ${name}${detail ? `: ${detail}` : ''}`); };
const fail = (name, why) => { failed++; out(`FAIL [${label}] ${name}: ${oneLine(why)}`); };

const settle = () => new Promise((r) => setTimeout(r, 50));
function withTimeout(promise, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer within ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS); }),
  ]).finally(() => clearTimeout(timer));
}
function assert(cond, msg) { if (!cond) throw new Error(msg); }

// check(name, fn): fn returns the PASS detail or throws. Fails as well when anything was
// printed or reported while the step ran (or up to 50 ms after it).
async function check(name, fn) {
  currentStep = name;
  const before = captured.length;
  let detail;
  let error;
  try {
    detail = await withTimeout(Promise.resolve().then(fn), name);
  } catch (e) {
    error = e;
  }
  await settle();
  const printed = uniq(captured.slice(before).map((c) => c.what));
  if (error) {
    fail(name, `${error?.name ?? 'Error'}: ${error?.message ?? error}${printed.length ? `; the client printed: ${printed.join(' || ')}` : ''}`);
    return undefined;
  }
  if (printed.length) {
    fail(name, `the call succeeded but the client printed/reported: ${printed.join(' || ')}`);
    return detail;
  }
  pass(name, typeof detail === 'string' ? detail : '');
  return detail;
}

// --- the SDK ---------------------------------------------------------------------------
const load = (p) => import(pathToFileURL(join(sdkDir, 'dist/esm', p)).href);
const sdkVersion = JSON.parse(await (await import('node:fs/promises')).readFile(join(sdkDir, 'package.json'), 'utf8')).version;
const { Client } = await load('client/index.js');

const client = new Client({ name: 'tenet-interop-ts', version: '1.0.0' }, { capabilities: {} });

let transport;
const serverStderr = [];
if (transportKind === 'stdio') {
  const { StdioClientTransport, getDefaultEnvironment } = await load('client/stdio.js');
  transport = new StdioClientTransport({
    command: target,
    args: ['serve', '--log-level', 'warn'],
    env: getDefaultEnvironment(),
    stderr: 'pipe',
  });
  // The server's own stderr is not the client's output: kept apart, shown on failure.
  transport.stderr?.on('data', (d) => serverStderr.push(String(d)));
} else if (transportKind === 'http') {
  const { StreamableHTTPClientTransport } = await load('client/streamableHttp.js');
  transport = new StreamableHTTPClientTransport(new URL(target));
} else {
  const { SSEClientTransport } = await load('client/sse.js');
  transport = new SSEClientTransport(new URL(target));
}
// The client installs its own transport.onerror on connect and forwards it to
// client.onerror; a second hook here records errors even if that chain changes.
// The initialize result is observed through the transport's onmessage.
let initResult;
const notifications = [];
{
  let handler;
  let errorHandler;
  Object.defineProperty(transport, 'onmessage', {
    configurable: true,
    get: () => handler,
    set: (h) => {
      handler = h && ((msg, extra) => {
        if (msg?.result?.protocolVersion && msg?.result?.serverInfo) initResult = msg.result;
        if (msg?.method && msg.id === undefined) notifications.push(msg.method);
        return h(msg, extra);
      });
    },
  });
  Object.defineProperty(transport, 'onerror', {
    configurable: true,
    get: () => errorHandler,
    set: (h) => {
      errorHandler = (e) => {
        note(`transport onerror: ${e?.stack ?? e}`);
        // Forwarded without the client's own copy of the note: client.onerror is
        // replaced below so each error is recorded once.
        return h?.(e);
      };
    },
  });
}
// The transport hook records every transport error; client.onerror then only adds the
// client's own (protocol-level) errors.
client.onerror = (e) => {
  const text = `${e?.stack ?? e}`;
  if (!captured.some((c) => c.what === `transport onerror: ${text}`)) note(`client onerror: ${text}`);
};

// --- the checks ------------------------------------------------------------------------
let connected = false;
await check(`connect (SDK ${sdkVersion}, ${transportKind})`, async () => {
  await client.connect(transport);
  connected = true;
  const info = client.getServerVersion();
  assert(info?.name === 'tenet', `serverInfo ${JSON.stringify(info)}`);
  const pv = initResult?.protocolVersion ?? transport.protocolVersion ?? '?';
  return `protocol ${pv}, ${info.name} ${info.version}`;
});

const STEPS = [];
const step = (name, fn) => STEPS.push([name, fn]);
let tools = [];
let searchHitUri;

// Why the SDK cached no validator for a tool: 1.20.x compiles with its own Ajv and
// swallows the error; compile again with that same Ajv instance to show it (and once more
// without `$schema`, to show what would fail next).
function whyNoValidator(tool) {
  if (!client._ajv) return 'no validator cached';
  const attempt = (schema) => {
    try { client._ajv.compile(schema); return 'compiles'; } catch (e) { return e.message; }
  };
  const first = attempt(tool.outputSchema);
  if (!('$schema' in tool.outputSchema)) return first;
  const { $schema, ...rest } = tool.outputSchema;
  return `${first} (and without $schema: ${attempt(rest)})`;
}
// The SDK validates structuredContent in callTool only with a validator it compiled at
// tools/list; without one, "validated by the SDK" would be false.
function assertValidated(name) {
  if (typeof client.getToolOutputValidator !== 'function') return;
  const tool = tools.find((t) => t.name === name);
  if (tool?.outputSchema && !client.getToolOutputValidator(name)) {
    throw new Error(`the result came back, but the SDK did not validate it against ${name}'s outputSchema (it could not compile it: ${whyNoValidator(tool)})`);
  }
}

step('tools/list', async () => {
  const r = await client.listTools();
  tools = r.tools;
  const names = tools.map((t) => t.name).sort();
  for (const n of ['get_stdlib', 'list_stdlib', 'search_stdlib']) assert(names.includes(n), `no ${n} in ${names}`);
  for (const t of tools) {
    assert(t.outputSchema, `${t.name} has no outputSchema`);
    if (typeof client.getToolOutputValidator === 'function' && !client.getToolOutputValidator(t.name)) {
      // SDK 1.20.x swallows the compile error and then skips validation: reproduce it.
      throw new Error(`the SDK could not compile ${t.name}'s outputSchema, so it would not validate its structuredContent: ${whyNoValidator(t)}`);
    }
  }
  return names.join(', ');
});

step('tools/call get_stdlib rust testing (structuredContent validated by the SDK)', async () => {
  const r = await client.callTool({ name: 'get_stdlib', arguments: { language: 'rust', domain: 'testing' } });
  assert(!r.isError, `isError: ${JSON.stringify(r.content).slice(0, 300)}`);
  const s = r.structuredContent;
  assert(s && s.found === true, `found ${s?.found}`);
  const uris = (s.documents ?? []).map((d) => d.uri);
  assert(JSON.stringify(uris) === JSON.stringify(['stdlib://all/testing', 'stdlib://rust/testing']), `documents ${JSON.stringify(uris)}`);
  assert(typeof s.content === 'string' && s.content.startsWith('# '), 'content is not Markdown');
  assert(r.content?.[0]?.type === 'text' && r.content[0].text.length > 0, 'no text block');
  assertValidated('get_stdlib');
  return `${JSON.stringify(s.title)}, ${s.tokens} tokens`;
});

step('tools/call search_stdlib "sql injection" (structuredContent validated by the SDK)', async () => {
  const r = await client.callTool({ name: 'search_stdlib', arguments: { query: 'sql injection', domain: 'security' } });
  assert(!r.isError, `isError: ${JSON.stringify(r.content).slice(0, 300)}`);
  const hits = r.structuredContent?.results ?? [];
  assert(hits.length > 0, 'no hits');
  assert(hits.every((h) => h.domain === 'security'), 'a hit outside security');
  const h = hits[0];
  assert(h.uri && h.section, `hit without uri/section: ${JSON.stringify(h)}`);
  searchHitUri = h.uri.includes('#') ? h.uri : `${h.uri}#${h.section}`;
  const text = r.content?.map((c) => c.text ?? '').join('\n') ?? '';
  assert(text.includes(searchHitUri), `the text block does not show ${searchHitUri}`);
  assertValidated('search_stdlib');
  return `${hits.length} hits, first ${searchHitUri}`;
});

step('tools/call list_stdlib (structuredContent validated by the SDK)', async () => {
  const r = await client.callTool({ name: 'list_stdlib', arguments: {} });
  assert(!r.isError, `isError: ${JSON.stringify(r.content).slice(0, 300)}`);
  const s = r.structuredContent;
  const langs = [...(s?.languages ?? [])].sort();
  for (const l of ['go', 'javascript', 'python', 'rust', 'typescript']) assert(langs.includes(l), `languages ${langs}`);
  assert((s.entries ?? []).length > 0, 'no entries');
  assertValidated('list_stdlib');
  return `${langs.join(', ')}; ${s.entries.length} entries`;
});

step('resources/list', async () => {
  const r = await client.listResources();
  const uris = r.resources.map((x) => x.uri);
  assert(uris.includes('stdlib://rust/testing'), `no stdlib://rust/testing among ${uris.length} resources`);
  return `${uris.length} resources`;
});

const readText = async (uri) => {
  const r = await client.readResource({ uri });
  assert(r.contents?.length > 0, `no contents for ${uri}`);
  const c = r.contents[0];
  assert(typeof c.text === 'string' && c.text.length > 0, `no text for ${uri}`);
  return c;
};

step('resources/read stdlib://rust/testing', async () => {
  const c = await readText('stdlib://rust/testing');
  assert(c.text.startsWith('# ') || c.text.startsWith('---'), 'not Markdown');
  return `${c.mimeType}, ${c.text.length} chars`;
});

step('resources/read of a search hit URI (#section)', async () => {
  assert(searchHitUri, 'search_stdlib gave no hit URI');
  const c = await readText(searchHitUri);
  return `${searchHitUri}: ${c.mimeType}, ${c.text.length} chars`;
});

step('resources/templates/list', async () => {
  const r = await client.listResourceTemplates();
  const t = r.resourceTemplates.map((x) => x.uriTemplate);
  assert(t.includes('stdlib://{language}/{domain}'), `templates ${t}`);
  return t.join(', ');
});

step('prompts/list', async () => {
  const r = await client.listPrompts();
  const names = r.prompts.map((p) => p.name).sort();
  for (const n of ['review_against_standards', 'standards_brief']) assert(names.includes(n), `prompts ${names}`);
  return names.join(', ');
});

step('prompts/get review_against_standards', async () => {
  const r = await client.getPrompt({
    name: 'review_against_standards',
    arguments: { language: 'python', domain: 'security', code: 'cur.execute("SELECT * FROM t WHERE id=" + uid)' },
  });
  assert(r.messages?.length > 0, 'no messages');
  const uris = r.messages.filter((m) => m.content?.type === 'resource').map((m) => m.content.resource.uri);
  const text = JSON.stringify(r.messages);
  assert(text.includes('cur.execute'), 'the code is not in the prompt');
  return `${r.messages.length} messages${uris.length ? `, embedding ${uris.join(', ')}` : ''}`;
});

step('completion/complete stdlib://{language}/{domain} language "ru"', async () => {
  const r = await client.complete({
    ref: { type: 'ref/resource', uri: 'stdlib://{language}/{domain}' },
    argument: { name: 'language', value: 'ru' },
  });
  const v = r.completion?.values ?? [];
  assert(v.includes('rust'), `values ${JSON.stringify(v)}`);
  return JSON.stringify(v);
});

step('completion/complete review_against_standards language "py"', async () => {
  const r = await client.complete({
    ref: { type: 'ref/prompt', name: 'review_against_standards' },
    argument: { name: 'language', value: 'py' },
  });
  const v = r.completion?.values ?? [];
  assert(v.includes('python'), `values ${JSON.stringify(v)}`);
  return JSON.stringify(v);
});

step('ping', async () => {
  await client.ping();
  return '';
});

step('logging/setLevel warning', async () => {
  await client.setLoggingLevel('warning');
  return '';
});

for (const [name, fn] of STEPS) {
  if (!connected) { fail(name, 'not run: connect failed'); continue; }
  await check(name, fn);
}

await check('close', async () => {
  if (!connected) return '';
  const before = captured.length;
  await client.close();
  await settle();
  // Filtered, narrowly: StreamableHTTPClientTransport.close() aborts its own standalone GET
  // SSE stream and then reports that abort through onerror as "SSE stream disconnected:
  // AbortError: This operation was aborted" (both 1.20.x and 1.32.x do, against any server
  // that offers the GET stream; upstream discussion: modelcontextprotocol/typescript-sdk
  // pull request 1827). It is the client reporting its own close, not something the server
  // did, so only that exact message, only after close() was called, is dropped.
  const own = /^transport onerror: Error: SSE stream disconnected: AbortError: This operation was aborted(\n|$)/;
  const dropped = [];
  for (let i = captured.length - 1; i >= before; i--) {
    if (transportKind === 'http' && own.test(captured[i].what)) dropped.push(...captured.splice(i, 1));
  }
  return dropped.length ? "ignored the SDK's report of aborting its own GET stream on close" : '';
});
// Anything late (an SSE stream error after the last request) lands here too.
await new Promise((r) => setTimeout(r, 300));
currentStep = 'end';
{
  const all = uniq(captured.map((c) => `[during ${c.step}] ${c.what}`));
  if (all.length) fail('the client printed no error and no warning in the whole session', all.join(' || '));
  else pass('the client printed no error and no warning in the whole session', notifications.length ? `notifications seen: ${[...new Set(notifications)].join(', ')}` : '');
}
if (transportKind === 'stdio') {
  // The server logs at warn: a warning, an error or a panic there fails, as the HTTP
  // server's log does (scripts/interop-clients).
  const lines = serverStderr.join('').split('\n').filter((l) => l.trim());
  const bad = lines.filter((l) => /\b(WARN|ERROR)\b|panicked at/.test(l));
  const name = 'the stdio server logged no warning, no error and no panic';
  if (bad.length) fail(name, uniq(bad).join(' || '));
  else pass(name, `${lines.length} lines at --log-level warn`);
}
if (serverStderr.length && (!connected || process.env.INTEROP_DEBUG)) {
  out(`    server stderr: ${oneLine(serverStderr.join(''))}`);
}
out(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
