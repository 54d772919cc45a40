// The TypeScript SDK v2 client's SkillsClient (@modelcontextprotocol/client, the npm alias
// sdk-v2) against a server's skills over Streamable HTTP, in one protocol era:
//
//   node skills_v2.mjs SDK_DIR URL legacy|2026-07-28 [EXPECT...]
//
// legacy is the client's default connect (the 2025 `initialize` handshake); 2026-07-28
// pins that revision (`server/discover`, no fallback). Lists every skill (every page),
// gets each by its URI, and reads every file of each with the client's verification
// (listed, size, sha256 digest, and for SKILL.md the front matter equal to the entry's).
// Each EXPECT is a skill name that must be listed, or NAME/PATH, a file of that skill that
// must have been read and verified.
//
// Prints one JSON line of counts and exits 0; on any failure (a request or a check
// failing, nothing listed, an EXPECT not met, anything the client printed) prints
// `error: WHY` on stderr and exits 1.
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { format } from 'node:util';

const [sdkDir, url, era, ...wanted] = process.argv.slice(2);
const expected = [...new Set(wanted)];
if (!sdkDir || !url || !['legacy', '2026-07-28'].includes(era)) {
  process.stderr.write('usage: skills_v2.mjs SDK_DIR URL legacy|2026-07-28 [NAME | NAME/PATH]...\n');
  process.exit(2);
}
const die = (why) => {
  process.stderr.write(`error: ${String(why).replace(/\s*\n\s*/g, ' | ')}\n`);
  process.exit(1);
};

// Whatever the client logs (SkillsClient.list() logs and returns nothing when the server
// does not declare the extension) is kept and fails the run.
const printed = [];
for (const level of ['log', 'info', 'warn', 'error', 'debug', 'trace']) {
  console[level] = (...args) => printed.push(`console.${level}: ${format(...args)}`);
}

const load = (path) => import(pathToFileURL(join(sdkDir, path)).href);
const { Client, StreamableHTTPClientTransport } = await load('dist/index.mjs');
const { SkillsClient } = await load('dist/ext/skills/index.mjs');

const mode = era === 'legacy' ? 'legacy' : { pin: era };
const client = new Client({ name: 'tenet-interop-skills-v2', version: '1.0.0' }, { versionNegotiation: { mode } });
client.onerror = (e) => printed.push(`client onerror: ${e?.message ?? e}`);

try {
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  const version = client.getNegotiatedProtocolVersion();
  if ((era === 'legacy') !== (client.getProtocolEra() === 'legacy')) {
    throw new Error(`asked for ${era}, negotiated ${version} (era ${client.getProtocolEra()})`);
  }
  const skills = new SkillsClient(client);
  if (!skills.supported) throw new Error('the server does not declare io.modelcontextprotocol/skills');

  const { skills: entries } = await skills.list();
  if (entries.length === 0) throw new Error('skills/list listed no skill');
  const names = new Set();
  const read = new Set(); // NAME/PATH of every file read and verified
  let files = 0;
  let bytes = 0;
  for (const listed of entries) {
    const name = listed.frontmatter.name;
    names.add(name);
    const { skill } = await skills.get(listed.uri);
    if (JSON.stringify(skill) !== JSON.stringify(listed)) {
      throw new Error(`skills/get ${listed.uri} differs from its skills/list entry`);
    }
    if (skill.resources === 'dynamic') throw new Error(`${skill.uri}: resources "dynamic", so nothing can be verified`);
    const root = skill.uri.slice(0, -'SKILL.md'.length);
    for (const { uri } of skill.resources) {
      const file = await skills.read(skill, uri);
      if (!file.verified) throw new Error(`${uri} was not verified`);
      if (uri === skill.uri && file.frontmatter?.name !== name) throw new Error(`${uri}: no front matter checked`);
      files += 1;
      bytes += file.bytes.byteLength;
      read.add(`${name}/${uri.startsWith(root) ? uri.slice(root.length) : uri}`);
    }
  }
  const missing = expected.filter((want) => !(want.includes('/') ? read.has(want) : names.has(want)));
  if (missing.length > 0) {
    const shown = missing.length > 6 ? `${missing.slice(0, 6).join(', ')} and ${missing.length - 6} more` : missing.join(', ');
    throw new Error(`${missing.length} of ${expected.length} expected not listed or not read: ${shown} (listed ${entries.length} skills, read ${files} files)`);
  }
  if (printed.length > 0) throw new Error(`the client printed: ${printed.join(' | ')}`);
  process.stdout.write(`${JSON.stringify({ era, protocolVersion: version, skills: entries.length, files, bytes, expected: expected.length })}\n`);
  await client.close();
  process.exit(0);
} catch (e) {
  die(`${e?.name ?? 'Error'}: ${e?.message ?? e}${printed.length ? ` (the client printed: ${printed.join(' | ')})` : ''}`);
}
