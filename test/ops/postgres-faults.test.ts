import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { sql } from 'kysely';
import { ServiceUnavailableError } from '../../src/service-unavailable.ts';
import { startApp, tempSqliteUrl } from '../support/app.ts';
import { startFaultProxy, throughProxy } from '../support/fault-proxy.ts';
import { apiToken, Browser } from '../support/http.ts';
import { PROCESS_ENV, spawnServer } from '../support/process.ts';
import { freePort } from '../support/redis-server.ts';
import { freshPostgresDatabase, requireService } from '../support/services.ts';
import { openSse } from '../support/sse.ts';

/** Statuses and time of one request: the point is that it answers, and how fast. */
async function timed(url: string, init: RequestInit = {}) {
  const started = Date.now();
  const response = await fetch(url, init);
  const body = await response.text();
  return { status: response.status, body, ms: Date.now() - started, headers: response.headers };
}

test('PostgreSQL cut and restored: the process lives, health is honest, requests answer 503 in bounded time, streams stay open, all works after', async (t) => {
  const direct = await freshPostgresDatabase(t);
  if (!requireService(t, direct !== null, 'PostgreSQL') || direct === null) return;
  const target = new URL(direct);
  const proxy = await startFaultProxy(t, { host: target.hostname, port: Number(target.port || 5432) });
  const { app, url } = await startApp(t, {
    DATABASE_URL: throughProxy(direct, proxy),
    DATABASE_CONNECT_TIMEOUT_SECONDS: '1',
    DATABASE_STATEMENT_TIMEOUT_SECONDS: '2',
    SSE_HEARTBEAT_SECONDS: '0.1',
    PUBLISH_API_KEY: 'publish-key-0123456789',
  });
  const browser = await new Browser(url).login();
  const token = await apiToken(url);
  const stream = await openSse(`${url}/protected/events/mark`, { authorization: `Bearer ${token}` });
  t.after(() => stream.close());

  // A transaction holding its connection between two statements when the network drops: pg
  // emits 'error' on a checked-out client with no query to hand it to — the event that used to
  // end the process.
  let release!: () => void;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const transaction = app.db.transaction().execute(async (trx) => {
    await sql`select 1`.execute(trx);
    await held;
    await sql`select 1`.execute(trx);
  });

  proxy.cut('refuse');
  release();
  await assert.rejects(transaction, ServiceUnavailableError);

  assert.equal((await timed(`${url}/healthz`)).status, 200);
  const ready = await timed(`${url}/readyz`);
  assert.equal(ready.status, 503);
  assert.ok(ready.ms < 3000, `readyz took ${ready.ms} ms`);

  // A page that needs the database: an error page with Retry-After, not a 500 and not a hang.
  const page = await timed(`${url}/protected`, {
    headers: { cookie: browser.cookieHeader, accept: 'text/html' },
  });
  assert.equal(page.status, 503);
  assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  assert.match(page.body, /temporarily unavailable/);
  assert.ok(Number(page.headers.get('retry-after')) > 0, 'Retry-After');
  assert.ok(page.ms < 3000, `page took ${page.ms} ms`);

  // The signed-in caller is known from the session cache; the list itself needs the database.
  const sessions = await timed(`${url}/api/sessions`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(sessions.status, 503);
  assert.match(JSON.parse(sessions.body).error, /unavailable/);
  assert.ok(Number(sessions.headers.get('retry-after')) > 0, 'Retry-After');
  const login = await timed(`${url}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'mark', password: 'pass123' }),
  });
  assert.equal(login.status, 503);
  const publish = await timed(`${url}/api/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer publish-key-0123456789' },
    body: JSON.stringify({ to: 'mark', message: { js: { n: 1 } } }),
  });
  assert.equal(publish.status, 503, 'a message that cannot be stored is refused, never dropped');

  // The open stream is still open: heartbeats keep coming through the outage.
  const seen = stream.comments.length;
  await stream.waitForComments(seen + 2, 2000);

  // A black-holed network (connections accepted, never answered) is bounded by the timeouts too.
  proxy.cut('hang');
  const hanging = await timed(`${url}/readyz`);
  assert.equal(hanging.status, 503);
  assert.ok(hanging.ms < 4000, `readyz on a black hole took ${hanging.ms} ms`);

  proxy.restore();
  assert.equal((await timed(`${url}/readyz`)).status, 200);
  assert.equal((await browser.fetch('/protected')).status, 200);
  const sent = await app.events.publish('mark', { js: { n: 2 } });
  const event = await stream.next();
  assert.equal(event.id, String(sent.id));

  // A partition under live pooled connections: a query sent on one gets no answer, ever; the
  // client-side query timeout (statement timeout + 2 s) still ends it.
  proxy.cut('hang');
  const silent = await timed(`${url}/readyz`);
  assert.equal(silent.status, 503);
  assert.ok(silent.ms < 6000, `readyz on a silent connection took ${silent.ms} ms`);
  proxy.restore();
  assert.equal((await timed(`${url}/readyz`)).status, 200);
});

test('pooled connections a partition left silent for good are dropped once found, not reused: the instance recovers after one failed query each', async (t) => {
  const direct = await freshPostgresDatabase(t);
  if (!requireService(t, direct !== null, 'PostgreSQL') || direct === null) return;
  const target = new URL(direct);
  const proxy = await startFaultProxy(t, { host: target.hostname, port: Number(target.port || 5432) });
  const { app, url } = await startApp(t, {
    DATABASE_URL: throughProxy(direct, proxy),
    DATABASE_CONNECT_TIMEOUT_SECONDS: '1',
    DATABASE_STATEMENT_TIMEOUT_SECONDS: '0.5',
  });
  // A few pooled connections, idle again once these return.
  await Promise.all([1, 2, 3].map(() => sql`select pg_sleep(0.05)`.execute(app.db)));
  const pooled = proxy.openConnections;
  assert.ok(pooled >= 3, `${pooled} pooled connections`);

  // The database host dies without a word; its replacement answers new connections but has
  // never heard of the old ones, which stay silent (in real life until TCP gives up, ~15 min).
  proxy.cut('hang');
  const during = await Promise.all(Array.from({ length: pooled }, () => timed(`${url}/readyz`)));
  for (const answer of during) assert.equal(answer.status, 503);
  proxy.restore({ silenced: 'keep' });

  // Each silent connection was found out by its query's timeout: none may be handed out again.
  const after = await timed(`${url}/readyz`);
  assert.equal(after.status, 200, 'a connection found silent went back to the pool');
  assert.ok(after.ms < 1500, `readyz took ${after.ms} ms`);
  const burst = await Promise.all(Array.from({ length: pooled + 2 }, () => timed(`${url}/readyz`)));
  assert.deepEqual(
    burst.map((answer) => answer.status),
    burst.map(() => 200),
  );
});

test('SQLite held by another writer: requests answer 503 (not 500) and work once it lets go', async (t) => {
  const { url, config } = await startApp(t);
  const browser = await new Browser(url).login();
  const csrf = await browser.csrfToken('/protected');
  const addCourse = (title: string) =>
    browser.fetch('/add_course', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: url, 'x-csrf-token': csrf },
      body: new URLSearchParams({ course_title: title }),
    });

  // Another process (the CLI, a backup tool) holding the write lock past busy_timeout.
  const other = new DatabaseSync(config.databaseUrl.replace(/^sqlite:\/\/\//, ''));
  t.after(() => other.close());
  other.exec('begin immediate');
  const busy = await addCourse('Blocked');
  assert.equal(busy.status, 503);
  assert.ok(Number(busy.headers.get('retry-after')) > 0);
  assert.match((await busy.json()).error, /unavailable/);
  other.exec('rollback');

  assert.equal((await addCourse('Algebra')).status, 201);
});

test('started while PostgreSQL or Redis is away: one line naming the variable, exit 1 (the process manager retries), no crash dump', async (t) => {
  const closed = `127.0.0.1:${await freePort()}`;
  for (const [env, named] of [
    [{ DATABASE_URL: `postgres://postgres@${closed}/test` }, 'DATABASE_URL'],
    [{ DATABASE_URL: tempSqliteUrl(t), REDIS_URL: `redis://${closed}` }, 'REDIS_URL'],
  ] as const) {
    const server = spawnServer(t, { ...PROCESS_ENV, ...env });
    assert.equal(await server.exited, 1);
    const stderr = server.text.split('\n').filter((line) => line !== '' && !line.startsWith('{'));
    assert.equal(stderr.length, 1, server.text);
    assert.match(stderr[0] ?? '', new RegExp(`^Cannot start: .*${named}.*(does not answer|cannot reach)`));
    const fatal = server.lines.find((line) => line.msg === 'could not start');
    assert.equal(fatal?.level, 60, 'logged as fatal, with the error, for the log shipper');
  }
});
