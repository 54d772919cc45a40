// Runs a packed Tenet bundle the way a desktop client does: the launch command comes
// from the official MCPB library (`getMcpConfigForManifest`: `${__dirname}` and the
// user's settings substituted, a list of folders spread into arguments), then the
// server is spoken to over stdio. Checks that the folders a user picks are served
// (and override the built-in corpus), that no folder at all serves the built-in one,
// and that "leave out the built-in standards" does so.
//
//   node check_bundle.mjs <unpacked bundle dir> <folder> <folder>
// (run from a directory whose node_modules holds @anthropic-ai/mcpb; scripts/package does)
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { getMcpConfigForManifest } from "@anthropic-ai/mcpb";

const [dir, first, second] = process.argv.slice(2);
const manifest = JSON.parse(readFileSync(`${dir}/manifest.json`, "utf8"));

function fail(message) {
  console.error(`check_bundle: ${message}`);
  process.exit(1);
}

async function session(userConfig, calls) {
  const config = await getMcpConfigForManifest({
    manifest,
    extensionPath: dir,
    systemDirs: { HOME: process.env.HOME ?? "/tmp" },
    userConfig,
    pathSeparator: "/",
  });
  if (!config) fail(`no launch command for settings ${JSON.stringify(userConfig)}`);
  const child = spawn(config.command, config.args, {
    env: { ...process.env, ...config.env, TENET_LOG_LEVEL: "warn" },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout });
  const waiting = new Map();
  lines.on("line", (line) => {
    const message = JSON.parse(line);
    waiting.get(message.id)?.(message);
  });
  let next = 1;
  const request = (method, params) =>
    new Promise((resolve, reject) => {
      const id = next++;
      const timer = setTimeout(() => reject(new Error(`${method}: no answer in 10 s`)), 10_000);
      waiting.set(id, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      child.stdin.write(JSON.stringify({ jsonrpc: "2.0", id, method, params }) + "\n");
    });
  const init = await request("initialize", {
    protocolVersion: "2025-11-25",
    capabilities: {},
    clientInfo: { name: "check-bundle", version: "1" },
  });
  if (init.result?.serverInfo?.name !== "tenet") fail(`initialize: ${JSON.stringify(init)}`);
  child.stdin.write(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) + "\n");
  const results = [];
  for (const [name, args] of calls) {
    const answer = await request("tools/call", { name, arguments: args });
    if (!answer.result) fail(`${name}: ${JSON.stringify(answer)}`);
    results.push(answer.result.content.map((c) => c.text ?? "").join("\n"));
  }
  child.stdin.end();
  await new Promise((resolve) => child.on("exit", resolve));
  return { args: config.args, results };
}

// Two folders picked: both served, the second overriding the first.
const picked = await session({ roots: [first, second] }, [
  ["get_stdlib", { language: "zig", domain: "style" }],
  ["list_stdlib", {}],
]);
if (!picked.args.includes(first) || !picked.args.includes(second)) fail(`folders not passed: ${picked.args}`);
if (!picked.results[0].includes("from the second folder")) fail(`the second folder does not win: ${picked.results[0]}`);
if (!/rust/.test(picked.results[1])) fail(`the built-in corpus is missing: ${picked.results[1]}`);

// Nothing picked: the built-in corpus alone, and no stray argument.
const none = await session({}, [["list_stdlib", {}]]);
if (none.args.some((a) => a.includes("${"))) fail(`a setting left unsubstituted: ${none.args}`);
if (!/rust/.test(none.results[0])) fail(`no built-in corpus without folders: ${none.results[0]}`);

// Only the folders.
const only = await session({ roots: [first], no_builtin: true }, [["list_stdlib", {}]]);
if (/rust/.test(only.results[0]) || !/zig/.test(only.results[0])) fail(`no_builtin ignored: ${only.results[0]}`);

console.log(`check_bundle: launched as ${JSON.stringify(picked.args)}; folders served and overriding, built-in corpus on and off`);
