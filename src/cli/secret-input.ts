import { usageError } from "../lib/errors.js";

const ENTER = new Set(["\r", "\n"]);
const ERASE = new Set(["\x7f", "\b"]);
const INTERRUPT = "\x03";
const END_OF_INPUT = "\x04";

/**
 * A secret's new value: the whole of stdin when it is not a terminal (one trailing newline cut,
 * so `echo value |` and a file both work, and a multi-line value keeps its inner lines), or
 * typed at a prompt on stderr with echo off. Never from argv, where `ps` and shell history see it.
 */
export async function readSecretValue(name: string): Promise<string> {
  const value = process.stdin.isTTY ? await promptHidden(name) : await readAll();
  if (value === "") throw usageError(`empty value: nothing written to ${name}`);
  return value;
}

async function readAll(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
}

function promptHidden(name: string): Promise<string> {
  const input = process.stdin;
  process.stderr.write(`New value of ${name} (not shown): `);
  input.setRawMode(true);
  input.setEncoding("utf8");
  return new Promise((resolve, reject) => {
    let typed = "";
    const finish = (error?: Error) => {
      input.off("data", onData);
      input.setRawMode(false);
      input.pause();
      process.stderr.write("\n");
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (text: string) => {
      for (const char of text) {
        if (char === INTERRUPT) return finish(usageError("cancelled: nothing changed"));
        if (ENTER.has(char) || char === END_OF_INPUT) return finish();
        if (ERASE.has(char)) typed = [...typed].slice(0, -1).join("");
        else typed += char;
      }
    };
    input.on("data", onData);
    input.resume();
  });
}
