import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BACKENDS, setupBackend } from '../support/backends.ts';
import { Browser } from '../support/http.ts';
import type { SseClient } from '../support/sse.ts';
import { closeAll, demoTokens, ended, expectSilence, numbered, numberOf, openStream } from './helpers.ts';

for (const backend of BACKENDS) {
  describe(`delivery on ${backend}`, () => {
    test('every open stream of a user gets each of its messages, in order, with increasing ids; other users never do', async (t) => {
      const setup = await setupBackend(t, backend);
      if (!setup) return;
      const { url, app } = await setup.start();
      const tokens = await demoTokens(url);
      const tabs = await Promise.all([1, 2, 3].map(() => openStream(url, tokens.mark, 'mark')));
      const luke = await openStream(url, tokens.luke, 'luke');
      t.after(closeAll([...tabs, luke]));

      for (let n = 1; n <= 5; n++) await app.events.publish('mark', numbered(n));
      await app.events.publish('luke', numbered(100));
      for (const tab of tabs) {
        const events = await tab.take(5);
        assert.deepEqual(events.map(numberOf), [1, 2, 3, 4, 5]);
        const ids = events.map((e) => Number(e.id));
        assert.ok(
          ids.every((id, i) => Number.isSafeInteger(id) && (i === 0 || id > (ids[i - 1] ?? 0))),
          `${ids}`,
        );
      }
      // Luke's first event is his own message: none of mark's five reached him.
      assert.equal(numberOf(await luke.next()), 100);

      const broadcast = await app.events.publish('*', numbered(7));
      for (const stream of [...tabs, luke]) {
        const event = await stream.next();
        assert.equal(event.id, String(broadcast.id));
        assert.equal(numberOf(event), 7);
      }
      await expectSilence(luke, 200);
    });

    for (const via of ['header', 'query'] as const) {
      test(`a stream resumed with the last id (${via === 'header' ? 'Last-Event-ID' : '?lastEventId='}) replays exactly what was missed, then goes live`, async (t) => {
        const setup = await setupBackend(t, backend);
        if (!setup) return;
        const { url, app } = await setup.start();
        const tokens = await demoTokens(url);
        const first = await openStream(url, tokens.mark, 'mark');
        await app.events.publish('mark', numbered(1));
        const seen = await first.next();
        first.close();

        await app.events.publish('mark', numbered(2));
        await app.events.publish('luke', numbered(99));
        await app.events.publish('*', numbered(3));
        await app.events.publish('mark', numbered(4));

        const resumed = await openStream(url, tokens.mark, 'mark', { lastEventId: seen.id ?? '', via });
        t.after(() => resumed.close());
        assert.deepEqual((await resumed.take(3)).map(numberOf), [2, 3, 4]);
        await app.events.publish('mark', numbered(5));
        assert.equal(numberOf(await resumed.next()), 5);
        await expectSilence(resumed, 200);
      });
    }

    test('a client reconnecting while hundreds of messages are published gets each one exactly once, in order', async (t) => {
      const setup = await setupBackend(t, backend);
      if (!setup) return;
      const { url, app } = await setup.start();
      const tokens = await demoTokens(url);
      const total = 300;
      const steady = await openStream(url, tokens.mark, 'mark');
      t.after(() => steady.close());

      const publishing = (async () => {
        for (let batch = 0; batch < total / 10; batch++) {
          // Ten at once: in-process publishes race each other as well as the reconnects.
          await Promise.all(
            Array.from({ length: 10 }, (_, i) => app.events.publish('mark', numbered(batch * 10 + i))),
          );
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();

      const received: { id: number; n: number }[] = [];
      let reconnects = 0;
      // Publishing has already started: the first connect resumes from 0 (the log's start).
      let lastId = '0';
      while (received.length < total) {
        const stream: SseClient = await openStream(url, tokens.mark, 'mark', { lastEventId: lastId });
        reconnects++;
        const want = Math.min(total - received.length, 1 + Math.floor(Math.random() * 25));
        for (let i = 0; i < want; i++) {
          const event = await stream.next(10_000);
          assert.equal(event.event, undefined, `unexpected control event ${event.event}: ${event.data}`);
          received.push({ id: Number(event.id), n: numberOf(event) });
          lastId = event.id ?? '';
        }
        stream.close();
      }
      await publishing;
      const all = (await steady.take(total, 10_000)).map((e) => ({ id: Number(e.id), n: numberOf(e) }));

      const expected = Array.from({ length: total }, (_, n) => n);
      assert.ok(reconnects > 10, `only ${reconnects} reconnects`);
      assert.deepEqual(
        received.map((r) => r.n),
        expected,
      );
      assert.deepEqual(
        all.map((r) => r.n),
        expected,
      );
      assert.deepEqual(
        received.map((r) => r.id),
        all.map((r) => r.id),
      );
      assert.ok(all.every((r, i) => i === 0 || r.id > (all[i - 1]?.id ?? 0)));
    });

    test('replay works across an app restart on the same backend', async (t) => {
      const setup = await setupBackend(t, backend);
      if (!setup) return;
      const first = await setup.start();
      const tokens = await demoTokens(first.url);
      const stream = await openStream(first.url, tokens.mark, 'mark');
      await first.app.events.publish('mark', numbered(1));
      const seen = await stream.next();
      await first.app.events.publish('mark', numbered(2));
      await first.app.events.publish('mark', numbered(3));
      await first.close();
      await ended(stream);

      const second = await setup.start();
      const resumed = await openStream(second.url, tokens.mark, 'mark', { lastEventId: seen.id ?? '' });
      t.after(() => resumed.close());
      assert.deepEqual((await resumed.take(2)).map(numberOf), [2, 3]);
      const next = await second.app.events.publish('mark', numbered(4));
      assert.ok(next.id > Number(seen.id) + 2, 'ids keep increasing after the restart');
      assert.equal(numberOf(await resumed.next()), 4);
    });

    test('the protected page carries the latest id, so its first connect gets what was published meanwhile', async (t) => {
      const setup = await setupBackend(t, backend);
      if (!setup) return;
      const { url, app } = await setup.start();
      const before = await app.events.publish('mark', numbered(1));
      const browser = await new Browser(url).login('mark', 'pass123');
      const page = await (await browser.fetch('/protected')).text();
      const match = /<body[^>]* sx-last-id="(\d+)"/.exec(page);
      assert.ok(match, 'the page names its resume point');
      // At least the message before; signing in published to the account page's topic since.
      assert.ok(Number(match[1]) >= before.id);

      // Published after the page was rendered, before its stream connects.
      await app.events.publish('mark', numbered(2));
      const stream = await openStream(url, (await demoTokens(url)).mark, 'mark', {
        lastEventId: match[1] ?? '',
      });
      t.after(() => stream.close());
      assert.equal(numberOf(await stream.next()), 2);
    });
  });
}
