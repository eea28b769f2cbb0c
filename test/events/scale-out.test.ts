import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { setupBackend } from '../support/backends.ts';
import { REDIS_URL } from '../support/services.ts';
import type { SseClient } from '../support/sse.ts';
import {
  closeAll,
  demoTokens,
  ended,
  expectSilence,
  numbered,
  numberOf,
  openStream,
  openStreamRetrying,
} from './helpers.ts';

/** Two app instances on one Redis (and one database), as behind a load balancer. */
async function twoInstances(t: import('node:test').TestContext) {
  const setup = await setupBackend(t, 'redis');
  if (!setup) return null;
  const a = await setup.start();
  const b = await setup.start();
  return { a, b, setup, tokens: await demoTokens(a.url) };
}

test('a message published on one instance reaches the user’s streams on every instance, and no one else', async (t) => {
  const pair = await twoInstances(t);
  if (!pair) return;
  const { a, b, tokens } = pair;
  const markA = await openStream(a.url, tokens.mark, 'mark');
  const markB = await openStream(b.url, tokens.mark, 'mark');
  const lukeB = await openStream(b.url, tokens.luke, 'luke');
  t.after(closeAll([markA, markB, lukeB]));

  const sent = await a.app.events.publish('mark', numbered(1));
  for (const stream of [markA, markB]) {
    const event = await stream.next();
    assert.equal(event.id, String(sent.id));
    assert.equal(numberOf(event), 1);
  }
  await b.app.events.publish('*', numbered(2));
  for (const stream of [markA, markB, lukeB]) assert.equal(numberOf(await stream.next()), 2);
  await expectSilence(lukeB, 200);
});

test('a client reconnecting to alternating instances while both publish hundreds gets each message once, in order', async (t) => {
  const pair = await twoInstances(t);
  if (!pair) return;
  const { a, b, tokens } = pair;
  const total = 200;
  const publishing = (async () => {
    for (let n = 0; n < total; n += 2) {
      await Promise.all([
        a.app.events.publish('mark', numbered(n)),
        b.app.events.publish('mark', numbered(n + 1)),
      ]);
    }
  })();
  const received: { id: number; n: number }[] = [];
  let lastId = '0';
  for (let round = 0; received.length < total; round++) {
    const instance = round % 2 === 0 ? a : b;
    const stream: SseClient = await openStream(instance.url, tokens.mark, 'mark', { lastEventId: lastId });
    const want = Math.min(total - received.length, 1 + Math.floor(Math.random() * 20));
    for (let i = 0; i < want; i++) {
      const event = await stream.next(10_000);
      assert.equal(event.event, undefined, `${event.event}: ${event.data}`);
      received.push({ id: Number(event.id), n: numberOf(event) });
      lastId = event.id ?? '';
    }
    stream.close();
  }
  await publishing;
  assert.deepEqual(
    received.map((r) => r.n).sort((x, y) => x - y),
    Array.from({ length: total }, (_, n) => n),
  );
  assert.ok(
    received.every((r, i) => i === 0 || r.id > (received[i - 1]?.id ?? 0)),
    'ids strictly increase',
  );
});

test('logout on one instance ends that session’s streams on the other', async (t) => {
  const pair = await twoInstances(t);
  if (!pair) return;
  const { a, b, tokens } = pair;
  const onB = await openStream(b.url, tokens.mark, 'mark');
  const response = await fetch(`${a.url}/api/logout`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tokens.mark}` },
  });
  assert.equal(response.status, 204);
  const event = await onB.next();
  assert.equal(event.event, 'auth');
  assert.equal(JSON.parse(event.data).reason, 'logout');
  await ended(onB);
});

test('when an instance loses its bus link its streams end, and the resume misses nothing', async (t) => {
  const pair = await twoInstances(t);
  if (!pair) return;
  const { a, b, tokens } = pair;
  const stream = await openStream(b.url, tokens.mark, 'mark');
  await a.app.events.publish('mark', numbered(1));
  const seen = await stream.next();

  // Cut the instances' subscriber connections (named after the channel) as a network blip would.
  const admin = new Redis(REDIS_URL);
  t.after(() => admin.disconnect());
  const channel = `${b.config.redisKeyPrefix}bus`;
  const clients = (await admin.client('LIST')) as string;
  const ids = clients
    .split('\n')
    .filter((line) => line.includes(` name=${channel} `))
    .map((line) => /id=(\d+)/.exec(line)?.[1] ?? '');
  assert.equal(ids.length, 2, 'one subscriber per instance');
  for (const id of ids) await admin.client('KILL', 'ID', id);
  // Published while the link is down: pub/sub drops it, the log keeps it.
  await a.app.events.publish('mark', numbered(2));
  await ended(stream);

  // Reconnect like a client: refused (503) until the link is back, then reset at most once more; each
  // reconnect resumes from the last id, so nothing is lost or repeated either way.
  const received: number[] = [];
  let lastId = seen.id ?? '';
  let published3 = false;
  for (let attempt = 0; received.length < 2 && attempt < 50; attempt++) {
    const resumed = await openStreamRetrying(b.url, tokens.mark, 'mark', { lastEventId: lastId });
    try {
      while (received.length < 2) {
        if (received.length === 1 && !published3) {
          published3 = true;
          await a.app.events.publish('mark', numbered(3));
        }
        const event = await resumed.next(10_000);
        received.push(numberOf(event));
        lastId = event.id ?? lastId;
      }
    } catch (error) {
      if (!(error instanceof Error) || error.message !== 'stream ended') throw error;
    } finally {
      resumed.close();
    }
  }
  assert.deepEqual(received, [2, 3]);
});

test('an unreachable REDIS_URL stops start-up with an error naming it', async (t) => {
  const { startApp } = await import('../support/app.ts');
  const started = Date.now();
  await assert.rejects(startApp(t, { REDIS_URL: 'redis://127.0.0.1:1' }), /REDIS_URL/);
  assert.ok(Date.now() - started < 9000, 'before Fastify’s generic plugin timeout');
});
