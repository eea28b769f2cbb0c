/**
 * The security headers are computed once and set on every answer; only HTML pages pay for a CSP
 * nonce. What the headers must contain is asserted in test/security/headers.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startApp } from '../support/app.ts';
import { apiToken, Browser } from '../support/http.ts';

const SECURITY_HEADERS = [
  'content-security-policy',
  'cross-origin-opener-policy',
  'cross-origin-resource-policy',
  'origin-agent-cluster',
  'referrer-policy',
  'strict-transport-security',
  'x-content-type-options',
  'x-dns-prefetch-control',
  'x-download-options',
  'x-frame-options',
  'x-permitted-cross-domain-policies',
  'x-xss-protection',
];

test('JSON, redirects, files and streams carry the same security headers as pages, with a CSP that names no nonce', async (t) => {
  const { url } = await startApp(t, {
    DEBUG: 'false',
    INITIAL_USERS: 'mark:pass123',
    SECRET_KEY: 'security-headers-test-secret-0123456789abcdef',
  });
  const token = await apiToken(url);
  const bearer = { authorization: `Bearer ${token}` };
  const page = await fetch(`${url}/login`);
  const pageCsp = page.headers.get('content-security-policy') ?? '';
  assert.match(pageCsp, /'nonce-[0-9a-f]{32}'/, 'the page names its nonce');
  const stream = new AbortController();
  const answers = {
    json: await fetch(`${url}/api/me`, { headers: bearer }),
    health: await fetch(`${url}/healthz`),
    unauthorized: await fetch(`${url}/api/me`),
    notFound: await fetch(`${url}/no-such-thing`),
    redirect: await fetch(`${url}/`, { redirect: 'manual' }),
    file: await fetch(`${url}/static/style.css`),
    stream: await fetch(`${url}/protected/events/mark`, { headers: bearer, signal: stream.signal }),
  };
  t.after(() => stream.abort());
  for (const name of SECURITY_HEADERS) assert.ok(page.headers.get(name), `the page has ${name}`);
  for (const [kind, response] of Object.entries(answers)) {
    for (const name of SECURITY_HEADERS.filter((n) => n !== 'content-security-policy'))
      assert.equal(response.headers.get(name), page.headers.get(name), `${kind}: ${name}`);
    const csp = response.headers.get('content-security-policy');
    assert.equal(
      csp,
      pageCsp.replace(/ 'nonce-[0-9a-f]+'/g, ''),
      `${kind}: the page's policy without nonces`,
    );
  }
});

test('each page gets its own nonce, and uses the one its CSP names', async (t) => {
  const { url } = await startApp(t);
  const browser = await new Browser(url).login('mark', 'pass123');
  const nonces = new Set<string>();
  for (const path of ['/protected', '/protected', '/login']) {
    const response = path === '/login' ? await fetch(`${url}${path}`) : await browser.fetch(path);
    const csp = response.headers.get('content-security-policy') ?? '';
    const script = /script-src [^;]*'nonce-([0-9a-f]{32})'/.exec(csp)?.[1];
    const style = /style-src [^;]*'nonce-([0-9a-f]{32})'/.exec(csp)?.[1];
    assert.ok(script && style && script !== style, `${path}: ${csp}`);
    assert.match(await response.text(), new RegExp(`content="${script}"`), `${path} uses its script nonce`);
    nonces.add(script);
  }
  assert.equal(nonces.size, 3);
});
