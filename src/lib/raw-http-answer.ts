import type { Duplex } from "node:stream";

/**
 * The answer to a request Node's HTTP parser refused, written straight to the socket: it says
 * `Connection: close` (a kept-alive client would otherwise send its next request into a closed
 * socket and see a reset), carries no body when the request was a HEAD, and closes gently so
 * the client can read it before the connection goes.
 */
export function answerUnparsedRequest(
  socket: Duplex,
  error: NodeJS.ErrnoException & { rawPacket?: Buffer },
  answer: { status: number; reason: string; body: string },
): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const head = error.rawPacket?.subarray(0, 5).toString("latin1") === "HEAD ";
  const body = head ? "" : answer.body;
  socket.end(
    `HTTP/1.1 ${answer.status} ${answer.reason}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
  );
  // A client that keeps sending would otherwise hold the half-closed socket open.
  setTimeout(() => socket.destroy(), 2_000).unref();
}
