/**
 * Login counters that survive Redis going away. The throttle must never fail open — an attacker
 * who can make Redis unreachable must not win unthrottled guessing — and logins must keep working
 * while Redis is down. So each call goes to Redis, and when Redis is unavailable, to the database
 * every instance shares (the SQL store).
 *
 * Counts made in the database during an outage are not lost when Redis returns: for one window
 * after this instance last fell back, every count is the sum of both stores, so a guesser cannot
 * get the limit twice by straddling the switch. (Another instance that never fell back does not
 * look in the database; it also saw no count go there.)
 */
import { isRedisUnavailable } from '../events/redis-faults.ts';
import type { FailureWindow, ThrottleStore } from './login-throttle.ts';

export function createFailoverThrottleStore(
  primary: ThrottleStore,
  fallback: ThrottleStore,
  onFallback: (error: unknown) => void,
): ThrottleStore {
  /** Until then (unix ms) the fallback may hold counts of running windows. */
  let fallbackHoldsCountsUntil = 0;

  const withFallback = async <T>(
    operation: (store: ThrottleStore) => Promise<T>,
    windowMs: number,
    nowMs = Date.now(),
  ): Promise<{ value: T; fromPrimary: boolean }> => {
    try {
      return { value: await operation(primary), fromPrimary: true };
    } catch (error) {
      if (!isRedisUnavailable(error)) throw error;
      onFallback(error);
      fallbackHoldsCountsUntil = Math.max(fallbackHoldsCountsUntil, nowMs + windowMs);
      return { value: await operation(fallback), fromPrimary: false };
    }
  };
  const fallbackMayHoldCounts = (nowMs: number) => nowMs < fallbackHoldsCountsUntil;
  const sum = (a: FailureWindow | null, b: FailureWindow | null): FailureWindow | null =>
    a && b ? { failures: a.failures + b.failures, resetAtMs: Math.max(a.resetAtMs, b.resetAtMs) } : (a ?? b);

  return {
    async read(keys, nowMs) {
      const { value, fromPrimary } = await withFallback((store) => store.read(keys, nowMs), 0, nowMs);
      if (!fromPrimary || !fallbackMayHoldCounts(nowMs)) return value;
      const older = await fallback.read(keys, nowMs);
      return value.map((window, i) => sum(window, older[i] ?? null));
    },
    async increment(key, windowMs, nowMs) {
      const { value, fromPrimary } = await withFallback(
        (store) => store.increment(key, windowMs, nowMs),
        windowMs,
        nowMs,
      );
      if (!fromPrimary || !fallbackMayHoldCounts(nowMs)) return value;
      const [older] = await fallback.read([key], nowMs);
      return sum(value, older ?? null) ?? value;
    },
    async decrement(key) {
      await withFallback((store) => store.decrement(key), 0);
    },
    async clear(key) {
      await withFallback((store) => store.clear(key), 0);
      if (fallbackMayHoldCounts(Date.now())) await fallback.clear(key);
    },
    async prune(nowMs) {
      await Promise.all([primary.prune(nowMs), fallback.prune(nowMs)]);
    },
    async close() {
      await Promise.all([primary.close(), fallback.close()]);
    },
  };
}
