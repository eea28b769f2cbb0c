/**
 * Login throttling against online password guessing (ASVS 2.2.1).
 *
 * Model: login attempts are counted in fixed windows under two keys — the account name tried and
 * the client address — and once either count passes its limit, attempts on that key are answered
 * `429` with `Retry-After` *without* checking the password, until the window ends.
 * - per account: stops a slow, distributed guess at one account (LOGIN_MAX_FAILURES_PER_ACCOUNT);
 * - per address: stops one client spraying many accounts (LOGIN_MAX_FAILURES_PER_IP). IPv6
 *   clients are keyed by their /64, since one host usually owns the whole prefix.
 * Every attempt is counted *before* its password is checked (one atomic increment per key), so
 * parallel requests cannot all pass a check that none of them has counted yet; a successful
 * attempt is then taken back — the account's counter is cleared, the address's decremented — so
 * the counters hold failures (plus any attempt still in flight).
 * A refused attempt costs nothing durable: keys already at their limit are read first and the
 * attempt is refused without writing (otherwise a throttled client spraying new usernames would
 * add a counter per name); the few that race past that read and lose at the increment have
 * their counts taken back.
 * Unknown usernames are counted exactly like known ones, so the throttle tells an attacker
 * nothing about which accounts exist. Windows are fixed from their first failure: attempts made
 * while blocked do not extend the lock.
 * Trade-off, documented in SECURITY.md: anyone can lock an account for one window by failing on
 * purpose; the window is short and the per-address limit bounds who can do it at scale.
 * Counters live in a `ThrottleStore` shared by all instances (see throttle-stores.ts).
 */
import { isIPv6 } from 'node:net';
import { ServiceUnavailableError } from '../service-unavailable.ts';

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
  /** Counts one attempt, opening a new window of `windowMs` when none is running. */
  increment(key: string, windowMs: number, nowMs: number): Promise<FailureWindow>;
  /** Takes one attempt back (never below zero; the window keeps its end; back at zero, it is gone). */
  decrement(key: string): Promise<void>;
  /** Forgets a key's count. */
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
  /**
   * Counts an attempt before its password is checked. Returns the seconds the caller must wait
   * (the attempt must then be refused unchecked), or null when it may proceed.
   */
  begin(attempt: LoginAttempt): Promise<number | null>;
  /** The attempt's password was right: it is not a failure after all. */
  succeeded(attempt: LoginAttempt): Promise<void>;
  /**
   * Runs the password check of an attempt `begin` let through. Should the check be refused
   * before any password is compared (ServiceUnavailableError: hashing overloaded, the database
   * away), the attempt is taken back off the counts — it taught the client nothing — and the
   * error rethrown: a flood that fills the hashing queue must not lock real users out.
   */
  check<T>(attempt: LoginAttempt, run: () => Promise<T>): Promise<T>;
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
    async begin(attempt) {
      const t = now();
      const keys = [accountKey(attempt.username), ipKey(attempt.ip)] as const;
      // A key at its limit refuses the attempt before anything is written.
      const [accountNow = null, ipNow = null] = await store.read([...keys], t);
      const blocked = retryAfterSeconds(
        [
          { window: accountNow, limit: limits.maxPerAccount - 1 },
          { window: ipNow, limit: limits.maxPerIp - 1 },
        ],
        t,
      );
      if (blocked !== null) return blocked;
      const [account, ip] = await Promise.all(keys.map((key) => store.increment(key, limits.windowMs, t)));
      const refused = retryAfterSeconds(
        [
          { window: account ?? null, limit: limits.maxPerAccount },
          { window: ip ?? null, limit: limits.maxPerIp },
        ],
        t,
      );
      // Lost a race at the limit: refused unchecked, so it is no failure to count.
      if (refused !== null) await Promise.all(keys.map((key) => store.decrement(key)));
      return refused;
    },
    async succeeded(attempt) {
      await Promise.all([store.clear(accountKey(attempt.username)), store.decrement(ipKey(attempt.ip))]);
    },
    async check(attempt, run) {
      try {
        return await run();
      } catch (error) {
        if (error instanceof ServiceUnavailableError) {
          const keys = [accountKey(attempt.username), ipKey(attempt.ip)];
          // Best effort: a store that is away has counted nothing to take back.
          await Promise.all(keys.map((key) => store.decrement(key))).catch(() => {});
        }
        throw error;
      }
    },
    prune: () => store.prune(now()),
  };
}

/**
 * The wait, in whole seconds (at least 1), until every window whose count (including the
 * attempt being made) exceeds its limit has ended; null when none does.
 */
export function retryAfterSeconds(
  checks: { window: FailureWindow | null; limit: number }[],
  nowMs: number,
): number | null {
  let until = 0;
  for (const { window, limit } of checks) {
    if (window && window.failures > limit && window.resetAtMs > nowMs)
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
