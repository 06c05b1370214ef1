/**
 * Generated HTTP requests for the servers' fuzz suites: odd paths and methods, malformed, deep
 * and huge bodies, prototype names, with and without credentials. Requests are drawn from a
 * fixed seed (FUZZ_SEED overrides it), sent over a few kept-alive connections, and every answer
 * is checked: no 5xx, no reset, no hang. A failure names the seed, the request's index and the
 * request, with credentials named by their label, never their value.
 */
import { Agent, request } from "node:http";
import { connect, type Socket } from "node:net";
import fc from "fast-check";
import { expect } from "vitest";

/** Short deadlines, so the slow clients of a fuzz run are closed within its time. */
export const FUZZ_CONNECTION_LIMITS = {
  headersTimeoutMs: 1_000,
  requestTimeoutMs: 5_000,
  idleTimeoutMs: 5_000,
} as const;

export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20261206);

export const PROTOTYPE_NAMES = [
  "__proto__",
  "constructor",
  "prototype",
  "hasOwnProperty",
  "toString",
  "valueOf",
  "isPrototypeOf",
  "__defineGetter__",
];

/** What a request carries instead of a body: `huge` is `bytes` long, past the body limit. */
export type FuzzBody =
  | { kind: "none" }
  | { kind: "text"; text: string }
  | { kind: "huge"; bytes: number };

export interface FuzzRequest {
  method: string;
  /** The request target, sent as is. */
  path: string;
  /** A label from the credentials table, or "none". */
  credential: string;
  contentType: string | undefined;
  body: FuzzBody;
  /** The status this request must get, when the generator knows it (413 for huge bodies). */
  expect?: number;
}

/** Header name and value per label; the fuzzer prints the label only. */
export type Credentials = Record<string, { header: string; value: string }>;

export interface FuzzTarget {
  host: string;
  port: number;
  credentials: Credentials;
}

const ODD_SEGMENTS = [
  "",
  ".",
  "..",
  "%2e%2e",
  "%2E%2e%2F",
  "%2f",
  "%00",
  "%",
  "%zz",
  "%ff%fe",
  "%C0%AE",
  "~",
  ";",
  "a;b=c",
  "*",
  "@",
  "%20",
  "+",
  "%25",
  "?",
  "#x",
  "%E2%80%AE",
];

/** Raw UTF-8 on the wire (node:http takes latin1 characters as bytes), or percent-encoded. */
const unicodeSegment = fc
  .tuple(fc.string({ unit: "grapheme", minLength: 1, maxLength: 8 }), fc.boolean())
  .map(([text, raw]) =>
    raw
      ? Buffer.from(text, "utf8")
          .toString("latin1")
          .replace(/[^\u0021-\u00ff]/g, "_")
      : encodeURIComponent(text),
  );

const longSegment = fc
  .tuple(fc.constantFrom("a", "%41", "é", "/"), fc.integer({ min: 200, max: 20_000 }))
  .map(([unit, count]) => (unit === "é" ? "%C3%A9" : unit).repeat(count));

function segment(known: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...known) },
    { weight: 3, arbitrary: fc.constantFrom(...PROTOTYPE_NAMES) },
    { weight: 3, arbitrary: fc.constantFrom(...ODD_SEGMENTS) },
    { weight: 2, arbitrary: unicodeSegment },
    { weight: 2, arbitrary: fc.stringMatching(/^[a-zA-Z0-9_.-]{1,20}$/) },
    { weight: 1, arbitrary: longSegment },
  );
}

const query = fc.oneof(
  { weight: 6, arbitrary: fc.constant("") },
  {
    weight: 3,
    arbitrary: fc
      .array(
        fc.tuple(
          fc.constantFrom("list", "version", "format", ...PROTOTYPE_NAMES, "%zz", "x[y]"),
          fc.constantFrom("true", "1", "-1", "abc", "", "%00", "9".repeat(40)),
        ),
        { minLength: 1, maxLength: 3 },
      )
      .map((pairs) => `?${pairs.map(([k, v]) => `${k}=${v}`).join("&")}`),
  },
  { weight: 1, arbitrary: fc.constantFrom("?", "??", "?&&", "?=", "?%") },
);

/**
 * Paths built from the server's own route words, prototype names and odd segments, or one of
 * its routes (`{}` marks a parameter) with generated parameters.
 */
export function pathArbitrary(
  prefixes: readonly string[],
  known: readonly string[],
  routes: readonly string[],
): fc.Arbitrary<string> {
  const routed = fc
    .tuple(
      fc.constantFrom(...routes),
      fc.array(segment(known), { minLength: 4, maxLength: 4 }),
      query,
    )
    .map(([route, params, q]) => {
      let i = 0;
      return `${route.replace(/\{\}/g, () => params[i++ % params.length]!)}${q}`;
    });
  const built = fc
    .tuple(
      fc.constantFrom(...prefixes),
      fc.array(segment(known), { minLength: 0, maxLength: 6 }),
      fc.constantFrom("", "/", "//"),
      query,
    )
    .map(([prefix, parts, tail, q]) => `${prefix}${parts.join("/")}${parts.length ? tail : ""}${q}`)
    .map((path) => (path.startsWith("/") || path.startsWith("*") ? path : `/${path}`));
  return fc.oneof(built, routed);
}

/** A JSON object with `name` as an own key (an object literal would set the prototype). */
function keyed(name: string, value: string): string {
  return `{${JSON.stringify(name)}: ${value}}`;
}

const prototypeKeyed = fc
  .tuple(
    fc.constantFrom(...PROTOTYPE_NAMES),
    fc.constantFrom('{"a":1}', '"x"', "null", "[]", '{"__proto__":{"polluted":true}}'),
  )
  .map(([name, value]) => keyed(name, value));

const deepJson = fc
  .tuple(fc.constantFrom("[", '{"a":'), fc.integer({ min: 50, max: 20_000 }), fc.boolean())
  .map(([open, depth, closed]) => {
    const close = open === "[" ? "]" : "}";
    return `${open.repeat(depth)}1${closed ? close.repeat(depth) : ""}`;
  })
  .map((text) => (text.startsWith("[") ? `{"data":${text}}` : text));

const malformedJson = fc.oneof(
  fc.constantFrom(
    "{",
    "}",
    "{]",
    '{"a":',
    '{"a" 1}',
    "nul",
    "[1,]",
    "{'a':1}",
    "\u0000",
    "\ufeff{}",
  ),
  fc.json().map((text) => text.slice(0, Math.max(1, Math.floor(text.length / 2)))),
  fc.string({ unit: "binary", maxLength: 200 }),
);

/** Bodies shaped like the server's own requests: `fields` name the keys it reads. */
function jsonBody(fields: readonly string[]): fc.Arbitrary<string> {
  const key = fc.oneof(
    fc.constantFrom(...fields),
    fc.constantFrom(...PROTOTYPE_NAMES),
    fc.string({ maxLength: 10 }),
  );
  return fc
    .dictionary(key, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 })
    .map((object) => JSON.stringify(object));
}

function bodyArbitrary(fields: readonly string[]): fc.Arbitrary<FuzzBody> {
  const text = (arbitrary: fc.Arbitrary<string>) =>
    arbitrary.map((t): FuzzBody => ({ kind: "text", text: t }));
  return fc.oneof(
    { weight: 8, arbitrary: fc.constant<FuzzBody>({ kind: "none" }) },
    { weight: 6, arbitrary: text(jsonBody(fields)) },
    { weight: 3, arbitrary: text(malformedJson) },
    { weight: 2, arbitrary: text(prototypeKeyed) },
    { weight: 1, arbitrary: text(deepJson) },
    {
      weight: 1,
      arbitrary: text(fc.constantFrom("", "null", "1", '"s"', "[]", "true", "a=b&c=d")),
    },
  );
}

const CONTENT_TYPES = [
  "application/json",
  "application/json; charset=utf-8",
  "application/json; charset=utf-16",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/octet-stream",
  "application/x-yaml",
  "*/*",
  "application/json;;;",
  "garbage",
  "",
];

export interface FuzzSpace {
  methods: readonly string[];
  /** How paths start ("/v1/", "/", "//v1/"...). */
  prefixes: readonly string[];
  /** The server's route words, for paths that reach its handlers. */
  words: readonly string[];
  /** Its routes, `{}` for a parameter. */
  routes: readonly string[];
  /** Keys its request bodies use. */
  fields: readonly string[];
  credentials: readonly string[];
  /** Requests that must be refused with 413, their body past this many bytes. */
  huge: { requests: ReadonlyArray<Omit<FuzzRequest, "body" | "expect">>; limitBytes: number };
}

export function requestArbitrary(space: FuzzSpace): fc.Arbitrary<FuzzRequest> {
  const credential = fc.constantFrom("none", ...space.credentials);
  const general = fc.record({
    method: fc.constantFrom(...space.methods),
    path: pathArbitrary(space.prefixes, space.words, space.routes),
    credential,
    contentType: fc.option(fc.constantFrom(...CONTENT_TYPES), { nil: undefined }),
    body: bodyArbitrary(space.fields),
  });
  const huge = fc
    .tuple(
      fc.constantFrom(...space.huge.requests),
      fc.integer({ min: space.huge.limitBytes + 1, max: space.huge.limitBytes * 2 }),
    )
    .map(([req, bytes]): FuzzRequest => ({ ...req, body: { kind: "huge", bytes }, expect: 413 }));
  return fc.oneof({ weight: 400, arbitrary: general }, { weight: 1, arbitrary: huge });
}

/** What a failure report shows: no credential value, bodies cut short. */
export function describeRequest(req: FuzzRequest): string {
  const body =
    req.body.kind === "none"
      ? "no body"
      : req.body.kind === "huge"
        ? `a body of ${req.body.bytes} bytes`
        : `body ${JSON.stringify(req.body.text.slice(0, 200))}${req.body.text.length > 200 ? `... (${req.body.text.length} chars)` : ""}`;
  const path =
    req.path.length > 300 ? `${req.path.slice(0, 300)}... (${req.path.length} chars)` : req.path;
  return `${req.method} ${path} credential=${req.credential} content-type=${JSON.stringify(req.contentType ?? null)} ${body}`;
}

export interface FuzzOutcome {
  request: FuzzRequest;
  index: number;
  /** The status, or what went wrong instead of an answer. */
  status?: number;
  problem?: string;
}

const HUGE_CHUNK = Buffer.alloc(64 * 1024, "a");

function send(
  target: FuzzTarget,
  agent: Agent,
  req: FuzzRequest,
  timeoutMs: number,
): Promise<{ status?: number; problem?: string }> {
  const headers: Record<string, string> = {};
  const credential = target.credentials[req.credential];
  if (credential) headers[credential.header] = credential.value;
  if (req.contentType !== undefined) headers["content-type"] = req.contentType;
  const body = req.body.kind === "text" ? Buffer.from(req.body.text, "utf8") : undefined;
  if (body) headers["content-length"] = String(body.length);
  if (req.body.kind === "huge") headers["content-length"] = String(req.body.bytes);
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome: { status?: number; problem?: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const timer = setTimeout(() => {
      settle({ problem: `no answer within ${timeoutMs} ms` });
      outgoing.destroy();
    }, timeoutMs);
    let outgoing: ReturnType<typeof request>;
    try {
      outgoing = request(
        {
          host: target.host,
          port: target.port,
          method: req.method,
          path: req.path,
          headers,
          agent,
        },
        (res) => {
          res.on("data", () => {});
          res.once("end", () => settle({ status: res.statusCode ?? 0 }));
          res.once("error", (error) => settle({ problem: `response ${errorName(error)}` }));
        },
      );
    } catch (error) {
      // node:http refused to send it (a character it does not allow): not the server's doing.
      clearTimeout(timer);
      resolve({ status: 0, problem: `unsendable: ${errorName(error)}` });
      return;
    }
    outgoing.once("error", (error) => settle({ problem: errorName(error) }));
    if (req.body.kind === "huge") {
      writeHuge(outgoing, req.body.bytes);
    } else {
      outgoing.end(body);
    }
  });
}

/** Writes `bytes` of body, stopping quietly once the server has answered and closed. */
function writeHuge(outgoing: ReturnType<typeof request>, bytes: number): void {
  let left = bytes;
  const pump = () => {
    while (left > 0 && !outgoing.destroyed) {
      const chunk = left >= HUGE_CHUNK.length ? HUGE_CHUNK : HUGE_CHUNK.subarray(0, left);
      left -= chunk.length;
      if (!outgoing.write(chunk)) {
        outgoing.once("drain", pump);
        return;
      }
    }
    if (!outgoing.destroyed) outgoing.end();
  };
  pump();
}

function errorName(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e?.code ?? e?.message ?? String(error);
}

/**
 * Sends every request over `sockets` kept-alive connections and returns each outcome.
 * A huge body the server refused early may end the connection while it is still being sent:
 * that write error is the client's, so its outcome is judged by the answer that came first.
 */
export async function fuzz(
  target: FuzzTarget,
  requests: readonly FuzzRequest[],
  options: { sockets?: number; timeoutMs?: number } = {},
): Promise<FuzzOutcome[]> {
  const sockets = options.sockets ?? 4;
  const agent = new Agent({ keepAlive: true, maxSockets: sockets });
  const outcomes: FuzzOutcome[] = new Array(requests.length);
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const index = next++;
      const request = requests[index]!;
      const outcome = await send(target, agent, request, options.timeoutMs ?? 10_000);
      outcomes[index] = { request, index, ...outcome };
    }
  };
  try {
    await Promise.all(Array.from({ length: sockets }, worker));
  } finally {
    agent.destroy();
  }
  return outcomes;
}

export function generate(space: FuzzSpace, count: number, seed = FUZZ_SEED): FuzzRequest[] {
  return fc.sample(requestArbitrary(space), { numRuns: count, seed });
}

/** The outcomes that break the rules: a 5xx, no answer, a reset, or the wrong expected status. */
export function failures(outcomes: readonly FuzzOutcome[]): FuzzOutcome[] {
  return outcomes.filter((o) => {
    if (o.problem?.startsWith("unsendable")) return false;
    if (o.problem !== undefined) return true;
    if ((o.status ?? 0) >= 500) return true;
    return o.request.expect !== undefined && o.status !== o.request.expect;
  });
}

export function report(outcomes: readonly FuzzOutcome[], seed = FUZZ_SEED): string {
  const bad = failures(outcomes);
  const lines = bad
    .slice(0, 10)
    .map(
      (o) =>
        `  #${o.index}: ${o.problem ?? `status ${o.status}`}${o.request.expect ? ` (expected ${o.request.expect})` : ""} <- ${describeRequest(o.request)}`,
    );
  return `${bad.length} of ${outcomes.length} requests failed (FUZZ_SEED=${seed} reproduces them):\n${lines.join("\n")}`;
}

export function statusCounts(outcomes: readonly FuzzOutcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) {
    const key = o.problem ? "problem" : String(o.status);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/**
 * A client that opens a connection and trickles a request's headers, one byte every `everyMs`,
 * never finishing them. Resolves with how long the server took to close it.
 */
export function slowloris(
  target: { host: string; port: number },
  everyMs: number,
  giveUpMs: number,
): Promise<number> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket: Socket = connect({ host: target.host, port: target.port });
    const text = `GET /v1/sys/health HTTP/1.1\r\nHost: x\r\n${"X-Slow: 1\r\n".repeat(1000)}`;
    let i = 0;
    const timer = setInterval(() => {
      if (socket.destroyed || i >= text.length) clearInterval(timer);
      else if (socket.writable) socket.write(text[i++]!);
    }, everyMs);
    const giveUp = setTimeout(() => {
      socket.destroy();
      resolve(Number.POSITIVE_INFINITY);
    }, giveUpMs);
    socket.on("error", () => {});
    socket.resume();
    socket.once("close", () => {
      clearInterval(timer);
      clearTimeout(giveUp);
      resolve(Date.now() - started);
    });
  });
}

/**
 * Sends `requests` while five slow clients trickle headers, and asserts the fuzz suites' rules:
 * no failure (5xx, reset, hang), every status in `reached` seen at least once (the generator got
 * past the 404 handler), and every slow client closed within 10 s.
 */
export async function expectSoundUnderFuzz(
  target: FuzzTarget,
  requests: readonly FuzzRequest[],
  reached: readonly string[],
): Promise<void> {
  const slow = Array.from({ length: 5 }, () => slowloris(target, 100, 20_000));
  const outcomes = await fuzz(target, requests);
  expect(failures(outcomes).length, report(outcomes)).toBe(0);
  const counts = statusCounts(outcomes);
  for (const status of reached) {
    expect(counts[status] ?? 0, JSON.stringify(counts)).toBeGreaterThan(0);
  }
  for (const closedAfter of await Promise.all(slow)) expect(closedAfter).toBeLessThan(10_000);
}
