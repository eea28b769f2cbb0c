/**
 * Hostile input at the edges: odd JSON shapes and prototype-pollution keys (400 JSON, never 500,
 * nothing polluted), oversized bodies (413) and headers (431), path traversal and dotfiles under
 * /static/, open redirects through `next`, SQL injection through a course title.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startApp } from '../support/app.ts';
import { Browser } from '../support/http.ts';

async function expectJsonError(response: Response, status: number, what: string) {
  assert.equal(response.status, status, what);
  assert.match(response.headers.get('content-type') ?? '', /application\/json/, what);
  const body = (await response.json()) as { error?: unknown };
  assert.equal(typeof body.error, 'string', what);
  assert.doesNotMatch(String(body.error), /\bat .+\.(ts|js):\d+/, `${what}: no stack trace`);
}

test('odd JSON shapes and prototype-pollution keys get 400 JSON, never 500', async (t) => {
  const { url } = await startApp(t);
  const deep = `${'['.repeat(3000)}${']'.repeat(3000)}`;
  const bodies = [
    '[]',
    'null',
    '1',
    '"mark"',
    'true',
    '{}',
    '{"username":null,"password":null}',
    '{"username":1,"password":2}',
    '{"username":["mark"],"password":["pass123"]}',
    '{"username":{"$ne":null},"password":{"$gt":""}}',
    '{"username":"mark"}',
    '{"username":"mark","password":"pass123"',
    '{"username":"mark","password":"pass123"}}',
    '',
    deep,
    '{"__proto__":{"polluted":true},"username":"mark","password":"pass123"}',
    '{"username":"mark","password":"pass123","constructor":{"prototype":{"polluted":true}}}',
    '{"username":{"__proto__":{"polluted":true}},"password":"x"}',
  ];
  for (const body of bodies) {
    const response = await fetch(`${url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    await expectJsonError(response, 400, `body ${body.slice(0, 60)}`);
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype is untouched');
  // A wrong content type is refused too, not guessed at.
  const xml = await fetch(`${url}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/xml' },
    body: '<login/>',
  });
  assert.equal(xml.status, 415);
});

test('odd shapes on the course form (cookie + CSRF) get 400, and nothing is stored', async (t) => {
  const { url } = await startApp(t);
  const browser = await new Browser(url).login('mark', 'pass123');
  const token = await browser.csrfToken('/protected');
  const json = (body: string) =>
    browser.fetch('/add_course', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': token, origin: url },
      body,
    });
  for (const body of [
    'null',
    '[]',
    '{}',
    '{"course_title":["a","b"]}',
    '{"course_title":{"toString":"x"}}',
    '{"course_title":42}',
    '{"course_title":""}',
    '{"course_title":"   "}',
    `{"course_title":"${'x'.repeat(5000)}"}`,
    '{"course_title":"ok","__proto__":{"polluted":true}}',
  ])
    await expectJsonError(await json(body), 400, body.slice(0, 60));
  const form = await browser.fetch('/add_course', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: url },
    body: `course_title=a&course_title=b&_csrf=${encodeURIComponent(token)}`,
  });
  assert.equal(form.status, 400);
  assert.doesNotMatch(await (await browser.fetch('/protected')).text(), /<li id="course-/);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('bodies over 64 KiB are refused with 413 before any handler runs', async (t) => {
  const { url } = await startApp(t);
  const big = 'x'.repeat(70 * 1024);
  const api = await fetch(`${url}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'mark', password: big }),
  });
  await expectJsonError(api, 413, 'JSON');
  const browser = new Browser(url);
  const form = await browser.fetch('/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: url },
    body: new URLSearchParams({ username: 'mark', password: big }),
  });
  assert.equal(form.status, 413);
});

test('request headers over 16 KiB are refused with 431', async (t) => {
  const { url } = await startApp(t);
  const status = await new Promise<number>((resolve, reject) => {
    const request = httpRequest(
      `${url}/login`,
      { headers: { 'x-padding': 'x'.repeat(20 * 1024) } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    request.on('error', reject);
    request.end();
  });
  assert.equal(status, 431);
  // The server is still fine afterwards.
  assert.equal((await fetch(`${url}/healthz`)).status, 200);
});

test('static files: no traversal out of public/, no dotfiles', async (t) => {
  const { url } = await startApp(t);
  assert.equal((await fetch(`${url}/static/app.css`)).status, 200, 'control: a real static file');
  const publicDir = fileURLToPath(new URL('../../public/', import.meta.url));
  const dotfile = `.security-test-${randomUUID()}`;
  writeFileSync(`${publicDir}${dotfile}`, 'SECRET-DOTFILE-CONTENT');
  t.after(() => rmSync(`${publicDir}${dotfile}`, { force: true }));

  const attempts = [
    `/static/${dotfile}`,
    `/static/%2e${dotfile.slice(1)}`,
    '/static/../package.json',
    '/static/%2e%2e/package.json',
    '/static/%2e%2e%2fpackage.json',
    '/static/..%2fpackage.json',
    '/static/..%5cpackage.json',
    '/static/%252e%252e%252fpackage.json',
    '/static/....//package.json',
    '/static/%c0%ae%c0%ae/package.json',
    '/static//etc/passwd',
    '/static/%2fetc%2fpasswd',
    '/static/app.css%00.txt',
    '/static/../src/config.ts',
    '/static/../.git/config',
  ];
  for (const path of attempts) {
    // fetch() would normalise `..` away before sending; send the raw path.
    const { status, body } = await rawGet(url, path);
    assert.ok([400, 403, 404].includes(status), `${path} → ${status}`);
    assert.doesNotMatch(body, /SECRET-DOTFILE-CONTENT|"name": "auth-sse"|root:|SECRET_KEY|\[core\]/, path);
  }
});

/** A GET with the path sent exactly as written (no client-side normalisation). */
function rawGet(base: string, path: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const request = httpRequest({ hostname, port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    request.on('error', reject);
    request.end();
  });
}

const HOSTILE_NEXT = [
  '//evil.example',
  '///evil.example',
  '/\\evil.example',
  '\\\\evil.example',
  'https://evil.example',
  'http:evil.example',
  'javascript:alert(1)',
  '/%09/evil.example',
  '/\t/evil.example',
  ' //evil.example',
  'evil.example',
  '%2F%2Fevil.example',
];

test('open redirects: `next` only ever leads to a same-origin path', async (t) => {
  const { url } = await startApp(t);
  const sameOrigin = (location: string | null) =>
    location !== null && new URL(location, url).origin === new URL(url).origin;

  for (const next of [...HOSTILE_NEXT, '/protected?tab=2']) {
    const browser = new Browser(url);
    const page = await (await browser.fetch(`/login?next=${encodeURIComponent(next)}`)).text();
    assert.doesNotMatch(
      page,
      /name="next" value="(\/\/|\/\\|https?:|javascript:)/,
      `${next} carried in the form`,
    );
    const response = await browser.submit('/login', { username: 'mark', password: 'pass123', next });
    assert.equal(response.status, 302);
    const location = response.headers.get('location') ?? '';
    assert.ok(sameOrigin(location) && !/^\/[\\/]/.test(location), `${next} → ${location}`);
    // Anything that is not a plain absolute path falls back to the home page.
    if (!next.startsWith('/')) assert.equal(location, '/protected', next);
    if (next === '/protected?tab=2') assert.equal(location, next, 'a good next is kept');
    // Already logged in: GET /login?next= redirects at once, under the same rule.
    const again = await browser.fetch(`/login?next=${encodeURIComponent(next)}`);
    const againLocation = again.headers.get('location') ?? '';
    assert.ok(sameOrigin(againLocation) && !/^\/[\\/]/.test(againLocation), `logged-in ${next}`);
  }
  // The guard on protected pages builds `next` from our own path only.
  const anonymous = await fetch(`${url}/protected`, { redirect: 'manual' });
  assert.equal(anonymous.headers.get('location'), '/login?next=%2Fprotected');
});

test('SQL injection through a course title is stored as text and breaks nothing', async (t) => {
  const { url, app } = await startApp(t);
  const browser = await new Browser(url).login('mark', 'pass123');
  const titles = [
    "Robert'); DROP TABLE courses;--",
    "' OR 1=1 --",
    "x', (SELECT hashed_password FROM users LIMIT 1)) --",
    '"; DELETE FROM users; --',
  ];
  for (const course_title of titles) {
    const response = await browser.submit('/add_course', { course_title }, '/protected');
    assert.equal(response.status, 201, course_title);
    assert.equal(((await response.json()) as { title: string }).title, course_title);
  }
  const stored = await app.db.selectFrom('courses').select('title').orderBy('id').execute();
  assert.deepEqual(
    stored.map((r) => r.title),
    titles,
  );
  assert.equal((await app.auth.users.list()).length, 2, 'users intact');
  assert.doesNotMatch(await (await browser.fetch('/protected')).text(), /\$2[aby]\$/, 'no hash leaked');
});
