/**
 * Header sinks: every value that reaches a response header is encoded or refused. Node refuses
 * to write a header holding characters outside Latin-1 (and Latin-1 beyond ASCII is read
 * differently by different clients), so input that reaches a header unencoded either crashes
 * the response past the error handler (a 500 carrying Node's message) or reaches the client
 * mangled. The sinks: `Location` (the login form's `next`, the login redirect of guarded pages),
 * `Retry-After`, and anything else a route sets.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { startApp, testEnv } from '../support/app.ts';
import { Browser } from '../support/http.ts';
import { rawGet } from '../support/raw-http.ts';
import { securityPolicy } from './attack.ts';

/** Printable ASCII only: what every client reads the same way. */
const HEADER_SAFE = /^[\x20-\x7e]*$/;

function assertHeadersSafe(headers: Headers | Record<string, string>, what: string) {
  const entries = headers instanceof Headers ? [...headers] : Object.entries(headers);
  for (const [name, value] of entries)
    assert.match(value, HEADER_SAFE, `${what}: ${name}: ${JSON.stringify(value)}`);
}

/** The redirect target is a path on this origin: no scheme, no host, no `//` or `/\`. */
function assertSameOriginPath(location: string | null, base: string, what: string) {
  assert.ok(location, `${what}: a Location`);
  assert.match(location, /^\/(?![/\\])/, `${what}: ${location}`);
  assert.equal(new URL(location, base).origin, new URL(base).origin, `${what}: ${location}`);
}

/** encodeURIComponent, except that a lone surrogate goes out as the invalid UTF-8 it would be. */
const encodeLoosely = (value: string) => {
  try {
    return encodeURIComponent(value);
  } catch {
    return value
      .split('')
      .map((c) => (c === '\ud800' ? '%ED%A0%80' : encodeURIComponent(c)))
      .join('');
  }
};

/** `next` values that are paths on this origin but not writable into a header as they are. */
const UNSAFE_FOR_HEADERS = [
  '/\u2028',
  '/\u2029',
  '/日本',
  '/café',
  '/\u0085',
  '/\u00a0',
  '/\ufeff',
  '/😀',
  '/\ud800',
  '/a b',
  '/"quoted"',
  '/<tag>',
  '/x?q=日本#frag',
  '/\u2028//evil.example',
  `/${'日'.repeat(600)}`,
];

test('GET /login?next= with a line separator redirects a signed-in user safely instead of a 500', async (t) => {
  const { url } = await startApp(t);
  const browser = await new Browser(url).login();
  // The reported attack, exactly: /%E2%80%A8 is U+2028, which Node will not put in a header.
  const response = await browser.fetch('/login?next=/%E2%80%A8');
  assert.equal(response.status, 302, await response.clone().text());
  assertSameOriginPath(response.headers.get('location'), url, 'U+2028');
  assertHeadersSafe(response.headers, 'U+2028');
});

test('POST /login with next=/日本 logs the user in and redirects safely', async (t) => {
  const { url } = await startApp(t);
  const browser = new Browser(url);
  const response = await browser.submit('/login', { username: 'mark', password: 'pass123', next: '/日本' });
  assert.equal(response.status, 302);
  assert.ok(browser.cookies.has('access_token'), 'the login went through');
  const location = response.headers.get('location');
  assertSameOriginPath(location, url, '/日本');
  // Encoded, not dropped: the browser lands where the link pointed.
  assert.equal(location, '/%E6%97%A5%E6%9C%AC');
});

test('every `next` that is unsafe for a header is encoded or replaced, on GET and POST, never a 500', async (t) => {
  const { url } = await startApp(t, { LOGIN_MAX_FAILURES_PER_IP: '1000' });
  const signedIn = await new Browser(url).login();
  for (const next of UNSAFE_FOR_HEADERS) {
    const what = JSON.stringify(next).slice(0, 40);
    const get = await signedIn.fetch(`/login?next=${encodeLoosely(next)}`);
    assert.equal(get.status, 302, `GET ${what}`);
    assertSameOriginPath(get.headers.get('location'), url, `GET ${what}`);
    assertHeadersSafe(get.headers, `GET ${what}`);

    const form = await new Browser(url).fetch(`/login?next=${encodeLoosely(next)}`);
    assert.equal(form.status, 200, `form ${what}`);
    const browser = new Browser(url);
    const post = await browser.submit('/login', { username: 'mark', password: 'pass123', next });
    assert.equal(post.status, 302, `POST ${what}`);
    assertSameOriginPath(post.headers.get('location'), url, `POST ${what}`);
    assertHeadersSafe(post.headers, `POST ${what}`);
  }
});

test('an already-encoded next is kept as it is', async (t) => {
  const { url } = await startApp(t);
  const browser = new Browser(url);
  const next = '/protected?q=%E6%97%A5&x=1#top';
  const response = await browser.submit('/login', { username: 'mark', password: 'pass123', next });
  assert.equal(response.headers.get('location'), next);
});

test('a guarded page reached with raw non-ASCII bytes in its URL redirects to login with an encoded next', async (t) => {
  const { url } = await startApp(t);
  // UTF-8 bytes of 日本 and U+2028 sent raw, as a hand-written client may.
  const bytes = Buffer.from('/protected?x=日本\u2028', 'utf8').toString('latin1');
  const response = await rawGet(url, bytes);
  if (response.status === 400) return; // refused by the HTTP parser: nothing reached a header
  assert.equal(response.status, 302);
  assertHeadersSafe(response.headers, 'raw bytes');
  const location = response.headers.location ?? '';
  assert.match(location, /^\/login\?next=/);
  assertSameOriginPath(location, url, 'raw bytes');
});

test('Retry-After is a plain number wherever it is sent', async (t) => {
  const { url } = await startApp(t, { LOGIN_MAX_FAILURES_PER_ACCOUNT: '1', SSE_MAX_STREAMS_PER_USER: '1' });
  const login = (password: string) =>
    fetch(`${url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'mark', password }),
    });
  await login('wrong');
  const throttled = await login('wrong\u2028again');
  assert.equal(throttled.status, 429);
  assert.match(throttled.headers.get('retry-after') ?? '', /^\d+$/);

  const browser = await new Browser(url).login('luke', 'pass456');
  const controller = new AbortController();
  t.after(() => controller.abort());
  const first = await browser.fetch('/protected/events/luke', { signal: controller.signal });
  assert.equal(first.status, 200);
  const second = await browser.fetch('/protected/events/luke');
  assert.equal(second.status, 429);
  assert.match(second.headers.get('retry-after') ?? '', /^\d+$/);
});

test('no response header carries request input unencoded', async (t) => {
  const { url } = await startApp(t);
  const marker = 'INJ\u2028ECT日本';
  const browser = await new Browser(url).login();
  const requests: [string, RequestInit][] = [
    [`/login?next=/${encodeURIComponent(marker)}`, {}],
    [`/protected?x=${encodeURIComponent(marker)}`, {}],
    [`/account?x=${encodeURIComponent(marker)}`, {}],
    [`/register?next=/${encodeURIComponent(marker)}`, {}],
    [`/verify-email?token=${encodeURIComponent(marker)}`, {}],
    [`/reset-password?token=${encodeURIComponent(marker)}`, {}],
    [`/no-such-page/${encodeURIComponent(marker)}`, { headers: { accept: 'text/html' } }],
    [`/protected/events/${encodeURIComponent(marker)}`, {}],
    [
      `/api/me?x=${encodeURIComponent(marker)}`,
      { headers: { 'x-forwarded-host': encodeURIComponent(marker) } },
    ],
    [
      '/add_course',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: url },
        body: JSON.stringify({ course_title: marker }),
      },
    ],
  ];
  for (const [path, init] of requests) {
    for (const client of [browser, new Browser(url)]) {
      const response = await client.fetch(path, init);
      await response.body?.cancel();
      assertHeadersSafe(response.headers, path);
      // Only a redirect's Location may carry the input, and only percent-encoded (checked above).
      for (const [name, value] of response.headers)
        if (name !== 'location') assert.ok(!value.includes('INJ'), `${path}: ${name} echoes input: ${value}`);
    }
  }
});

test('a header value that cannot be written becomes a 500 from the error handler, with the security headers', async (t) => {
  // A route added for the test: the last line of defence for a sink nobody has found yet.
  const app = await buildApp(loadConfig(testEnv(t)));
  t.after(() => app.close());
  app.get('/test-bad-header', async (_request, reply) =>
    reply.header('x-test', 'line\u2028break').send({ ok: true }),
  );
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new TypeError('expected a TCP address');
  const base = `http://127.0.0.1:${address.port}`;

  // A JSON answer's headers, and an (error) page's.
  const reference = {
    'application/json': securityPolicy((await fetch(`${base}/healthz`)).headers),
    'text/html': securityPolicy((await fetch(`${base}/login`)).headers),
  };
  assert.equal(reference['text/html']['x-frame-options'], 'DENY');
  for (const accept of ['application/json', 'text/html'] as const) {
    const response = await fetch(`${base}/test-bad-header`, { headers: { accept } });
    assert.equal(response.status, 500, accept);
    assert.equal(response.headers.get('x-test'), null, 'the bad header is not sent');
    assert.deepEqual(securityPolicy(response.headers), reference[accept], accept);
    const body = await response.text();
    assert.match(body, /Internal Server Error/);
    assert.doesNotMatch(body, /ERR_INVALID_CHAR|x-test|Invalid character/i, body.slice(0, 200));
  }
  // The server is fine afterwards.
  assert.equal((await fetch(`${base}/healthz`)).status, 200);
});
