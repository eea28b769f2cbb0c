/**
 * Browser-enforced defences: the Content-Security-Policy (nonces, no unsafe-*; nothing at all for
 * answers that are no document), framing, sniffing, referrers, HSTS outside DEBUG, the session
 * and CSRF cookie attributes, and errors that reveal nothing about the server's insides.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startApp } from '../support/app.ts';
import { Browser } from '../support/http.ts';

function directives(csp: string): Map<string, string[]> {
  return new Map(
    csp
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((parts) => parts[0])
      .map(([name = '', ...values]) => [name, values]),
  );
}

test('every HTML page carries a strict CSP with a fresh nonce, and the other security headers', async (t) => {
  const { url } = await startApp(t);
  const browser = await new Browser(url).login('mark', 'pass123');
  const pages = [
    await browser.fetch('/protected'),
    await fetch(`${url}/login`),
    await fetch(`${url}/no-such-page`, { headers: { accept: 'text/html' } }),
    // A refused cross-site post still gets the headers.
    await fetch(`${url}/login`, {
      method: 'POST',
      headers: {
        accept: 'text/html',
        origin: 'http://evil.example',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'username=a&password=b',
    }),
  ];
  const nonces = new Set<string>();
  for (const response of pages) {
    const what = `${response.url} ${response.status}`;
    const csp = directives(response.headers.get('content-security-policy') ?? '');
    const script = csp.get('script-src') ?? [];
    const style = csp.get('style-src') ?? [];
    assert.ok(
      script.some((s) => s.startsWith("'nonce-")),
      `${what}: script nonce`,
    );
    assert.ok(
      style.some((s) => s.startsWith("'nonce-")),
      `${what}: style nonce`,
    );
    for (const [name, values] of csp)
      assert.ok(!values.includes("'unsafe-eval'"), `${what}: unsafe-eval in ${name}`);
    assert.ok(!script.includes("'unsafe-inline'"), `${what}: unsafe-inline script`);
    assert.ok(!script.includes('*') && !script.includes('data:'), `${what}: script from anywhere`);
    assert.deepEqual(csp.get('frame-ancestors'), ["'none'"], what);
    assert.deepEqual(csp.get('object-src'), ["'none'"], what);
    assert.deepEqual(csp.get('base-uri'), ["'none'"], what);
    assert.deepEqual(csp.get('default-src'), ["'self'"], what);
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff', what);
    assert.equal(response.headers.get('x-frame-options'), 'DENY', what);
    assert.equal(response.headers.get('referrer-policy'), 'same-origin', what);
    assert.equal(response.headers.get('strict-transport-security'), null, `${what}: no HSTS in DEBUG`);
    const nonce = script.find((s) => s.startsWith("'nonce-"))?.slice(7, -1) ?? '';
    assert.ok(nonce.length >= 16, `${what}: nonce long enough`);
    nonces.add(nonce);
    const html = await response.text();
    if (response.status === 200)
      assert.ok(html.includes(`content="${nonce}"`), `${what}: page uses its nonce`);
  }
  assert.equal(nonces.size, pages.length, 'a new nonce per response');
});

test('answers that are no document carry a CSP that allows nothing, no framing, nosniff and same-origin CORP', async (t) => {
  const { url } = await startApp(t);
  const browser = await new Browser(url).login('mark', 'pass123');
  const answers = [
    await browser.fetch('/api/me'),
    await fetch(`${url}/api/me`),
    await fetch(`${url}/healthz`),
    await fetch(`${url}/`, { redirect: 'manual' }),
    await fetch(`${url}/no-such-page`, { headers: { accept: 'application/json' } }),
  ];
  for (const response of answers) {
    const what = `${response.url} ${response.status}`;
    // Opened directly as a document, it can load and run nothing, and nobody can frame it.
    const csp = directives(response.headers.get('content-security-policy') ?? '');
    assert.deepEqual(
      [...csp],
      [
        ['default-src', ["'none'"]],
        ['frame-ancestors', ["'none'"]],
      ],
      what,
    );
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff', what);
    assert.equal(response.headers.get('cross-origin-resource-policy'), 'same-origin', what);
    assert.equal(response.headers.get('referrer-policy'), 'same-origin', what);
    await response.body?.cancel();
  }
});

test('outside DEBUG: HSTS, upgrade-insecure-requests and Secure cookies', async (t) => {
  const { url } = await startApp(t, { DEBUG: 'false', INITIAL_USERS: 'mark:pass123' });
  const response = await fetch(`${url}/login`);
  const hsts = response.headers.get('strict-transport-security') ?? '';
  assert.match(hsts, /max-age=(\d+)/);
  assert.ok(Number(/max-age=(\d+)/.exec(hsts)?.[1]) >= 31_536_000, hsts);
  assert.match(hsts, /includeSubDomains/);
  for (const path of ['/healthz', '/api/me'])
    assert.equal((await fetch(`${url}${path}`)).headers.get('strict-transport-security'), hsts, path);
  assert.ok(
    directives(response.headers.get('content-security-policy') ?? '').has('upgrade-insecure-requests'),
  );
  const csrfCookie = response.headers.getSetCookie().find((c) => c.startsWith('_csrf='));
  assert.match(csrfCookie ?? '', /;\s*Secure/i);

  const browser = new Browser(url);
  const login = await browser.submit('/login', { username: 'mark', password: 'pass123' });
  assert.equal(login.status, 302);
  const session = login.headers.getSetCookie().find((c) => c.startsWith('access_token='));
  assert.match(session ?? '', /;\s*Secure/i);
});

test('the session cookie is HttpOnly, SameSite=Lax, Path=/, lives as long as the token, and is cleared on logout', async (t) => {
  const { url, app } = await startApp(t);
  const browser = new Browser(url);
  const login = await browser.submit('/login', { username: 'mark', password: 'pass123', remember: 'on' });
  const session = login.headers.getSetCookie().find((c) => c.startsWith('access_token=')) ?? '';
  assert.match(session, /;\s*HttpOnly/i);
  assert.match(session, /;\s*SameSite=Lax/i);
  assert.match(session, /;\s*Path=\//i);
  assert.match(session, new RegExp(`;\\s*Max-Age=${app.auth.tokenLifetimeSeconds}\\b`, 'i'));
  assert.doesNotMatch(session, /;\s*Secure/i, 'plain-HTTP development keeps working in DEBUG');
  assert.doesNotMatch(session, /;\s*Domain=/i, 'host-only: not shared with sibling subdomains');
  const csrfCookie = login.headers.getSetCookie().find((c) => c.startsWith('_csrf=')) ?? '';
  if (csrfCookie) assert.match(csrfCookie, /HttpOnly/i);

  const logout = await browser.submit('/logout', {}, '/protected');
  const cleared = logout.headers.getSetCookie().find((c) => c.startsWith('access_token=')) ?? '';
  assert.match(cleared, /Max-Age=0|Expires=Thu, 01 Jan 1970/i);
});

test('internal errors answer a generic 500 without stack traces or internals', async (t) => {
  const { url, app } = await startApp(t);
  const browser = await new Browser(url).login('mark', 'pass123');
  // Pull the database out from under the running app.
  await app.db.destroy();
  for (const [path, headers] of [
    ['/api/me', { cookie: browser.cookieHeader }],
    ['/protected', { cookie: browser.cookieHeader, accept: 'text/html' }],
  ] as const) {
    const response = await fetch(`${url}${path}`, { headers, redirect: 'manual' });
    assert.equal(response.status, 500, path);
    const body = await response.text();
    assert.match(body, /Internal Server Error/);
    assert.doesNotMatch(
      body,
      /\bat .+:\d+:\d+|node_modules|sqlite|kysely|Error:/i,
      `${path}: ${body.slice(0, 200)}`,
    );
  }
});

test("a signed-in user's pages and API answers are not cached", async (t) => {
  const { url } = await startApp(t);
  const browser = await new Browser(url).login('mark', 'pass123');
  for (const path of ['/protected', '/api/me'])
    assert.equal((await browser.fetch(path)).headers.get('cache-control'), 'no-store', path);
  // Public assets stay cacheable.
  assert.doesNotMatch((await fetch(`${url}/static/app.css`)).headers.get('cache-control') ?? '', /no-store/);
});
