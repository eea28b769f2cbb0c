/**
 * The security headers are computed once, as two sets: documents (pages, the API docs, static
 * files) get helmet's full set, and only HTML pages pay for a CSP nonce; every other answer gets
 * the few headers that protect a resource. What the headers must contain is asserted in
 * test/security/headers.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DOCUMENT_ONLY_HEADERS, RESOURCE_CSP, RESOURCE_HEADERS } from '../security/attack.ts';
import { startApp } from '../support/app.ts';
import { apiToken, Browser } from '../support/http.ts';

const PRODUCTION = {
  DEBUG: 'false',
  INITIAL_USERS: 'mark:pass123',
  SECRET_KEY: 'security-headers-test-secret-0123456789abcdef',
  API_DOCS: 'true',
};

/** @fastify/view renders `{raw}` templates too; its types only know template names. */
const inline = (template: string) => ({ raw: template }) as unknown as string;

const withoutNonces = (csp: string) => csp.replace(/ 'nonce-[0-9a-f]+'/g, '');

test('JSON, redirects, empty answers, errors and streams carry the resource set, none of the document-only headers', async (t) => {
  const { url } = await startApp(t, PRODUCTION);
  const token = await apiToken(url);
  const bearer = { authorization: `Bearer ${token}` };
  const page = await fetch(`${url}/login`);
  assert.match(page.headers.get('content-security-policy') ?? '', /'nonce-[0-9a-f]{32}'/);
  assert.match(page.headers.get('strict-transport-security') ?? '', /max-age=/, 'outside DEBUG: HSTS');
  const stream = new AbortController();
  t.after(() => stream.abort());
  const answers = {
    json: await fetch(`${url}/api/me`, { headers: bearer }),
    health: await fetch(`${url}/healthz`),
    unauthorized: await fetch(`${url}/api/me`),
    notFound: await fetch(`${url}/no-such-thing`),
    redirect: await fetch(`${url}/`, { redirect: 'manual' }),
    empty: await fetch(`${url}/favicon.ico`),
    openapi: await fetch(`${url}/openapi.json`),
    stream: await fetch(`${url}/protected/events/mark`, { headers: bearer, signal: stream.signal }),
  };
  assert.equal(answers.redirect.status, 302);
  assert.equal(answers.empty.status, 204);
  assert.equal(answers.openapi.status, 200);
  assert.equal(answers.stream.status, 200);
  for (const [kind, response] of Object.entries(answers)) {
    assert.equal(response.headers.get('content-security-policy'), RESOURCE_CSP, kind);
    for (const name of RESOURCE_HEADERS.filter((n) => n !== 'content-security-policy'))
      assert.equal(response.headers.get(name), page.headers.get(name), `${kind}: ${name} as on pages`);
    for (const name of DOCUMENT_ONLY_HEADERS)
      assert.equal(response.headers.get(name), null, `${kind}: ${name}`);
  }
});

test('pages, static files and the API docs carry the full document set', async (t) => {
  const { url } = await startApp(t, PRODUCTION);
  const page = await fetch(`${url}/login`);
  const pageCsp = page.headers.get('content-security-policy') ?? '';
  for (const name of [...RESOURCE_HEADERS, ...DOCUMENT_ONLY_HEADERS])
    assert.ok(page.headers.get(name), `the page has ${name}`);
  const documents = {
    file: await fetch(`${url}/static/app.css`),
    missingFile: await fetch(`${url}/static/no-such-file.css`),
    docs: await fetch(`${url}/docs/`, { headers: { accept: 'text/html' } }),
    docsScript: await fetch(`${url}/docs/static/swagger-ui-bundle.js`),
  };
  for (const [kind, response] of Object.entries(documents)) {
    assert.equal(response.status, kind === 'missingFile' ? 404 : 200, kind);
    await response.body?.cancel();
    for (const name of [...RESOURCE_HEADERS, ...DOCUMENT_ONLY_HEADERS].filter(
      (n) => n !== 'content-security-policy',
    ))
      assert.equal(response.headers.get(name), page.headers.get(name), `${kind}: ${name}`);
  }
  assert.equal(
    documents.file.headers.get('content-security-policy'),
    withoutNonces(pageCsp),
    "file: the page's policy without nonces",
  );
  // The docs pages' policy is the page's, with the hash of Swagger UI's logo style (api-docs.ts).
  for (const kind of ['docs', 'docsScript'] as const)
    assert.equal(
      documents[kind].headers.get('content-security-policy')?.replace(/ 'sha256-[^']+'/, ''),
      withoutNonces(pageCsp),
      kind,
    );
});

test('every rendered view is a document, even one that never uses its nonce; headers its route set stay', async (t) => {
  const { url } = await startApp(
    t,
    {},
    {
      beforeListen: (app) => {
        app.get('/test-plain-view', async (_request, reply) => reply.view(inline('<p>plain</p>')));
        app.get('/test-framable-view', async (_request, reply) =>
          reply.header('x-frame-options', 'SAMEORIGIN').view(inline('<p>framable</p>')),
        );
      },
    },
  );
  const page = await fetch(`${url}/login`);
  const plain = await fetch(`${url}/test-plain-view`);
  assert.equal(await plain.text(), '<p>plain</p>');
  for (const name of DOCUMENT_ONLY_HEADERS)
    assert.equal(plain.headers.get(name), page.headers.get(name), `plain view: ${name}`);
  assert.match(plain.headers.get('content-security-policy') ?? '', /script-src 'self' 'nonce-/);

  const framable = await fetch(`${url}/test-framable-view`);
  assert.equal(framable.headers.get('x-frame-options'), 'SAMEORIGIN', 'the route chose it');
  assert.equal(
    framable.headers.get('cross-origin-opener-policy'),
    page.headers.get('cross-origin-opener-policy'),
  );

  // The links in the mails open pages that leak no Referer (their token is a credential).
  const tokenPage = await fetch(`${url}/verify-email?token=some-token`);
  assert.equal(tokenPage.status, 200);
  assert.equal(tokenPage.headers.get('referrer-policy'), 'no-referrer');
  assert.equal(tokenPage.headers.get('x-frame-options'), 'DENY');
  assert.match(tokenPage.headers.get('content-security-policy') ?? '', /'nonce-[0-9a-f]{32}'/);
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
