/**
 * Login throttling against online password guessing (ASVS 2.2.1).
 *
 * Model: failed logins are counted in fixed windows under two keys — the account name tried and
 * the client address — and once either count reaches its limit, further attempts on that key are
 * answered `429` with `Retry-After` *without* checking the password, until the window ends.
 * - per account: stops a slow, distributed guess at one account (LOGIN_MAX_FAILURES_PER_ACCOUNT);
 * - per address: stops one client spraying many accounts (LOGIN_MAX_FAILURES_PER_IP). IPv6
 *   clients are keyed by their /64, since one host usually owns the whole prefix.
 * Unknown usernames are counted exactly like known ones, so the throttle tells an attacker
 * nothing about which accounts exist. A successful login clears that account's counter (not the
 * address's, or an attacker with one valid account could reset their own budget).
 * Blocked attempts are not counted, so a locked-out user's retries do not extend the lock.
 * Trade-off, documented in SECURITY.md: anyone can lock an account for one window by failing on
 * purpose; the window is short and the per-address limit bounds who can do it at scale.
 * Counters live in a `ThrottleStore` shared by all instances (see throttle-stores.ts).
 */
import { isIPv6 } from 'node:net';

/** One key's failures within its current window. */
export interface FailureWindow {
  failures: number;
  /** Unix milliseconds at which this window (and its count) ends. */
  resetAtMs: number;
}

/** Shared counter storage. Every method takes the clock as an argument, so tests can move it. */
export interface ThrottleStore {
  /** Current windows of `keys`, in order; null where a key has none or it has ended. */
  read(keys: string[], nowMs: number): Promise<(FailureWindow | null)[]>;
  /** Counts one failure, opening a new window of `windowMs` when none is running. */
  increment(key: string, windowMs: number, nowMs: number): Promise<FailureWindow>;
  /** Forgets a key's failures. */
  clear(key: string): Promise<void>;
  /** Deletes ended windows (a no-op where the store expires keys itself). */
  prune(nowMs: number): Promise<void>;
  close(): Promise<void>;
}

export interface ThrottleLimits {
  maxPerAccount: number;
  maxPerIp: number;
  windowMs: number;
}

export interface LoginAttempt {
  username: string;
  ip: string;
}

export interface LoginThrottle {
  /** Seconds the caller must wait before trying again, or null when the attempt may proceed. */
  check(attempt: LoginAttempt): Promise<number | null>;
  recordFailure(attempt: LoginAttempt): Promise<void>;
  recordSuccess(attempt: LoginAttempt): Promise<void>;
  /** Deletes ended windows. */
  prune(): Promise<void>;
}

/** The throttle policy over a store; `now` is injectable for tests. */
export function createLoginThrottle(
  store: ThrottleStore,
  limits: ThrottleLimits,
  now: () => number = Date.now,
): LoginThrottle {
  return {
    async check(attempt) {
      const t = now();
      const [account, ip] = await store.read([accountKey(attempt.username), ipKey(attempt.ip)], t);
      return retryAfterSeconds(
        [
          { window: account ?? null, limit: limits.maxPerAccount },
          { window: ip ?? null, limit: limits.maxPerIp },
        ],
        t,
      );
    },
    async recordFailure(attempt) {
      const t = now();
      await Promise.all([
        store.increment(accountKey(attempt.username), limits.windowMs, t),
        store.increment(ipKey(attempt.ip), limits.windowMs, t),
      ]);
    },
    async recordSuccess(attempt) {
      await store.clear(accountKey(attempt.username));
    },
    prune: () => store.prune(now()),
  };
}

/**
 * The wait, in whole seconds (at least 1), until every exhausted window has ended; null when no
 * window has reached its limit.
 */
export function retryAfterSeconds(
  checks: { window: FailureWindow | null; limit: number }[],
  nowMs: number,
): number | null {
  let until = 0;
  for (const { window, limit } of checks) {
    if (window && window.failures >= limit && window.resetAtMs > nowMs)
      until = Math.max(until, window.resetAtMs);
  }
  return until === 0 ? null : Math.max(1, Math.ceil((until - nowMs) / 1000));
}

/** Usernames are matched exactly by the database, so they are counted exactly too. */
export function accountKey(username: string): string {
  return `account:${username}`;
}

/** IPv4 (and IPv4-mapped IPv6) addresses as they are; other IPv6 addresses by their /64. */
export function ipKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return `ip:${mapped[1]}`;
  if (!isIPv6(ip)) return `ip:${ip}`;
  return `ip:${expandIPv6(ip).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, without zero compression or a zone id. */
function expandIPv6(ip: string): string[] {
  const [head = '', tail] = (ip.split('%')[0] ?? '').toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = Array.from({ length: Math.max(0, 8 - left.length - right.length) }, () => '0');
  return [...left, ...(tail === undefined ? [] : zeros), ...right].map((g) => g.replace(/^0+(?=.)/, ''));
}
