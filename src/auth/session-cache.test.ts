import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CachedSession, createSessionCache } from './session-cache.ts';

const standing = (userId: number): CachedSession => ({
  user: { id: userId, username: 'ann', tokens_valid_after: 0, email: null, email_verified_at: null },
  session: {
    id: 's',
    user_id: userId,
    created_at: 0,
    last_seen_at: 0,
    expires_at: 10,
    absolute_expires_at: 20,
    persistent: false,
    user_agent: '',
    ip: '',
    ended_at: null,
  },
});

test('concurrent misses share one load; the result is kept', async () => {
  const cache = createSessionCache(10);
  let loads = 0;
  const load = async () => {
    loads++;
    return standing(1);
  };
  const [a, b] = await Promise.all([cache.load('s', 'ann', load), cache.load('s', 'ann', load)]);
  assert.equal(loads, 1);
  assert.equal(a, b);
  assert.equal(cache.get('s')?.user?.id, 1);
});

test('a load that began before an invalidation is answered but not kept', async () => {
  const cache = createSessionCache(10);
  let finish: (value: CachedSession) => void = () => {};
  const pending = cache.load('s', 'ann', () => new Promise((resolve) => (finish = resolve)));
  cache.forgetUser('ann');
  finish(standing(1));
  assert.ok((await pending).user);
  assert.equal(cache.get('s'), undefined, 'the stale answer was not stored');
  // And a request after the invalidation starts its own load instead of joining the stale one.
  let loads = 0;
  await cache.load('s', 'ann', async () => {
    loads++;
    return { user: null, session: null };
  });
  assert.equal(loads, 1);
  assert.equal(cache.get('s')?.user, null);
});

test('forgetting a user spares the session named as kept; the oldest entries go past the bound', async () => {
  const cache = createSessionCache(2);
  await cache.load('a', 'ann', async () => standing(1));
  await cache.load('b', 'ann', async () => standing(1));
  cache.forgetUser('ann', 'b');
  assert.equal(cache.get('a'), undefined);
  assert.ok(cache.get('b'));
  await cache.load('c', 'bob', async () => standing(2));
  await cache.load('d', 'bob', async () => standing(2));
  assert.equal(cache.size, 2);
  assert.equal(cache.get('b'), undefined, 'oldest evicted');
  assert.deepEqual(
    cache.standing().map((r) => r.tokenId),
    ['c', 'd'],
  );
  cache.clear();
  assert.equal(cache.size, 0);
});
