import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ServiceUnavailableError } from '../service-unavailable.ts';
import { createHashingQueue } from './hashing-queue.ts';
import {
  checkNewPassword,
  createPasswordHasher,
  defaultHashingConcurrency,
  MAX_PASSWORD_LENGTH,
} from './passwords.ts';

const hasher = createPasswordHasher(4);

test('hash → verify: the right password matches, a wrong one does not', async () => {
  const hash = await hasher.hash('pass123');
  assert.match(hash, /^\$2b\$04\$[./A-Za-z0-9]{53}$/);
  assert.equal(await hasher.verify('pass123', hash), true);
  assert.equal(await hasher.verify('pass124', hash), false);
  assert.equal(await hasher.verify('', hash), false);
  assert.notEqual(await hasher.hash('pass123'), hash, 'each hash has its own salt');
});

test('the cost is the configured number of rounds', async () => {
  assert.match(await createPasswordHasher(5).hash('x'), /^\$2b\$05\$/);
});

test('multi-byte passwords work up to exactly 72 bytes', async () => {
  const password = `${'é'.repeat(35)}ab`; // 72 bytes
  assert.equal(checkNewPassword(password), null);
  const hash = await hasher.hash(password);
  assert.equal(await hasher.verify(password, hash), true);
  assert.equal(await hasher.verify(`${'é'.repeat(35)}ac`, hash), false, 'the 72nd byte counts');
});

test('refuses new passwords over 72 bytes instead of silently truncating them', async () => {
  const long = 'a'.repeat(73);
  assert.equal(checkNewPassword(long), 'too-long');
  assert.equal(checkNewPassword('é'.repeat(37)), 'too-long', 'bytes count, not characters');
  assert.equal(checkNewPassword(''), 'empty');
  await assert.rejects(hasher.hash(long), TypeError);
  await assert.rejects(hasher.hash(''), TypeError);
});

test('an unknown user (no stored hash) or a corrupt hash verifies false, never throws', async () => {
  assert.equal(await hasher.verify('pass123', null), false);
  assert.equal(await hasher.verify('pass123', 'not-a-bcrypt-hash'), false);
  assert.equal(await hasher.verify('pass123', ''), false);
  assert.equal(await hasher.verify('pass123', 'pass123'), false, 'a plaintext column never matches itself');
});

test('the unknown-user path still runs a bcrypt comparison (no timing shortcut)', async () => {
  const slow = createPasswordHasher(10);
  const known = await slow.hash('pass123');
  await slow.verify('warm-up', null); // the dummy hash is made once, lazily
  const time = async (hash: string | null) => {
    const start = performance.now();
    await slow.verify('wrong', hash);
    return performance.now() - start;
  };
  const unknown = await time(null);
  const wrong = await time(known);
  // A comparison at cost 10 takes tens of ms; skipping it would take well under one.
  assert.ok(unknown > wrong / 3, `unknown user took ${unknown} ms, wrong password ${wrong} ms`);
});

test('accepts $2a$ and $2y$ hashes (older passlib, PHP) as well as $2b$', async () => {
  const hash = await hasher.hash('pass456');
  for (const prefix of ['$2a$', '$2y$']) {
    const variant = hash.replace(/^\$2b\$/, prefix);
    assert.equal(await hasher.verify('pass456', variant), true, prefix);
    assert.equal(await hasher.verify('pass457', variant), false, prefix);
  }
});

test('a password longer than MAX_PASSWORD_LENGTH is refused before hashing', async () => {
  const hash = await hasher.hash('a'.repeat(72));
  // bcrypt would compare only the first 72 bytes and say yes; the length guard says no first.
  assert.equal(await hasher.verify('a'.repeat(MAX_PASSWORD_LENGTH + 1), hash), false);
});

test('hashes at once: the cores beside the event loop, a pool thread kept free, at least one', () => {
  assert.equal(defaultHashingConcurrency(1, 4), 1, 'a server pinned to one core hashes one at a time');
  assert.equal(defaultHashingConcurrency(2, 4), 1);
  assert.equal(defaultHashingConcurrency(4, 4), 3);
  assert.equal(
    defaultHashingConcurrency(16, 4),
    3,
    'one of libuv’s four threads stays free for files and DNS',
  );
  assert.equal(defaultHashingConcurrency(16, 8), 7, 'UV_THREADPOOL_SIZE raises the cap');
});

test('every comparison takes a hashing slot: beyond the slots they wait their turn', async () => {
  const queue = createHashingQueue({ concurrency: 1, maxWaitMs: 60_000, maxWaiting: 10 });
  const queued = createPasswordHasher(4, queue);
  const hash = await hasher.hash('pass123');
  const checks = [queued.verify('pass123', hash), queued.verify('nope', hash), queued.verify('x', null)];
  assert.equal(queue.running, 1);
  assert.equal(queue.waiting, 2);
  assert.deepEqual(await Promise.all(checks), [true, false, false]);
});

test('with the hashing queue full, known and unknown users alike get 503, never an answer', async () => {
  const queue = createHashingQueue({ concurrency: 1, maxWaitMs: 60_000, maxWaiting: 0 });
  const queued = createPasswordHasher(4, queue);
  const hash = await hasher.hash('pass123');
  await queued.verify('warm-up', null); // the unknown-user dummy hash exists
  const busy = queued.verify('pass123', hash); // holds the one slot
  for (const stored of [hash, null]) {
    await assert.rejects(queued.verify('pass123', stored), (error: unknown) => {
      assert.ok(error instanceof ServiceUnavailableError);
      assert.equal(error.statusCode, 503);
      return true;
    });
  }
  await assert.rejects(queued.hash('new-password'), ServiceUnavailableError, 'new hashes queue alike');
  assert.equal(await busy, true);
  assert.equal(await queued.verify('pass123', hash), true, 'served again once the slot is free');
});
