import type { RateLimitPreset } from "./rate-limit.js";

const MAX_ADDRESSES = 10_000;

/**
 * Refused credentials per client address in fixed windows. Consulted before a token is looked
 * up: a client past its limit costs the broker no Vault lookup.
 */
export class AuthFailures {
  private readonly byAddress = new Map<string, { count: number; resetAt: number }>();

  constructor(
    private readonly limit: RateLimitPreset,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds until `address` may be refused again without a 429; 0 when it is not limited. */
  limitedFor(address: string): number {
    const entry = this.byAddress.get(address);
    const now = this.now();
    if (entry === undefined || entry.resetAt <= now || entry.count < this.limit.max) return 0;
    return Math.max(1, Math.ceil((entry.resetAt - now) / 1000));
  }

  record(address: string): void {
    const now = this.now();
    const entry = this.byAddress.get(address);
    if (entry !== undefined && entry.resetAt > now) {
      entry.count++;
      return;
    }
    this.byAddress.delete(address);
    if (this.byAddress.size >= MAX_ADDRESSES) this.forgetExpired(now);
    this.byAddress.set(address, { count: 1, resetAt: now + this.limit.timeWindow });
  }

  private forgetExpired(now: number): void {
    for (const [address, entry] of this.byAddress) {
      if (entry.resetAt <= now) this.byAddress.delete(address);
    }
    // Still full: the oldest windows go first.
    while (this.byAddress.size >= MAX_ADDRESSES) {
      const oldest = this.byAddress.keys().next();
      if (oldest.done) break;
      this.byAddress.delete(oldest.value);
    }
  }
}
