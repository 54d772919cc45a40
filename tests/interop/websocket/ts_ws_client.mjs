// Drives `tenet serve --transport http` over WebSocket (ws://HOST:PORT/mcp) with one
// release of the official TypeScript SDK's WebSocketClientTransport
// (@modelcontextprotocol/sdk/client/websocket.js, Node 22's global WebSocket, subprotocol
// "mcp"): the legacy era (initialize), then the knowledge server's tools, resources and
// prompts. Run by scripts/interop-websocket, once per SDK release:
//
//   node ts_ws_client.mjs SDK_DIR LABEL ws://127.0.0.1:PORT/mcp
//
// Everything the client side prints or reports is captured (stdout/stderr writes, console,
// process warnings, the client's and the transport's onerror, unhandled rejections): a
// check fails when its call fails, its result is wrong, or anything was printed while it
// ran; the last check fails if anything was printed at any time. Nothing is filtered.
//
// Prints one `PASS [LABEL] check: detail` / `FAIL [LABEL] check: why` line per check, then
// `N passed, M failed`; exits 1 on any failure.
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { format } from 'node:util';
import { readFile } from 'node:fs/promises';

const [sdkDir, label, url] = process.argv.slice(2);
if (!sdkDir || !label || !url?.startsWith('ws://')) {
  process.stderr.write('usage: ts_ws_client.mjs SDK_DIR LABEL ws://HOST:PORT/mcp\n');
  process.exit(2);
}
const STEP_TIMEOUT_MS = 20000;

// --- capture everything printed or reported on the client side -----------------------
const realOut = process.stdout.write.bind(process.stdout);
const captured = []; // { step, what }
let currentStep = 'startup';
const note = (what) => captured.push({ step: currentStep, what: String(what).trimEnd() });
process.stdout.write = (chunk) => { note(`stdout: ${chunk}`); return true; };
process.stderr.write = (chunk) => { note(`stderr: ${chunk}`); return true; };
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
const pass = (name, detail) => { passed++; out(`PASS [${label}] ${name}${detail ? `: ${detail}` : ''}`); };
const fail = (name, why) => { failed++; out(`FAIL [${label}] ${name}: ${oneLine(why)}`); };
const settle = () => new Promise((r) => setTimeout(r, 50));
function assert(cond, msg) { if (!cond) throw new Error(msg); }
function withTimeout(promise, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer within ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS); }),
  ]).finally(() => clearTimeout(timer));
}

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
  const printed = [...new Set(captured.slice(before).map((c) => c.what))];
  if (error) {
    fail(name, `${error?.name ?? 'Error'}: ${error?.message ?? error}${printed.length ? `; the client printed: ${printed.join(' || ')}` : ''}`);
  } else if (printed.length) {
    fail(name, `the call succeeded but the client printed/reported: ${printed.join(' || ')}`);
  } else {
    pass(name, typeof detail === 'string' ? detail : '');
  }
  return error ? undefined : detail;
}

// --- the SDK and its WebSocket transport ----------------------------------------------
const load = (p) => import(pathToFileURL(join(sdkDir, 'dist/esm', p)).href);
const sdkVersion = JSON.parse(await readFile(join(sdkDir, 'package.json'), 'utf8')).version;
const { Client } = await load('client/index.js');
const { WebSocketClientTransport } = await load('client/websocket.js');
const { LATEST_PROTOCOL_VERSION } = await load('types.js');

const client = new Client({ name: 'tenet-interop-ts-ws', version: '1.0.0' }, { capabilities: {} });
const transport = new WebSocketClientTransport(new URL(url));

// Every message either way, as the SDK sees it: the initialize request and result, and
// the notifications, are checked below.
const sent = [];
const received = [];
{
  const send = transport.send.bind(transport);
  transport.send = (msg, ...rest) => { sent.push(msg); return send(msg, ...rest); };
  let handler;
  let errorHandler;
  Object.defineProperty(transport, 'onmessage', {
    configurable: true,
    get: () => handler,
    set: (h) => { handler = h && ((msg, extra) => { received.push(msg); return h(msg, extra); }); },
  });
  Object.defineProperty(transport, 'onerror', {
    configurable: true,
    get: () => errorHandler,
    set: (h) => { errorHandler = (e) => { note(`transport onerror: ${e?.stack ?? e}`); return h?.(e); }; },
  });
}
client.onerror = (e) => {
  const text = `${e?.stack ?? e}`;
  if (!captured.some((c) => c.what === `transport onerror: ${text}`)) note(`client onerror: ${text}`);
};
let initProtocol = '?';
let closedBy = null; // set when the socket closes: { code, reason, wasClean, early }
let closing = false;

// --- the checks ------------------------------------------------------------------------
let connected = false;
await check(`connect + initialize (SDK ${sdkVersion} WebSocketClientTransport)`, async () => {
  assert(typeof globalThis.WebSocket === 'function', `no global WebSocket in Node ${process.version}`);
  await client.connect(transport);
  connected = true;
  const ws = transport._socket;
  assert(ws instanceof globalThis.WebSocket, 'the transport did not use the global WebSocket');
  ws.addEventListener('close', (ev) => { closedBy = { code: ev.code, reason: ev.reason, wasClean: ev.wasClean, early: !closing }; });
  assert(ws.protocol === 'mcp', `negotiated subprotocol ${JSON.stringify(ws.protocol)}, expected "mcp" (the transport requests it)`);
  const init = sent.find((m) => m.method === 'initialize');
  assert(init, 'no initialize request was sent');
  const initResult = received.find((m) => m.id === init.id)?.result;
  assert(initResult, 'no initialize result');
  assert(init.params.protocolVersion === LATEST_PROTOCOL_VERSION, `the SDK offered ${init.params.protocolVersion}`);
  assert(initResult.protocolVersion === LATEST_PROTOCOL_VERSION,
    `server answered protocolVersion ${initResult.protocolVersion}, the SDK offered ${LATEST_PROTOCOL_VERSION} (which the server should accept)`);
  assert(sent.some((m) => m.method === 'notifications/initialized'), 'no notifications/initialized sent');
  initProtocol = initResult.protocolVersion;
  const info = client.getServerVersion();
  assert(info?.name === 'tenet', `serverInfo ${JSON.stringify(info)}`);
  const caps = client.getServerCapabilities();
  for (const c of ['tools', 'resources', 'prompts']) assert(caps?.[c], `no ${c} capability: ${JSON.stringify(caps)}`);
  return `subprotocol ${ws.protocol}, protocol ${initResult.protocolVersion}, ${info.name} ${info.version}`;
});

const STEPS = [];
const step = (name, fn) => STEPS.push([name, fn]);
let searchHit;

step('tools/list', async () => {
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name).sort();
  for (const n of ['get_stdlib', 'list_stdlib', 'search_stdlib']) assert(names.includes(n), `no ${n} in ${names}`);
  const get = tools.find((t) => t.name === 'get_stdlib');
  assert(get.inputSchema?.properties?.language && get.inputSchema?.properties?.domain, 'get_stdlib takes no language/domain');
  assert(get.outputSchema, 'get_stdlib has no outputSchema');
  return names.join(', ');
});

step('tools/call get_stdlib {language:"rust", domain:"testing"}', async () => {
  const r = await client.callTool({ name: 'get_stdlib', arguments: { language: 'rust', domain: 'testing' } });
  assert(!r.isError, `isError: ${JSON.stringify(r.content).slice(0, 300)}`);
  const s = r.structuredContent;
  assert(s?.found === true, `found ${s?.found}`);
  const uris = (s.documents ?? []).map((d) => d.uri);
  assert(JSON.stringify(uris) === JSON.stringify(['stdlib://all/testing', 'stdlib://rust/testing']), `documents ${JSON.stringify(uris)}`);
  const text = r.content?.filter((c) => c.type === 'text').map((c) => c.text).join('\n') ?? '';
  for (const needle of ['# Testing standards', '# Rust testing', 'cargo-nextest', 'proptest']) {
    assert(text.includes(needle) && s.content.includes(needle), `the standard lacks ${JSON.stringify(needle)}`);
  }
  assert(text.indexOf('# Testing standards') < text.indexOf('# Rust testing'), 'the base standard does not come first');
  return `${uris.join(' + ')}, ${text.length} chars`;
});

step('tools/call search_stdlib {query:"sql injection", domain:"security"}', async () => {
  const r = await client.callTool({ name: 'search_stdlib', arguments: { query: 'sql injection', domain: 'security' } });
  assert(!r.isError, `isError: ${JSON.stringify(r.content).slice(0, 300)}`);
  const hits = r.structuredContent?.results ?? [];
  assert(hits.length > 0, 'no hits');
  assert(hits.every((h) => h.domain === 'security'), `a hit outside security: ${JSON.stringify(hits.map((h) => h.uri))}`);
  for (let i = 1; i < hits.length; i++) assert(hits[i - 1].score >= hits[i].score, 'hits not ordered by score');
  searchHit = hits[0];
  const text = r.content?.map((c) => c.text ?? '').join('\n') ?? '';
  assert(text.includes(hits[0].uri), `the text block does not name ${hits[0].uri}`);
  assert(/inject/i.test(JSON.stringify(hits)), 'no hit mentions injection');
  return `${hits.length} hits, first ${hits[0].uri} (${hits[0].section})`;
});

step('resources/list', async () => {
  const { resources } = await client.listResources();
  const uris = resources.map((x) => x.uri);
  for (const u of ['stdlib://rust/testing', 'stdlib://all/testing', 'stdlib://python/security']) assert(uris.includes(u), `no ${u} among ${uris.length} resources`);
  return `${uris.length} resources`;
});

step('resources/read stdlib://rust/testing', async () => {
  const r = await client.readResource({ uri: 'stdlib://rust/testing' });
  const c = r.contents?.[0];
  assert(c?.uri === 'stdlib://rust/testing', `contents[0].uri ${c?.uri}`);
  assert(typeof c.text === 'string', 'no text');
  for (const needle of ['# Rust testing', 'Test invariants with proptest']) assert(c.text.includes(needle), `the document lacks ${JSON.stringify(needle)}`);
  return `${c.mimeType}, ${c.text.length} chars`;
});

step('prompts/list', async () => {
  const { prompts } = await client.listPrompts();
  const names = prompts.map((p) => p.name).sort();
  for (const n of ['review_against_standards', 'standards_brief']) assert(names.includes(n), `prompts ${names}`);
  return names.join(', ');
});

step('prompts/get standards_brief {language:"rust"}', async () => {
  const r = await client.getPrompt({ name: 'standards_brief', arguments: { language: 'rust' } });
  assert(r.messages?.length > 0, 'no messages');
  const text = JSON.stringify(r.messages);
  assert(text.includes('stdlib://rust/testing'), 'the brief does not name stdlib://rust/testing');
  return `${r.messages.length} message(s), ${text.length} chars`;
});

step('prompts/get review_against_standards (python, security, a snippet)', async () => {
  const code = 'cur.execute("SELECT * FROM t WHERE id=" + uid)';
  const r = await client.getPrompt({ name: 'review_against_standards', arguments: { language: 'python', domain: 'security', code } });
  const uris = r.messages.filter((m) => m.content?.type === 'resource').map((m) => m.content.resource.uri);
  assert(JSON.stringify(r.messages).includes('cur.execute'), 'the code is not in the prompt');
  assert(uris.includes('stdlib://python/security'), `embedded resources ${JSON.stringify(uris)}`);
  return `${r.messages.length} messages, embedding ${uris.join(', ')}`;
});

step('completion/complete stdlib://{language}/{domain} language "ru"', async () => {
  const r = await client.complete({ ref: { type: 'ref/resource', uri: 'stdlib://{language}/{domain}' }, argument: { name: 'language', value: 'ru' } });
  const v = r.completion?.values ?? [];
  assert(v.includes('rust'), `values ${JSON.stringify(v)}`);
  return JSON.stringify(v);
});

step('8 requests in flight at once on the one socket, answers matched by id', async () => {
  const langs = ['rust', 'python', 'go', 'typescript'];
  const calls = langs.flatMap((language) => [
    client.callTool({ name: 'get_stdlib', arguments: { language, domain: 'security' } }).then((r) => ['tool', language, r]),
    client.readResource({ uri: `stdlib://${language}/testing` }).then((r) => ['read', language, r]),
  ]);
  const results = await Promise.all(calls);
  for (const [kind, language, r] of results) {
    if (kind === 'tool') {
      const uris = (r.structuredContent?.documents ?? []).map((d) => d.uri);
      assert(uris.includes(`stdlib://${language}/security`), `get_stdlib ${language} security answered with ${JSON.stringify(uris)}`);
    } else {
      assert(r.contents?.[0]?.uri === `stdlib://${language}/testing`, `read stdlib://${language}/testing answered with ${r.contents?.[0]?.uri}`);
    }
  }
  return `${results.length} answers, each for its own request`;
});

step('ping', async () => { await client.ping(); return ''; });

step('era on the wire: legacy answers only (no resultType, no 2026-07-28 _meta)', async () => {
  const answers = received.filter((m) => m.id !== undefined && !m.method);
  assert(answers.length >= sent.filter((m) => m.id !== undefined).length, `${answers.length} answers for ${sent.length} messages sent`);
  const modern = answers.filter((m) => m.result && ('resultType' in m.result || m.result._meta?.['io.modelcontextprotocol/serverInfo']));
  assert(!modern.length, `answers with 2026-07-28 fields: ids ${modern.map((m) => m.id)}`);
  const errors = answers.filter((m) => m.error);
  assert(!errors.length, `error answers: ${JSON.stringify(errors).slice(0, 400)}`);
  return `${answers.length} answers, all plain ${initProtocol} results`;
});

for (const [name, fn] of STEPS) {
  if (!connected) { fail(name, 'not run: connect failed'); continue; }
  await check(name, fn);
}

await check('the socket stayed open until the client closed it, then closed cleanly', async () => {
  assert(connected, 'not run: connect failed');
  assert(closedBy === null, `the socket closed before the client asked: ${JSON.stringify(closedBy)}`);
  closing = true;
  const closed = new Promise((resolve) => {
    const prev = transport.onclose;
    transport.onclose = () => { prev?.(); resolve(); };
  });
  await client.close();
  await closed;
  await settle();
  assert(closedBy?.wasClean === true, `close event ${JSON.stringify(closedBy)}`);
  assert([1000, 1005].includes(closedBy.code), `close code ${closedBy.code}`);
  return `close code ${closedBy.code}`;
});

await new Promise((r) => setTimeout(r, 200)); // anything late lands in the last check
currentStep = 'end';
{
  const notifications = [...new Set(received.filter((m) => m.method && m.id === undefined).map((m) => m.method))];
  const all = [...new Set(captured.map((c) => `[during ${c.step}] ${c.what}`))];
  if (all.length) fail('the client printed no error and no warning in the whole session', all.join(' || '));
  else pass('the client printed no error and no warning in the whole session', `${sent.length} messages sent, ${received.length} received${notifications.length ? `; notifications: ${notifications.join(', ')}` : ''}`);
}
out(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
