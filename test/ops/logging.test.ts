import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requestIdFor } from '../../src/logging.ts';
import { ended, openStream } from '../events/helpers.ts';
import { startApp, tempSqliteUrl } from '../support/app.ts';
import { apiToken } from '../support/http.ts';
import { listeningUrl, PROCESS_ENV, spawnServer } from '../support/process.ts';

/** Starts the app with its JSON log lines collected in memory. */
async function startLogged(t: import('node:test').TestContext) {
  const lines: Record<string, unknown>[] = [];
  const running = await startApp(
    t,
    { LOG_LEVEL: 'info' },
    { logStream: { write: (line: string) => void lines.push(JSON.parse(line)) } },
  );
  return { ...running, lines };
}

test('a sane X-Request-Id is kept; anything else gets a fresh id', () => {
  assert.equal(requestIdFor('req-42.abc_DEF:7'), 'req-42.abc_DEF:7');
  for (const bad of ['a'.repeat(129), 'two words', 'semi;colon', '', undefined, ['a', 'b']])
    assert.match(requestIdFor(bad), /^[0-9a-f-]{36}$/, String(bad));
});

test('request ids are passed through, echoed and logged on every line of the request', async (t) => {
  const { url, lines } = await startLogged(t);
  const kept = await fetch(`${url}/healthz`, { headers: { 'x-request-id': 'from-nginx-123' } });
  assert.equal(kept.headers.get('x-request-id'), 'from-nginx-123');
  assert.ok(lines.some((line) => line.reqId === 'from-nginx-123' && line.msg === 'request completed'));

  const replaced = await fetch(`${url}/no-such-page`, { headers: { 'x-request-id': 'has spaces in it' } });
  const fresh = replaced.headers.get('x-request-id') ?? '';
  assert.match(fresh, /^[0-9a-f-]{36}$/);
  assert.ok(!lines.some((line) => line.reqId === 'has spaces in it'));
});

test('one line when a stream opens and one when it closes: user, instance, duration, reason', async (t) => {
  const { url, lines } = await startLogged(t);
  const token = await apiToken(url);
  const stream = await openStream(url, token, 'mark', { lastEventId: 0 });
  assert.equal(stream.response.headers.get('x-request-id')?.length, 36, 'streams carry the id too');
  const opened = lines.find((line) => line.msg === 'stream opened');
  assert.equal(opened?.user, 'mark');
  assert.equal(opened?.lastEventId, 0);
  assert.match(String(opened?.instance), /:\d+$/);

  await fetch(`${url}/api/logout`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  await ended(stream);
  const closed = lines.find((line) => line.msg === 'stream closed');
  assert.equal(closed?.user, 'mark');
  assert.equal(closed?.reason, 'auth');
  assert.equal(closed?.instance, opened?.instance);
  assert.equal(typeof closed?.durationMs, 'number');
  assert.equal(closed?.reqId, opened?.reqId);
});

test('the server logs pretty lines when DEBUG is true and one JSON object per line otherwise', async (t) => {
  const prettyLine =
    /^\[\d{2}:\d{2}:\d{2}\.\d{3}\] INFO \(\d+\): Server listening at http:\/\/127\.0\.0\.1:\d+$/m;
  const [pretty, json] = [
    spawnServer(t, { ...PROCESS_ENV, DEBUG: 'true', DATABASE_URL: tempSqliteUrl(t) }),
    spawnServer(t, { ...PROCESS_ENV, DEBUG: 'false', DATABASE_URL: tempSqliteUrl(t) }),
  ];
  // Two servers starting at once on a shared machine: give them time.
  const listening = await json.waitFor((line) => /listening at/.test(String(line.msg)), 30_000);
  await fetch(`${listeningUrl(listening)}/healthz`, { headers: { 'x-request-id': 'json-check-1' } });
  const completed = await json.waitFor(
    (line) => line.reqId === 'json-check-1' && line.msg === 'request completed',
  );
  assert.equal(completed.level, 30);
  assert.doesNotMatch(json.text, /^\[\d{2}:\d{2}/m, 'no pretty line in production');

  await pretty.waitForText(prettyLine, 30_000);
  assert.equal(pretty.lines.length, 0, 'no JSON line in DEBUG');
});
