#!/usr/bin/env node
// `import` streams a whole store into Vault: it runs with a capped V8 heap, because V8 would
// otherwise let its garbage grow to hundreds of MB before collecting it, and its memory must
// stay bounded whatever the store size. (`export` only copies the broker's stream to a file.)
// Everything else starts directly.
import { spawn } from "node:child_process";
import { constants } from "node:os";
import { fileURLToPath } from "node:url";

const STREAMING_COMMANDS = new Set(["import"]);
const HEAP_LIMIT_MB = 96;
const main = fileURLToPath(new URL("../dist/src/cli/main.js", import.meta.url));

const command = process.argv.slice(2).find((arg) => !arg.startsWith("-"));
const capped = process.execArgv.some((arg) => arg.startsWith("--max-old-space-size"));

if (STREAMING_COMMANDS.has(command) && !capped) {
  const child = spawn(
    process.execPath,
    [...process.execArgv, `--max-old-space-size=${HEAP_LIMIT_MB}`, main, ...process.argv.slice(2)],
    // Its own process group: a terminal's Ctrl-C (sent to the whole foreground group) would
    // otherwise reach it twice, directly and forwarded, and a second signal means "exit now,
    // skip the cleanup". Every signal reaches it once, through here.
    { stdio: "inherit", detached: true },
  );
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(signal, () => child.kill(signal));
  }
  child.on("exit", (code, signal) => {
    process.exitCode = code ?? 128 + (constants.signals[signal] ?? 15);
  });
} else {
  await import(main);
}
