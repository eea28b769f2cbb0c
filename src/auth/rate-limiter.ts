/**
 * Counting limits for actions that are not failures — sign-ups per address, password-reset
 * requests per address and per account, mails per account — over the login throttle's shared
 * counter store (throttle-stores.ts: Redis or the database, so every instance enforces one limit
 * and a restart resets nothing). A key already at its limit refuses the action without writing
 * anything; otherwise every key counts one use, and a use that takes a key past its limit (a race
 * between requests) is refused too and its counts taken back: a refusal stores nothing.
 */
import { type FailureWindow, retryAfterSeconds, type ThrottleStore } from './login-throttle.ts';

export interface RateLimit {
  /** A counter name in the store, e.g. `signup:ip:192.0.2.1`; namespaced by the caller. */
  key: string;
  /** Uses allowed per window. */
  limit: number;
}

export interface RateLimiter {
  /** Counts one use under every key; the seconds to wait when refused, or null. */
  take(limits: readonly RateLimit[]): Promise<number | null>;
}

export function createRateLimiter(
  store: ThrottleStore,
  windowMs: number,
  now: () => number = Date.now,
): RateLimiter {
  const wait = (windows: (FailureWindow | null)[], limits: readonly RateLimit[], slack: number, t: number) =>
    retryAfterSeconds(
      limits.map((l, i) => ({ window: windows[i] ?? null, limit: l.limit - slack })),
      t,
    );
  return {
    async take(limits) {
      const t = now();
      const before = await store.read(
        limits.map((l) => l.key),
        t,
      );
      const refused = wait(before, limits, 1, t);
      if (refused !== null) return refused;
      const after = await Promise.all(limits.map((l) => store.increment(l.key, windowMs, t)));
      const lost = wait(after, limits, 0, t);
      if (lost !== null) await Promise.all(limits.map((l) => store.decrement(l.key)));
      return lost;
    },
  };
}
