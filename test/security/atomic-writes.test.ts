/**
 * A change is stored and announced together, or not at all. The reported case: once a user's
 * list pushed a message past the size limit, each add inserted its row and then answered 413 —
 * retries duplicated rows, and that user's live updates stopped for good. Where the log is the
 * database the row and the message share one transaction; where it is Redis, the message is
 * checked before anything is written and stored before the database commits, so a Redis failure
 * leaves no row behind.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunningApp } from '../support/app.ts';
import { BACKENDS, setupBackend } from '../support/backends.ts';
import { changeIn, courseAdder } from '../support/courses.ts';
import { Browser } from '../support/http.ts';
import { privateRedis } from '../support/redis-server.ts';
import { openSse } from '../support/sse.ts';

const courseRows = async (running: RunningApp) =>
  Number(
    (
      await running.app.db
        .selectFrom('courses')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

for (const backend of BACKENDS) {
  describe(`on ${backend}`, () => {
    test('an add whose message is refused stores nothing, and live updates keep working', async (t) => {
      // Messages up to 2 KiB: an item with an ordinary title is about 1.4 KiB; a title of 200 `<`
      // escapes to 800 bytes, which the item shows twice (as text and as the rename field's value).
      const setup = await setupBackend(t, backend, { SSE_MAX_BUFFERED_BYTES: '4096' });
      if (!setup) return;
      const running = await setup.start();
      const browser = await new Browser(running.url).login();
      const add = await courseAdder(browser);
      const stream = await openSse(`${running.url}/protected/events/mark`, { cookie: browser.cookieHeader });
      t.after(() => stream.close());

      let stored = 0;
      let refused = 0;
      for (let i = 0; i < 3; i++) {
        const response = await add('<'.repeat(200));
        if (response.status === 201) stored++;
        else {
          assert.equal(response.status, 413, await response.text());
          refused++;
        }
        assert.equal(await courseRows(running), stored, `after attempt ${i + 1}: a refused add left a row`);
      }
      assert.ok(refused > 0, 'the oversized message was refused');

      // Nothing was announced for the refused adds: the next message is the user's next ordinary
      // change, stored and delivered as usual.
      assert.equal((await add('Ordinary')).status, 201);
      const event = await stream.next();
      const change = changeIn(event.data);
      assert.equal(change.kind === 'added' && change.course.title, 'Ordinary');
    });
  });
}

test('with the log in Redis, a Redis failure at publish time leaves no row behind', async (t) => {
  const redis = await privateRedis(t);
  if (!redis) return;
  const setup = await setupBackend(t, 'sqlite', { REDIS_URL: redis.url, LOG_LEVEL: 'silent' });
  if (!setup) return;
  const running = await setup.start();
  const add = await courseAdder(await new Browser(running.url).login());
  assert.equal((await add('Before')).status, 201);

  await redis.kill();
  const response = await add('While Redis is down');
  assert.ok(response.status >= 500, `status ${response.status}`);
  assert.doesNotMatch(await response.text(), /redis|ECONNREFUSED|stack/i);
  assert.equal(await courseRows(running), 1, 'the course row was rolled back');

  await redis.start();
  // The client reconnects on its own; the next add goes through once it has.
  let status = 0;
  for (let i = 0; i < 100 && status !== 201; i++) {
    status = (await add('After')).status;
    if (status !== 201) await sleep(50);
  }
  assert.equal(status, 201);
  assert.equal(await courseRows(running), 2);
});
