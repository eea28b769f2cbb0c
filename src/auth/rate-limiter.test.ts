import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FailureWindow, ThrottleStore } from './login-throttle.ts';
import { createRateLimiter } from './rate-limiter.ts';

/** An in-memory store with the real stores' semantics, counting writes. */
function memoryStore() {
  const windows = new Map<string, FailureWindow>();
  let writes = 0;
  const store: ThrottleStore = {
    async read(keys, nowMs) {
      return keys.map((k) => {
        const w = windows.get(k);
        return w && w.resetAtMs > nowMs ? w : null;
      });
    },
    async increment(key, windowMs, nowMs) {
      writes++;
      const w = windows.get(key);
      const next =
        w && w.resetAtMs > nowMs
          ? { ...w, failures: w.failures + 1 }
          : { failures: 1, resetAtMs: nowMs + windowMs };
      windows.set(key, next);
      return next;
    },
    decrement: async () => {},
    clear: async () => {},
    prune: async () => {},
    close: async () => {},
  };
  return { store, writes: () => writes };
}

test('allows `limit` uses per key and window, then refuses with the wait, writing nothing more', async () => {
  let now = 1_000_000;
  const { store, writes } = memoryStore();
  const limiter = createRateLimiter(store, 60_000, () => now);
  const limits = [
    { key: 'a', limit: 2 },
    { key: 'b', limit: 5 },
  ];
  assert.equal(await limiter.take(limits), null);
  assert.equal(await limiter.take(limits), null);
  assert.equal(writes(), 4);
  assert.equal(await limiter.take(limits), 60);
  assert.equal(await limiter.take(limits), 60);
  assert.equal(writes(), 4, 'refused uses are not counted');
  now += 30_000;
  assert.equal(await limiter.take(limits), 30);
  now += 30_000;
  assert.equal(await limiter.take(limits), null, 'a new window');
});

test('one exhausted key refuses the action for every key it is taken with', async () => {
  const { store } = memoryStore();
  const limiter = createRateLimiter(store, 60_000, () => 0);
  assert.equal(await limiter.take([{ key: 'ip', limit: 1 }]), null);
  assert.notEqual(
    await limiter.take([
      { key: 'email', limit: 9 },
      { key: 'ip', limit: 1 },
    ]),
    null,
  );
  assert.equal(await limiter.take([{ key: 'email', limit: 9 }]), null, 'the refused use did not count');
});
