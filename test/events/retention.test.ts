import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRedisBackend } from '../../src/events/redis-backend.ts';
import { createSqlEventLog } from '../../src/events/sql-log.ts';
import type { RunningApp } from '../support/app.ts';
import { BACKENDS, type Backend, setupBackend } from '../support/backends.ts';
import { closeAll, demoTokens, ended, expectSilence, numbered, numberOf, openStream } from './helpers.ts';

const LIMIT = { SSE_REPLAY_LIMIT: '5' };

/** Opens mark's stream, publishes one message to him and returns its id (the resume point). */
async function seenId(running: RunningApp, token: string): Promise<string> {
  const stream = await openStream(running.url, token, 'mark');
  await running.app.events.publish('mark', numbered(0));
  const event = await stream.next();
  stream.close();
  return event.id ?? '';
}

/** A second handle on the app's own log with a tiny age limit, to age messages out without waiting hours. */
async function pruneOlderThan(backend: Backend, running: RunningApp, maxAgeMs: number): Promise<number> {
  const retention = { perRecipient: 1000, bytesPerRecipient: running.config.sseLogMaxBytes, maxAgeMs };
  if (backend !== 'redis') return createSqlEventLog(running.app.db, running.app.dbDialect, retention).prune();
  const redis = await createRedisBackend({
    url: running.config.redisUrl ?? '',
    prefix: running.config.redisKeyPrefix ?? '',
    retention,
    onError: () => {},
  });
  try {
    return await redis.log.prune();
  } finally {
    await redis.close();
  }
}

for (const backend of BACKENDS) {
  describe(`retention on ${backend}`, () => {
    test('a resume from before what retention kept gets `event: reload` instead of a silent gap', async (t) => {
      const setup = await setupBackend(t, backend, LIMIT);
      if (!setup) return;
      const running = await setup.start();
      const tokens = await demoTokens(running.url);
      const id = await seenId(running, tokens.mark);
      for (let n = 1; n <= 8; n++) await running.app.events.publish('mark', numbered(n));
      await running.app.events.prune();

      const resumed = await openStream(running.url, tokens.mark, 'mark', { lastEventId: id });
      const event = await resumed.next();
      assert.equal(event.event, 'reload');
      assert.deepEqual(JSON.parse(event.data), { reason: 'replay-gap' });
      await ended(resumed);
    });

    test("other users' overflow does not make a stream reload", async (t) => {
      const setup = await setupBackend(t, backend, LIMIT);
      if (!setup) return;
      const running = await setup.start();
      const tokens = await demoTokens(running.url);
      const id = await seenId(running, tokens.mark);
      for (let n = 1; n <= 12; n++) await running.app.events.publish('luke', numbered(n));
      await running.app.events.prune();

      const resumed = await openStream(running.url, tokens.mark, 'mark', { lastEventId: id });
      t.after(() => resumed.close());
      await expectSilence(resumed, 200);
      await running.app.events.publish('mark', numbered(99));
      assert.equal(numberOf(await resumed.next()), 99);
    });

    test('messages older than the age limit are pruned, and a resume from before them reloads', async (t) => {
      const setup = await setupBackend(t, backend);
      if (!setup) return;
      const running = await setup.start();
      const tokens = await demoTokens(running.url);
      const id = await seenId(running, tokens.mark);
      await running.app.events.publish('mark', numbered(1));
      await sleep(60);
      assert.ok((await pruneOlderThan(backend, running, 50)) >= 2);

      const resumed = await openStream(running.url, tokens.mark, 'mark', { lastEventId: id });
      assert.equal((await resumed.next()).event, 'reload');
      await ended(resumed);
      // From the newest id there is nothing missing: no reload.
      const current = await openStream(running.url, tokens.mark, 'mark', {
        lastEventId: await running.app.events.latestId(),
      });
      t.after(() => current.close());
      await expectSilence(current, 200);
    });

    test('an id the log never issued (a reset log, another deployment) gets reload', async (t) => {
      const setup = await setupBackend(t, backend);
      if (!setup) return;
      const running = await setup.start();
      const tokens = await demoTokens(running.url);
      await running.app.events.publish('mark', numbered(1));
      const stream = await openStream(running.url, tokens.mark, 'mark', { lastEventId: 1_000_000 });
      assert.equal((await stream.next()).event, 'reload');
      await ended(stream);
    });
  });
}

for (const backend of ['sqlite', 'postgres'] as const) {
  test(`on ${backend}, the plugin's timer enforces the per-user limit`, async (t) => {
    const setup = await setupBackend(t, backend, {
      SSE_REPLAY_LIMIT: '2',
      SSE_PRUNE_INTERVAL_SECONDS: '0.05',
    });
    if (!setup) return;
    const { app } = await setup.start();
    for (let n = 1; n <= 6; n++) await app.events.publish('mark', numbered(n));
    const deadline = Date.now() + 5000;
    let window = await app.events.log.readAfter(['mark'], 0, 100);
    while (window.events.length > 2 && Date.now() < deadline) {
      await sleep(20);
      window = await app.events.log.readAfter(['mark'], 0, 100);
    }
    assert.deepEqual(
      window.events.map((e) => JSON.parse(e.data).js.n),
      [5, 6],
    );
    assert.equal(window.prunedThrough, (window.events[0]?.id ?? 0) - 1);
  });
}

test('a resume further behind than SSE_REPLAY_LIMIT reloads even before pruning runs', async (t) => {
  const setup = await setupBackend(t, 'sqlite', LIMIT);
  if (!setup) return;
  const running = await setup.start();
  const tokens = await demoTokens(running.url);
  const id = await seenId(running, tokens.mark);
  for (let n = 1; n <= 6; n++) await running.app.events.publish('mark', numbered(n));
  const behind = await openStream(running.url, tokens.mark, 'mark', { lastEventId: id });
  assert.equal((await behind.next()).event, 'reload');
  // Exactly at the limit, it replays.
  const events = await running.app.events.log.readAfter(['mark', '*'], Number(id), 100);
  const fromSecond = await openStream(running.url, tokens.mark, 'mark', {
    lastEventId: events.events[0]?.id ?? 0,
  });
  t.after(closeAll([behind, fromSecond]));
  assert.deepEqual((await fromSecond.take(5)).map(numberOf), [2, 3, 4, 5, 6]);
});
