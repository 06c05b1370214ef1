import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  LIST_MARKER_HEADER,
  ListVerbRewriter,
} from "../../../src/embedded-vault/http/list-verb.js";

const rewriteAll = (chunks: Buffer[]) => {
  const rewriter = new ListVerbRewriter();
  return Buffer.concat(chunks.map((c) => rewriter.push(c))).toString("latin1");
};

const request = (method: string, path: string, body?: string) =>
  body === undefined
    ? `${method} ${path} HTTP/1.1\r\nHost: x\r\n\r\n`
    : `${method} ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

const expected = (method: string, path: string, body?: string) =>
  method === "LIST"
    ? request("GET", path, body).replace("\r\n", `\r\n${LIST_MARKER_HEADER}: 1\r\n`)
    : request(method, path, body);

describe("ListVerbRewriter", () => {
  it("turns LIST into GET with the marker header and leaves other methods alone", () => {
    expect(rewriteAll([Buffer.from(request("LIST", "/v1/secret/metadata/"))])).toBe(
      expected("LIST", "/v1/secret/metadata/"),
    );
    expect(rewriteAll([Buffer.from(request("GET", "/v1/sys/health"))])).toBe(
      request("GET", "/v1/sys/health"),
    );
  });

  it("does not rewrite a body that happens to start with LIST", () => {
    const body = "LIST /v1/x HTTP/1.1\r\n\r\n";
    expect(rewriteAll([Buffer.from(request("POST", "/v1/secret/data/a", body))])).toBe(
      request("POST", "/v1/secret/data/a", body),
    );
  });

  it("follows chunked bodies to the next pipelined request", () => {
    const chunked =
      "POST /v1/a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nLIST \r\n0\r\n\r\n";
    const next = request("LIST", "/v1/b/");
    expect(rewriteAll([Buffer.from(chunked + next)])).toBe(chunked + expected("LIST", "/v1/b/"));
  });

  it("gives the same bytes however the stream is split (property)", () => {
    const method = fc.constantFrom("GET", "LIST", "POST", "PUT", "DELETE");
    const req = fc.record({
      method,
      path: fc.stringMatching(/^\/v1\/[a-z/]{0,12}$/),
      body: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
    });
    fc.assert(
      fc.property(
        fc.array(req, { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (reqs, cuts) => {
          const input = Buffer.from(
            reqs
              .map((r) =>
                request(
                  r.method,
                  r.path,
                  r.method === "GET" || r.method === "LIST" ? undefined : r.body,
                ),
              )
              .join(""),
            "latin1",
          );
          const want = reqs
            .map((r) =>
              expected(
                r.method,
                r.path,
                r.method === "GET" || r.method === "LIST" ? undefined : r.body,
              ),
            )
            .join("");
          const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort(
            (a, b) => a - b,
          );
          const chunks: Buffer[] = [];
          let last = 0;
          for (const p of points) {
            chunks.push(input.subarray(last, p));
            last = p;
          }
          chunks.push(input.subarray(last));
          expect(rewriteAll(chunks)).toBe(Buffer.from(want).toString("latin1"));
        },
      ),
    );
  });
});
