import type { ConnectionLimits } from "../../lib/connection-limits.js";

interface Deadline {
  timer: NodeJS.Timeout | undefined;
  /** Requests read and not answered yet (a client may pipeline). */
  open: number;
  close: () => void;
}

/**
 * Node's HTTP server enforces its headers and request timeouts only on connections it accepted
 * itself; this one is handed sockets with emit("connection"), so it keeps its own deadlines:
 * headers from the connection or the previous answer, the answer from the request, and idle
 * (kept-alive) time after the last answer. A missed deadline closes the connection.
 */
export class ConnectionDeadlines {
  private readonly deadlines = new WeakMap<object, Deadline>();

  constructor(
    private readonly limits: Pick<
      ConnectionLimits,
      "headersTimeoutMs" | "requestTimeoutMs" | "idleTimeoutMs"
    >,
  ) {}

  /** `connection` is what the HTTP server sees as `req.socket`; `close` ends it. */
  opened(connection: object, close: () => void): void {
    const deadline: Deadline = { timer: undefined, open: 0, close };
    this.deadlines.set(connection, deadline);
    this.arm(deadline, this.limits.headersTimeoutMs);
  }

  requestStarted(connection: object): void {
    const deadline = this.deadlines.get(connection);
    if (deadline === undefined) return;
    deadline.open++;
    this.arm(deadline, this.limits.requestTimeoutMs);
  }

  requestAnswered(connection: object): void {
    const deadline = this.deadlines.get(connection);
    if (deadline === undefined) return;
    deadline.open = Math.max(0, deadline.open - 1);
    // Idle time also bounds the next request's headers: a trickle cannot outlast it.
    this.arm(
      deadline,
      deadline.open > 0 ? this.limits.requestTimeoutMs : this.limits.idleTimeoutMs,
    );
  }

  closed(connection: object): void {
    const deadline = this.deadlines.get(connection);
    if (deadline?.timer !== undefined) clearTimeout(deadline.timer);
    this.deadlines.delete(connection);
  }

  private arm(deadline: Deadline, ms: number): void {
    if (deadline.timer !== undefined) clearTimeout(deadline.timer);
    deadline.timer = setTimeout(deadline.close, ms);
    deadline.timer.unref();
  }
}
