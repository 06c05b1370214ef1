/**
 * Raw HTTP against a Vault-compatible server, for what node-vault cannot send: custom paths that
 * fetch would normalise (`..`), `GET ?list=`, bodies that are not JSON, odd methods and
 * headers. Uses node:http/https so the request line goes out exactly as given.
 */
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";

// biome-ignore lint/suspicious/noExplicitAny: Vault response bodies are checked field by field in the tests.
export type Json = any;

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON, or undefined when it is empty or not JSON. */
  json: Json;
}

export interface RawRequestOptions {
  method?: string;
  /** Request target, sent as is (e.g. "/v1/secret/data/x?version=1"). */
  path: string;
  token?: string;
  headers?: Record<string, string>;
  /** Objects are sent as JSON; strings and Buffers as they are. */
  body?: unknown;
  /** PEM CA for https addresses. */
  ca?: string | Buffer;
  timeoutMs?: number;
}

export function rawRequest(addr: string, options: RawRequestOptions): Promise<RawResponse> {
  const url = new URL(addr);
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers["X-Vault-Token"] = options.token;
  let payload: Buffer | undefined;
  if (options.body !== undefined) {
    payload =
      Buffer.isBuffer(options.body) || typeof options.body === "string"
        ? Buffer.from(options.body as string | Buffer)
        : Buffer.from(JSON.stringify(options.body));
    headers["Content-Length"] = String(payload.length);
  }
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      {
        host: url.hostname,
        port: url.port,
        method: options.method ?? "GET",
        path: options.path,
        headers,
        ...(options.ca !== undefined ? { ca: options.ca } : {}),
        timeout: options.timeoutMs ?? 10_000,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: unknown;
          try {
            json = text === "" ? undefined : JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on("timeout", () =>
      req.destroy(new Error(`timeout: ${options.method ?? "GET"} ${options.path}`)),
    );
    req.on("error", reject);
    req.end(payload);
  });
}

/** Runs `promise` (a node-vault call) and returns the ApiResponseError it must reject with. */
export async function vaultError(
  promise: Promise<unknown>,
): Promise<{ status: number; message: string; body: Json }> {
  try {
    const value = await promise;
    throw new Error(`expected the call to fail, it answered ${JSON.stringify(value)}`);
  } catch (error) {
    const e = error as { message: string; response?: { statusCode: number; body: unknown } };
    if (!e.response) throw error;
    return { status: e.response.statusCode, message: e.message, body: e.response.body };
  }
}
