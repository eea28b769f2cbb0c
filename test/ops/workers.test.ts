import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { restartDelayMs } from '../../src/cluster.ts';
import { numberOf, openStreamRetrying } from '../events/helpers.ts';
import { tempSqliteUrl } from '../support/app.ts';
import { deleteRedisKeys, redisAvailable } from '../support/backends.ts';
import { apiToken } from '../support/http.ts';
import { isRunning, listeningUrl, PROCESS_ENV, spawnServer } from '../support/process.ts';
import { freshPostgresDatabase, REDIS_URL, requireService } from '../support/services.ts';
import type { SseClient } from '../support/sse.ts';

const PUBLISH_KEY = 'publish-key-0123456789';
const METRICS_KEY = 'metrics-key-0123456789';

test('restarts back off exponentially up to 30 s', () => {
  assert.deepEqual([0, 1, 2, 3, 4].map(restartDelayMs), [0, 100, 200, 400, 800]);
  assert.equal(restartDelayMs(50), 30_000);
});

test('WORKERS=2 without REDIS_URL refuses to start, naming REDIS_URL', async (t) => {
  const server = spawnServer(t, { ...PROCESS_ENV, WORKERS: '2', DATABASE_URL: 'sqlite:///:memory:' });
  assert.equal(await server.exited, 1);
  assert.match(server.text, /WORKERS above 1 needs REDIS_URL/);
});

test('WORKERS=2 on PostgreSQL + Redis: streams on both workers get every publish; a worker killed is replaced and its clients resume without loss', async (t) => {
  const database = await freshPostgresDatabase(t);
  if (!requireService(t, database !== null, 'PostgreSQL') || database === null) return;
  if (!requireService(t, await redisAvailable(), 'Redis')) return;
  const prefix = `test:auth-sse:${randomBytes(6).toString('hex')}:`;
  t.after(() => deleteRedisKeys(prefix));
  const cluster = spawnServer(t, {
    ...PROCESS_ENV,
    WORKERS: '2',
    DATABASE_URL: database,
    REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    PUBLISH_API_KEY: PUBLISH_KEY,
    METRICS_API_KEY: METRICS_KEY,
  });
  await cluster.waitFor((line) => line.msg === 'starting workers' && line.workers === 2);
  const listening = await cluster.waitFor((line) => /listening at/.test(String(line.msg)));
  const url = listeningUrl(listening);
  const workerPids = () =>
    new Set(
      cluster.lines.filter((line) => /listening at/.test(String(line.msg))).map((line) => Number(line.pid)),
    );
  for (let i = 0; i < 100 && workerPids().size < 2; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(workerPids().size, 2, 'two workers listen on one port');

  const token = await apiToken(url);
  const publish = async (n: number) => {
    const response = await fetch(`${url}/api/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${PUBLISH_KEY}` },
      body: JSON.stringify({ to: 'mark', message: { js: { n } } }),
    });
    assert.equal(response.status, 202);
  };

  // Each stream is its own connection; the primary deals connections round-robin.
  const clients: { stream: SseClient; got: number[]; lastId: string }[] = [];
  for (let i = 0; i < 4; i++)
    clients.push({
      stream: await openStreamRetrying(url, token, 'mark', { lastEventId: 0 }),
      got: [],
      lastId: '0',
    });
  t.after(() => {
    for (const client of clients) client.stream.close();
  });
  await cluster.waitFor(() => cluster.lines.filter((line) => line.msg === 'stream opened').length === 4);
  const streamPids = cluster.lines
    .filter((line) => line.msg === 'stream opened')
    .map((line) => Number(line.pid));
  assert.equal(new Set(streamPids).size, 2, 'streams are spread over both workers');

  const receive = async (client: (typeof clients)[number], upTo: number) => {
    while (client.got.length < upTo) {
      try {
        const event = await client.stream.next(10_000);
        client.got.push(numberOf(event));
        client.lastId = event.id ?? client.lastId;
      } catch (error) {
        if (!(error instanceof Error) || error.message !== 'stream ended') throw error;
        // Like SSEXI.js: reconnect (wherever the primary sends us) and resume from the last id.
        client.stream = await openStreamRetrying(url, token, 'mark', { lastEventId: client.lastId });
      }
    }
  };

  for (const n of [1, 2, 3]) await publish(n);
  await Promise.all(clients.map((client) => receive(client, 3)));

  // A scrape reaches one worker, but reports the whole instance: the sum over both workers.
  for (let scrape = 0; scrape < 2; scrape++) {
    const response = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_KEY}` } });
    assert.equal(response.status, 200);
    const body = await response.text();
    assert.match(body, /^sse_open_streams 4$/m);
    assert.match(body, /^sse_messages_delivered_total 12$/m);
  }

  const victim = streamPids[0] ?? 0;
  process.kill(victim, 'SIGKILL');
  await cluster.waitFor((line) => line.msg === 'worker died; restarting' && line.workerPid === victim);
  // Published while that worker is gone and its replacement is starting.
  for (const n of [4, 5, 6]) await publish(n);
  await Promise.all(clients.map((client) => receive(client, 6)));
  for (const client of clients) assert.deepEqual(client.got, [1, 2, 3, 4, 5, 6]);

  for (let i = 0; i < 200 && workerPids().size < 3; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(workerPids().size, 3, 'a replacement worker listens');

  cluster.child.kill('SIGTERM');
  assert.equal(await cluster.exited, 0, 'SIGTERM stops every worker and the primary cleanly');
  assert.equal(cluster.lines.filter((line) => line.msg === 'shut down cleanly').length, 2);
});

test('WORKERS=2: a worker that dies while the primary collects its scrape does not take the primary down', async (t) => {
  if (!requireService(t, await redisAvailable(), 'Redis')) return;
  const prefix = `test:auth-sse:${randomBytes(6).toString('hex')}:`;
  t.after(() => deleteRedisKeys(prefix));
  const cluster = spawnServer(t, {
    ...PROCESS_ENV,
    WORKERS: '2',
    DATABASE_URL: tempSqliteUrl(t),
    REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    METRICS_API_KEY: METRICS_KEY,
    LOG_LEVEL: 'debug',
  });
  const listening = () => cluster.lines.filter((line) => /listening at/.test(String(line.msg)));
  await cluster.waitFor(() => listening().length === 2);
  const url = listeningUrl(listening()[0] ?? {});
  const [first, second] = listening().map((line) => Number(line.pid));
  const scrape = (signal?: AbortSignal) =>
    fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_KEY}` }, signal });

  // One worker stops answering (paused), so collecting the figures waits for it; the scrapes
  // are dealt round-robin, so one of them reaches the other worker, which asks the primary.
  process.kill(second ?? 0, 'SIGSTOP');
  t.after(() => {
    if (isRunning(second ?? 0)) process.kill(second ?? 0, 'SIGCONT');
  });
  const abandoned = new AbortController();
  const scrapes = [scrape(abandoned.signal), scrape(abandoned.signal)].map((p) => p.catch(() => null));
  await cluster.waitFor((line) => line.msg === 'collecting metrics for a scrape' && line.workerPid === first);
  // The asking worker dies before the answer comes back.
  process.kill(first ?? 0, 'SIGKILL');
  await cluster.waitFor((line) => line.msg === 'collecting metrics from the workers failed');
  process.kill(second ?? 0, 'SIGCONT');
  abandoned.abort();
  await Promise.all(scrapes);

  // The primary lives on: it restarted the dead worker, and the instance answers scrapes.
  await cluster.waitFor(() => listening().length === 3);
  const response = await scrape();
  assert.equal(response.status, 200);
  assert.match(await response.text(), /^sse_open_streams 0$/m);
  cluster.child.kill('SIGTERM');
  assert.equal(await cluster.exited, 0);
});
