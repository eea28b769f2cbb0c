/**
 * What one account can make the server store and replay is bounded in bytes, not only in counts.
 * The reported attack: every course add pushed the user's whole list (up to half the send buffer
 * per message) and the log kept 1,000 messages per user, so 730 adds stored 256 MB; 16 streams
 * resuming from `Last-Event-ID: 0` then each read the lot in one synchronous query — another
 * client's /healthz waited 33 s and RSS grew past 1.4 GB. Asserted here on what the server stores
 * and reads (bytes, rows, reload), not on wall-clock time, which a loaded machine makes noisy.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { BROADCAST } from '../../src/events/types.ts';
import type { RunningApp } from '../support/app.ts';
import { startApp } from '../support/app.ts';
import { BACKENDS, setupBackend } from '../support/backends.ts';
import { courseAdder } from '../support/courses.ts';
import { apiToken, Browser } from '../support/http.ts';
import { openSse } from '../support/sse.ts';

/**
 * Small budgets keep the attack fast; the defaults (1 MiB, 512 KiB) scale it, not the shape. A
 * pushed course item with a 200-character title is about 1.8 KB (the title as text and as the
 * rename field's value; its buttons point at it): the log holds about 36 of them, a resume
 * replays about 18.
 */
const BUDGETS = { SSE_LOG_MAX_BYTES: '65536', SSE_REPLAY_MAX_BYTES: '32768' };
const LONG_TITLE = (i: number) =>
  `${String(i).padStart(4, '0')} ${'Course title padded to the maximum length. '.repeat(5)}`.slice(0, 200);

interface Reads {
  calls: number;
  rows: number;
  bytes: number;
  /** Most rows one query returned. */
  maxRows: number;
  timeline: string[];
}

/** Counts what the app reads from its event log (the log object the stream route holds). */
function watchReads(app: FastifyInstance): Reads {
  const log = app.events.log;
  const read = log.readAfter.bind(log);
  const reads: Reads = { calls: 0, rows: 0, bytes: 0, maxRows: 0, timeline: [] };
  log.readAfter = async (recipients, afterId, limit) => {
    const window = await read(recipients, afterId, limit);
    reads.calls++;
    reads.rows += window.events.length;
    reads.maxRows = Math.max(reads.maxRows, window.events.length);
    for (const event of window.events) reads.bytes += Buffer.byteLength(event.data);
    reads.timeline.push('read');
    return window;
  };
  return reads;
}

/** Bytes of messages the log holds for `recipient`, whatever the backend. */
async function logBytes(running: RunningApp, recipient: string): Promise<number> {
  if (running.config.redisUrl === null) {
    const row = await sql<{ bytes: number | null }>`
      select sum(octet_length(data)) as bytes from sse_events where recipient = ${recipient}`.execute(
      running.app.db,
    );
    return Number(row.rows[0]?.bytes ?? 0);
  }
  const window = await running.app.events.log.readAfter([recipient], 0, 1_000_000);
  return window.events.reduce((sum, event) => sum + Buffer.byteLength(event.data), 0);
}

test('the attack: many adds, then 16 streams resuming from 0 — bounded log, bounded reads, reload, healthz answers', async (t) => {
  const running = await startApp(t, BUDGETS);
  const { url, app, config } = running;
  const token = await apiToken(url);
  const add = await courseAdder(await new Browser(url).login());
  for (let i = 0; i < 150; i++) assert.equal((await add(LONG_TITLE(i))).status, 201, `add ${i}`);

  // What one account stored: within its budget, however many adds it made.
  assert.ok(
    (await logBytes(running, 'mark')) <= config.sseLogMaxBytes,
    `mark's log holds ${await logBytes(running, 'mark')} bytes, budget ${config.sseLogMaxBytes}`,
  );

  const reads = watchReads(app);
  const authorization = `Bearer ${token}`;
  const resumes = Array.from({ length: 16 }, async () => {
    const stream = await openSse(`${url}/protected/events/mark`, { authorization, 'last-event-id': '0' });
    try {
      const event = await stream.next(30_000);
      await stream.ended;
      return event;
    } finally {
      stream.close();
    }
  });
  const health = fetch(`${url}/healthz`).then((response) => {
    reads.timeline.push('healthz');
    return response.status;
  });
  const events = await Promise.all(resumes);
  assert.equal(await health, 200, "another client's /healthz is answered meanwhile");

  // The oldest messages are gone: a resume from 0 cannot be served without a gap.
  for (const event of events) assert.equal(event.event, 'reload');
  // Each resume read at most the user's budget, not the user's history.
  assert.ok(reads.bytes <= 16 * config.sseLogMaxBytes, `read ${reads.bytes} bytes for 16 resumes`);
  assert.ok(reads.maxRows <= 50, `${reads.maxRows} rows in one query`);
  assert.equal(app.events.connectionCount('mark'), 0);
});

test('a resume further behind than SSE_REPLAY_MAX_BYTES reloads; one within it replays exactly what it missed', async (t) => {
  const { url, app, config } = await startApp(t, BUDGETS);
  const browser = await new Browser(url).login();
  const stream = await openSse(`${url}/protected/events/mark`, { cookie: browser.cookieHeader });
  await browser.submit('/add_course', { course_title: 'Seen' }, '/protected');
  const seen = Number((await stream.next()).id);
  stream.close();
  const add = await courseAdder(browser);
  for (let i = 0; i < 30; i++) assert.equal((await add(LONG_TITLE(i))).status, 201);
  // The 30 messages are still in the log (under its budget) but over the replay budget.
  const missed = await app.events.log.readAfter(['mark', BROADCAST], seen, 1000);
  const missedBytes = missed.events.reduce((sum, e) => sum + Buffer.byteLength(e.data), 0);
  assert.equal(missed.events.length, 30);
  assert.equal(missed.prunedThrough < seen, true, 'nothing the client missed was pruned');
  assert.ok(missedBytes > config.sseReplayMaxBytes, `${missedBytes} bytes missed`);

  const far = await openSse(`${url}/protected/events/mark`, {
    cookie: browser.cookieHeader,
    'last-event-id': String(seen),
  });
  t.after(() => far.close());
  assert.equal((await far.next()).event, 'reload');

  const from = missed.events.at(-6)?.id ?? 0;
  const near = await openSse(`${url}/protected/events/mark`, {
    cookie: browser.cookieHeader,
    'last-event-id': String(from),
  });
  t.after(() => near.close());
  const replayed = await near.take(5);
  assert.deepEqual(
    replayed.map((e) => Number(e.id)),
    missed.events.slice(-5).map((e) => e.id),
  );
});

test('a long replay is read in batches, and other requests are served between them', async (t) => {
  const { url, app } = await startApp(t, { SSE_REPLAY_LIMIT: '2000' });
  for (let n = 0; n < 600; n++) await app.events.publish('mark', { js: { n } });
  const reads = watchReads(app);
  const token = await apiToken(url);
  const streams = await Promise.all(
    Array.from({ length: 4 }, () =>
      openSse(`${url}/protected/events/mark`, { authorization: `Bearer ${token}`, 'last-event-id': '0' }),
    ),
  );
  t.after(() => {
    for (const stream of streams) stream.close();
  });
  const health = fetch(`${url}/healthz`).then((response) => {
    reads.timeline.push('healthz');
    return response.status;
  });
  const replays = await Promise.all(streams.map((stream) => stream.take(600)));
  assert.equal(await health, 200);
  for (const replay of replays)
    assert.deepEqual(
      replay.map((e) => JSON.parse(e.data).js.n),
      Array.from({ length: 600 }, (_, n) => n),
    );
  assert.ok(reads.maxRows <= 50, `${reads.maxRows} rows in one query`);
  assert.ok(reads.calls >= 4 * 12, `${reads.calls} queries for 4 × 600 messages`);
  // /healthz was answered while the replays were still reading: they yield between batches.
  const answered = reads.timeline.indexOf('healthz');
  assert.ok(answered !== -1 && answered < reads.timeline.lastIndexOf('read'), reads.timeline.join(' '));
});

test('a course push stays one item long however long the list grows', async (t) => {
  const { url } = await startApp(t);
  const browser = await new Browser(url).login();
  const stream = await openSse(`${url}/protected/events/mark`, { cookie: browser.cookieHeader });
  t.after(() => stream.close());
  const add = await courseAdder(browser);
  for (let i = 0; i < 100; i++) assert.equal((await add(LONG_TITLE(i))).status, 201);
  const events = await stream.take(100);
  // Only the course id's digits may grow (the item names it in its ids and form actions).
  const sizes = events.map((e) => Buffer.byteLength(e.data.replace(/\d+/g, '0')));
  const [first = 0] = sizes;
  for (const size of sizes) assert.ok(Math.abs(size - first) <= 20, `${size} vs ${first} bytes`);
});

for (const backend of BACKENDS) {
  describe(`byte budget on ${backend}`, () => {
    test('published messages past SSE_LOG_MAX_BYTES drop the oldest, raise the horizon, and old resumes reload', async (t) => {
      const setup = await setupBackend(t, backend, {
        SSE_LOG_MAX_BYTES: '32768',
        SSE_REPLAY_MAX_BYTES: '32768',
      });
      if (!setup) return;
      const running = await setup.start();
      const { app, url, config } = running;
      const big = (n: number) => ({ js: { n, pad: 'x'.repeat(4000) } });
      const ids: number[] = [];
      for (let n = 0; n < 30; n++) ids.push((await app.events.publish('mark', big(n))).id);
      // Another recipient's budget is its own.
      await app.events.publish('luke', big(0));

      const held = await logBytes(running, 'mark');
      assert.ok(held <= config.sseLogMaxBytes, `${held} bytes held, budget ${config.sseLogMaxBytes}`);
      assert.ok(held > config.sseLogMaxBytes - 4100, 'only as much as needed was dropped');
      const window = await app.events.log.readAfter(['mark'], 0, 1000);
      const oldest = window.events[0]?.id ?? 0;
      assert.equal(window.prunedThrough, oldest - 1, 'the horizon sits right below what is kept');
      assert.equal((await app.events.log.readAfter(['luke'], 0, 10)).events.length, 1);

      const token = await apiToken(url);
      const resume = (from: number) =>
        openSse(`${url}/protected/events/mark`, {
          authorization: `Bearer ${token}`,
          'last-event-id': String(from),
        });
      const old = await resume(ids[0] ?? 0);
      t.after(() => old.close());
      assert.equal((await old.next()).event, 'reload');
      const recent = await resume(ids.at(-4) ?? 0);
      t.after(() => recent.close());
      assert.deepEqual(
        (await recent.take(3)).map((e) => JSON.parse(e.data).js.n),
        [27, 28, 29],
      );
    });
  });
}
