#!/usr/bin/env node
// Tenet's npm launcher: runs the tenet binary that the package for this platform (an
// optional dependency, which npm installs only where it runs) carries. Arguments,
// standard streams and the exit status pass through unchanged, so that `npx -y … serve`
// is an MCP server over stdio like the binary itself.
"use strict";

const { spawn } = require("node:child_process");
const { constants } = require("node:os");
const names = require("./names.json");

const platform = `${process.platform}-${process.arch}`;
const pkg = names.npm_platform.replace("{platform}", platform);
const exe = process.platform === "win32" ? "tenet.exe" : "tenet";

let binary;
try {
  binary = require.resolve(`${pkg}/bin/${exe}`);
} catch {
  console.error(
    `tenet: no binary for ${platform}: the package ${pkg} is not installed. npm installs it ` +
      `with this one unless optional dependencies are left out (--omit=optional); if no ` +
      `such package is published for ${platform}, build Tenet with cargo (see the README).`,
  );
  process.exit(1);
}

const child = spawn(binary, process.argv.slice(2), { stdio: "inherit", windowsHide: true });
// A signal to the launcher is the server's: it shuts down as it would when run directly.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => child.kill(signal));
}
child.on("error", (error) => {
  console.error(`tenet: cannot run ${binary}: ${error.message}`);
  process.exit(1);
});
child.on("exit", (code, signal) => {
  if (signal) {
    // Ended by a signal: end the same way, or as a shell reports it (128 + its number)
    // where Node would not end on it (SIGPIPE is ignored; SIGUSR1 starts the debugger).
    process.removeAllListeners(signal);
    if (signal !== "SIGPIPE" && signal !== "SIGUSR1") {
      process.kill(process.pid, signal);
    }
    process.exit(128 + (constants.signals[signal] ?? 0));
  } else {
    process.exit(code ?? 1);
  }
});
