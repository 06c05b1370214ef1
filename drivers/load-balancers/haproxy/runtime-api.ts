/**
 * HAProxy's runtime API (the stats socket with `level admin`): one command per connection, as
 * `socat` sends them; HAProxy answers and closes.
 */
import { connect } from "node:net";
import { restartError as targetError } from "../../restarters/stanza.js";

export interface ServerStat {
  backend: string;
  server: string;
  /** Current sessions. */
  scur: number;
  /** Queued requests. */
  qcur: number;
  stot: number;
  /** "UP", "DOWN", "DRAIN", "MAINT", "no check", ... (with "UP 1/3"-style transitions). */
  status: string;
  weight: number;
  econ: number;
  wretr: number;
  wredis: number;
  hrsp5xx: number;
}

/** A unix socket path (contains "/"), or host:port of a TCP stats socket. */
function endpointOf(socket: string): { path: string } | { host: string; port: number } {
  if (socket.includes("/")) return { path: socket };
  const colon = socket.lastIndexOf(":");
  return {
    host: socket.slice(0, colon).replace(/^\[|\]$/g, ""),
    port: Number(socket.slice(colon + 1)),
  };
}

export function runtimeCommand(socket: string, line: string, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const conn = connect(endpointOf(socket));
    let answer = "";
    const timer = setTimeout(() => {
      conn.destroy();
      reject(targetError(`haproxy ${socket}: no answer to "${line}" within ${timeoutMs} ms`));
    }, timeoutMs);
    conn.setEncoding("utf8");
    conn.on("data", (chunk: string) => {
      answer += chunk;
    });
    conn.once("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(targetError(`haproxy ${socket}: ${error.code ?? error.message}`));
    });
    conn.once("close", () => {
      clearTimeout(timer);
      resolve(answer);
    });
    conn.end(`${line}\n`);
  });
}

/** `show stat` CSV: the header line names the columns ("# pxname,svname,qcur,..."). */
export function parseShowStat(csv: string): ServerStat[] {
  const [header, ...rows] = csv.split("\n").filter((l) => l.trim() !== "");
  if (!header?.startsWith("# ")) {
    throw targetError(`haproxy: unexpected "show stat" answer (${csv.slice(0, 80).trim()})`);
  }
  const columns = header.slice(2).split(",");
  const index = (name: string) => columns.indexOf(name);
  const num = (cells: string[], name: string) => Number(cells[index(name)] || 0);
  return rows
    .map((row) => row.split(","))
    .filter((cells) => cells[1] !== "FRONTEND" && cells[1] !== "BACKEND")
    .map((cells) => ({
      backend: cells[index("pxname")] ?? "",
      server: cells[index("svname")] ?? "",
      scur: num(cells, "scur"),
      qcur: num(cells, "qcur"),
      stot: num(cells, "stot"),
      status: cells[index("status")] ?? "",
      weight: num(cells, "weight"),
      econ: num(cells, "econ"),
      wretr: num(cells, "wretr"),
      wredis: num(cells, "wredis"),
      hrsp5xx: num(cells, "hrsp_5xx"),
    }));
}

export async function showStat(socket: string): Promise<ServerStat[]> {
  return parseShowStat(await runtimeCommand(socket, "show stat"));
}

/** A command that changes state: HAProxy answers nothing (or a blank line) on success. */
export async function runtimeChange(socket: string, line: string): Promise<void> {
  const answer = (await runtimeCommand(socket, line)).trim();
  if (answer !== "") throw targetError(`haproxy ${socket}: "${line}": ${answer.split("\n")[0]}`);
}
