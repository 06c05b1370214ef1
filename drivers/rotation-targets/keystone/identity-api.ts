/**
 * The few Keystone v3 identity calls the target makes, over node:http(s) with a fresh
 * connection each time (a pooled one may belong to a Keystone process just restarted). Errors
 * name the call and the status, never a password or a token.
 */
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { targetError } from "../target-error.js";

const TIMEOUT_MS = 15_000;
const MAX_BODY = 4 << 20;

export interface IdentityAnswer {
  status: number;
  body: Record<string, unknown>;
  /** X-Subject-Token of a token request. */
  subjectToken?: string;
}

export interface IdentityConnection {
  /** …/v3, without a trailing slash. */
  url: string;
  ca?: Buffer;
  /** Names the target in errors. */
  where: string;
}

export function identityCall(
  connection: IdentityConnection,
  method: string,
  path: string,
  options: { token?: string; body?: unknown } = {},
): Promise<IdentityAnswer> {
  const url = new URL(`${connection.url}${path}`);
  const payload =
    options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body), "utf8");
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  // The method and the path without its query: queries may carry user names, never secrets,
  // but keep messages short.
  const shown = `${method} ${url.pathname.replace(/^.*?\/v3/, "/v3")}`;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method,
        agent: false,
        signal: AbortSignal.timeout(TIMEOUT_MS),
        ...(connection.ca && { ca: connection.ca }),
        headers: {
          accept: "application/json",
          ...(options.token && { "x-auth-token": options.token }),
          ...(payload && { "content-type": "application/json", "content-length": payload.length }),
        },
      },
      (response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size <= MAX_BODY) chunks.push(chunk);
        });
        response.once("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let body: Record<string, unknown> = {};
          try {
            body = text === "" ? {} : (JSON.parse(text) as Record<string, unknown>);
          } catch {
            // Not JSON (a proxy's error page): the status says enough.
          }
          const token = response.headers["x-subject-token"];
          resolve({
            status: response.statusCode ?? 0,
            body,
            ...(typeof token === "string" && { subjectToken: token }),
          });
        });
        response.once("error", (error) =>
          reject(targetError(`${connection.where}: ${shown}: ${errorCode(error)}`)),
        );
      },
    );
    req.once("error", (error) =>
      reject(targetError(`${connection.where}: ${shown}: ${errorCode(error)}`)),
    );
    req.end(payload);
  });
}

/** Keystone's own error text ({error: {message}}), short; it never echoes a password. */
export function keystoneMessage(answer: IdentityAnswer): string {
  const error = answer.body["error"] as { message?: unknown } | undefined;
  const message = typeof error?.message === "string" ? error.message : "";
  return message.split("\n")[0]!.slice(0, 200);
}

/** A failed call as one line: the call, the status and Keystone's reason. */
export function callFailed(
  connection: IdentityConnection,
  what: string,
  answer: IdentityAnswer,
): Error {
  const reason = keystoneMessage(answer);
  return targetError(
    `${connection.where}: ${what} answered ${answer.status}${reason ? ` (${reason})` : ""}`,
  );
}

const errorCode = (error: unknown): string =>
  (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.name : "error");
