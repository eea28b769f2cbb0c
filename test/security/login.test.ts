/**
 * Attacks on the login itself: telling existing accounts from unknown ones (by status, body or
 * time), guessing passwords quickly (throttled per account and per address, across instances),
 * and SQL injection through the username.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { type TestContext, test } from 'node:test';
import { startApp } from '../support/app.ts';
import { Browser } from '../support/http.ts';
import { REDIS_URL, requireService } from '../support/services.ts';

const LOOSE_THROTTLE = { LOGIN_MAX_FAILURES_PER_ACCOUNT: '1000', LOGIN_MAX_FAILURES_PER_IP: '1000' };

function apiLogin(base: string, username: string, password: string, headers: Record<string, string> = {}) {
  return fetch(`${base}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ username, password }),
  });
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

test('unknown user and wrong password look the same: status, body and (roughly) time', async (t) => {
  // Cost 8 makes bcrypt (~15 ms) dominate the noise; a skipped comparison would be ~1 ms.
  const { url } = await startApp(t, { BCRYPT_ROUNDS: '8', ...LOOSE_THROTTLE });
  const unknown = await apiLogin(url, 'no-such-user', 'pass123');
  const wrong = await apiLogin(url, 'mark', 'wrong-password');
  assert.equal(unknown.status, 401);
  assert.equal(wrong.status, 401);
  assert.equal(await unknown.text(), await wrong.text());

  const browser = new Browser(url);
  const forms = await Promise.all(
    [
      ['no-such-user', 'pass123'],
      ['mark', 'wrong-password'],
    ].map(async ([username = '', password = '']) => {
      const response = await browser.submit('/login', { username, password });
      // The form echoes the username back (escaped); apart from that the pages are identical.
      return {
        status: response.status,
        html: (await response.text()).replace(`value="${username}"`, 'value="NAME"'),
      };
    }),
  );
  assert.equal(forms[0]?.status, 401);
  assert.equal(forms[1]?.status, 401);
  assert.equal(stripTokens(forms[0]?.html ?? ''), stripTokens(forms[1]?.html ?? ''));

  const time = async (username: string, password: string) => {
    const start = process.hrtime.bigint();
    const response = await apiLogin(url, username, password);
    await response.text();
    return Number(process.hrtime.bigint() - start) / 1e6;
  };
  const unknownTimes: number[] = [];
  const wrongTimes: number[] = [];
  for (let i = 0; i < 9; i++) {
    // Interleaved, so drift in machine load hits both paths alike.
    unknownTimes.push(await time(`ghost-${i}`, 'pass123'));
    wrongTimes.push(await time('mark', `wrong-${i}`));
  }
  const ratio = median(unknownTimes) / median(wrongTimes);
  assert.ok(
    ratio > 0.5 && ratio < 2,
    `unknown ${median(unknownTimes).toFixed(1)} ms vs wrong ${median(wrongTimes).toFixed(1)} ms`,
  );
});

/** The per-request CSRF token and CSP nonce differ on every page; nothing else may. */
function stripTokens(html: string): string {
  return html
    .replace(/value="[^"]{20,}"/g, 'value="TOKEN"')
    .replace(/(content|nonce)="[^"]{16,}"/g, '$1="NONCE"');
}

test('brute force on one account: 429 with Retry-After after 10 failures, even for the right password', async (t) => {
  const { url } = await startApp(t);
  const browser = new Browser(url);
  for (let i = 0; i < 10; i++) {
    const response = await browser.submit('/login', { username: 'mark', password: `guess-${i}` });
    assert.equal(response.status, 401, `guess ${i}`);
  }
  const blocked = await browser.submit('/login', { username: 'mark', password: 'pass123' });
  assert.equal(blocked.status, 429);
  const retryAfter = Number(blocked.headers.get('retry-after'));
  assert.ok(retryAfter >= 1 && retryAfter <= 15 * 60, `Retry-After ${retryAfter}`);
  assert.match(await blocked.text(), /Too many failed logins/);
  assert.equal(browser.cookies.has('access_token'), false);

  // The JSON API shares the counters.
  const api = await apiLogin(url, 'mark', 'pass123');
  assert.equal(api.status, 429);
  assert.ok(Number(api.headers.get('retry-after')) >= 1);
  assert.match(((await api.json()) as { error: string }).error, /Too many failed logins/);
  // Other accounts from the same address are not affected by one account's lock.
  assert.equal((await apiLogin(url, 'luke', 'pass456')).status, 200);
});

test('parallel guesses cannot race past the limit', async (t) => {
  const { url } = await startApp(t, { LOGIN_MAX_FAILURES_PER_ACCOUNT: '5', BCRYPT_ROUNDS: '8' });
  // All sent at once: a check-then-count throttle would let every one of them through.
  const statuses = await Promise.all(
    Array.from({ length: 30 }, async (_, i) => (await apiLogin(url, 'mark', `parallel-${i}`)).status),
  );
  const checked = statuses.filter((s) => s === 401).length;
  assert.ok(checked <= 5, `${checked} passwords were checked, limit 5`);
  assert.equal(statuses.filter((s) => s === 429).length, 30 - checked);
});

test('a successful login resets the account counter', async (t) => {
  const { url } = await startApp(t, { LOGIN_MAX_FAILURES_PER_ACCOUNT: '3' });
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 2; i++) assert.equal((await apiLogin(url, 'mark', 'nope')).status, 401);
    assert.equal((await apiLogin(url, 'mark', 'pass123')).status, 200, `round ${round}`);
  }
});

test('password spraying from one address is stopped by the per-address limit', async (t) => {
  const { url } = await startApp(t, { LOGIN_MAX_FAILURES_PER_IP: '5' });
  for (let i = 0; i < 5; i++) assert.equal((await apiLogin(url, `user-${i}`, 'Summer2024!')).status, 401);
  const blocked = await apiLogin(url, 'mark', 'pass123');
  assert.equal(blocked.status, 429);
  assert.ok(Number(blocked.headers.get('retry-after')) >= 1);
  // X-Forwarded-For is not believed unless TRUST_PROXY is set, so it cannot buy a fresh budget.
  assert.equal((await apiLogin(url, 'mark', 'pass123', { 'x-forwarded-for': '198.51.100.7' })).status, 429);
});

test('behind a trusted proxy the limit applies per real client address', async (t) => {
  const { url } = await startApp(t, { LOGIN_MAX_FAILURES_PER_IP: '3', TRUST_PROXY: 'true' });
  const from = (ip: string) => ({ 'x-forwarded-for': ip });
  for (let i = 0; i < 3; i++) await apiLogin(url, `user-${i}`, 'x', from('203.0.113.1'));
  assert.equal((await apiLogin(url, 'mark', 'pass123', from('203.0.113.1'))).status, 429);
  assert.equal((await apiLogin(url, 'mark', 'pass123', from('203.0.113.2'))).status, 200);
});

async function checkSharedAcrossInstances(t: TestContext, env: Record<string, string>) {
  const a = await startApp(t, { LOGIN_MAX_FAILURES_PER_ACCOUNT: '4', ...env });
  const b = await startApp(t, {
    LOGIN_MAX_FAILURES_PER_ACCOUNT: '4',
    ...env,
    DATABASE_URL: a.config.databaseUrl,
  });
  for (let i = 0; i < 4; i++) await apiLogin(i % 2 ? a.url : b.url, 'mark', `guess-${i}`);
  assert.equal((await apiLogin(a.url, 'mark', 'pass123')).status, 429);
  assert.equal((await apiLogin(b.url, 'mark', 'pass123')).status, 429);
}

test('the throttle is shared by instances on one database', async (t) => {
  await checkSharedAcrossInstances(t, {});
});

test('the throttle is shared by instances through Redis when REDIS_URL is set', async (t) => {
  const probe = await import('ioredis').then(({ Redis }) => new Redis(REDIS_URL, { lazyConnect: true }));
  const up = await probe.connect().then(
    () => true,
    () => false,
  );
  probe.disconnect();
  if (!requireService(t, up, 'Redis')) return;
  await checkSharedAcrossInstances(t, { REDIS_URL, SECRET_KEY: `redis-throttle-${randomUUID()}` });
});

test('SQL injection through the username logs nobody in and breaks nothing', async (t) => {
  const { url } = await startApp(t, LOOSE_THROTTLE);
  const browser = new Browser(url);
  const payloads = [
    "' OR '1'='1",
    "mark'--",
    "mark' /*",
    "' UNION SELECT 1, 'mark', '$2b$04$abcdefghijklmnopqrstuu5Jb8yq2Jf7b3K0Hk3f1jVn9oQpRk2nK', 0 --",
    '"; DROP TABLE users; --',
    'mark\u0000',
    '%',
    '_ark',
  ];
  for (const username of payloads) {
    for (const password of ['pass123', "' OR '1'='1"]) {
      const api = await apiLogin(url, username, password);
      assert.equal(api.status, 401, `API ${JSON.stringify(username)}`);
      assert.deepEqual(await api.json(), { error: 'Invalid username or password' });
    }
    const form = await browser.submit('/login', { username, password: 'pass123' });
    assert.equal(form.status, 401, `form ${JSON.stringify(username)}`);
    assert.equal(browser.cookies.has('access_token'), false);
  }
  assert.equal((await apiLogin(url, 'mark', 'pass123')).status, 200, 'the users table is intact');
});

test('an absurdly long password is refused before hashing (400, not a slow 401)', async (t) => {
  const { url } = await startApp(t);
  const response = await apiLogin(url, 'mark', 'x'.repeat(5000));
  assert.equal(response.status, 400);
  assert.match(((await response.json()) as { error: string }).error, /password/);
});
