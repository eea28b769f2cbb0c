/** The seed's pages, as a browser meets them: every route, status and redirect in DESIGN.md. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startApp } from '../support/app.ts';
import { Browser } from '../support/http.ts';

const STRONG_SECRET = 'http-test-production-secret-0123456789abcdef';

/** The attributes of the `name` cookie a response sets, lower-cased, plus its value. */
function setCookie(response: Response, name: string): { value: string; attributes: Map<string, string> } {
  const line = response.headers.getSetCookie().find((l) => l.startsWith(`${name}=`));
  assert.ok(line, `a Set-Cookie for ${name}`);
  const [pair = '', ...rest] = line.split(';');
  const attributes = new Map(
    rest.map((part) => {
      const [key = '', ...value] = part.trim().split('=');
      return [key.toLowerCase(), value.join('=')] as const;
    }),
  );
  return { value: pair.slice(name.length + 1), attributes };
}

test('GET / redirects to the login form', async (t) => {
  const { url } = await startApp(t);
  const response = await fetch(`${url}/`, { redirect: 'manual' });
  assert.equal(response.status, 302);
  assert.equal(response.headers.get('location'), '/login');
});

test('GET /login shows the form with a CSRF field; once logged in it redirects to /protected', async (t) => {
  const { url } = await startApp(t);
  const browser = new Browser(url);
  const page = await browser.fetch('/login');
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
  const html = await page.text();
  assert.match(html, /<form [^>]*method="post" action="\/login"/);
  assert.match(html, /<label class="label" for="field-username">Username<\/label>/);
  assert.match(html, /name="username"[^>]* autocomplete="username"/);
  assert.match(html, /name="password" type="password"/);
  assert.match(html, /name="_csrf" value="[^"]+"/);
  assert.doesNotMatch(html, /id="login-error"/);

  await browser.login();
  const again = await browser.fetch('/login');
  assert.equal(again.status, 302);
  assert.equal(again.headers.get('location'), '/protected');
});

test('POST /login sets the session cookie (HttpOnly, SameSite=Lax, Path=/, Max-Age = lifetime with "remember me", no Secure in DEBUG)', async (t) => {
  const { url } = await startApp(t, { ACCESS_TOKEN_EXPIRE_HOURS: '0.5' });
  const browser = new Browser(url);
  const response = await browser.submit('/login', { username: 'mark', password: 'pass123', remember: 'on' });
  assert.equal(response.status, 302);
  assert.equal(response.headers.get('location'), '/protected');
  const { value, attributes } = setCookie(response, 'access_token');
  assert.match(value, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'a JWT');
  assert.ok(attributes.has('httponly'));
  assert.equal(attributes.get('samesite')?.toLowerCase(), 'lax');
  assert.equal(attributes.get('path'), '/');
  assert.equal(attributes.get('max-age'), '1800');
  assert.ok(!attributes.has('secure'), 'plain-HTTP development keeps working in DEBUG');
  const payload = JSON.parse(Buffer.from(value.split('.')[1] ?? '', 'base64url').toString()) as {
    sub: string;
    exp: number;
  };
  assert.equal(payload.sub, 'mark');
  assert.ok(Number.isInteger(payload.exp));
});

test('outside DEBUG the session cookie is also Secure', async (t) => {
  const { url } = await startApp(t, {
    DEBUG: 'false',
    SECRET_KEY: STRONG_SECRET,
    INITIAL_USERS: 'mark:pass123',
  });
  const response = await new Browser(url).submit('/login', { username: 'mark', password: 'pass123' });
  assert.equal(response.status, 302);
  assert.ok(setCookie(response, 'access_token').attributes.has('secure'));
});

test('a failed login re-renders the form with one generic error and 401, and sets no session', async (t) => {
  const { url } = await startApp(t);
  for (const [username, password] of [
    ['mark', 'wrong'],
    ['nobody', 'pass123'],
  ]) {
    const browser = new Browser(url);
    const response = await browser.submit('/login', { username: username ?? '', password: password ?? '' });
    assert.equal(response.status, 401);
    const html = await response.text();
    assert.match(html, /id="login-error" role="alert">[\s\S]*?<p>Invalid username or password<\/p>/);
    assert.match(html, new RegExp(`name="username" type="text" value="${username}"`), 'the username is kept');
    assert.doesNotMatch(html, /name="password" [^>]*value=/, 'the password is not echoed');
    assert.ok(!response.headers.getSetCookie().some((l) => l.startsWith('access_token=')));
    assert.equal((await browser.fetch('/protected')).status, 302, 'still anonymous');
  }
});

test('GET /protected: anonymous visitors go to the login form, which brings them back', async (t) => {
  const { url } = await startApp(t);
  const browser = new Browser(url);
  const response = await browser.fetch('/protected');
  assert.equal(response.status, 302);
  assert.equal(response.headers.get('location'), '/login?next=%2Fprotected');
  const login = await browser.submit('/login', { username: 'mark', password: 'pass123', next: '/protected' });
  assert.equal(login.headers.get('location'), '/protected');
});

test('GET /protected greets the user, lists their courses and wires the page to its stream', async (t) => {
  const { url } = await startApp(t);
  const browser = await new Browser(url).login('luke', 'pass456');
  const response = await browser.fetch('/protected');
  assert.equal(response.status, 200);
  const html = await response.text();
  assert.match(html, /<h1>Hello, <span id="username">luke<\/span>!<\/h1>/);
  assert.match(html, /<body sx-connect="\/protected\/events\/luke" sx-last-id="\d+"/);
  // An empty list is still there (pushes add to it); the empty state next to it shows meanwhile.
  assert.match(
    html,
    /<ul id="course-list" class="list"[^>]*><\/ul>\s*<div class="empty-state" id="courses-empty">/,
  );
  assert.match(html, /No courses yet/);
  assert.match(html, /<form [^>]*sx-post="\/add_course"[^>]* action="\/add_course"/);
  assert.match(html, /name="course_title"/);
  assert.match(html, /<a [^>]*href="\/logout" id="logout">/);
  // The script is allowed by the page's CSP nonce, and it is really served.
  const nonce = /<script src="\/static\/ssexi\.js" nonce="([^"]+)"/.exec(html)?.[1];
  assert.ok(nonce, 'the SSEXI script tag carries a nonce');
  assert.ok(response.headers.get('content-security-policy')?.includes(`'nonce-${nonce}'`));
  const script = await fetch(`${url}/static/ssexi.js`);
  assert.equal(script.status, 200, 'public/ssexi.js is built (npm install / npm start)');
  assert.match(script.headers.get('content-type') ?? '', /javascript/);
  assert.match(await script.text(), /SSEXI/);
});

test('GET /logout (a link on our page) and POST /logout clear the cookie and redirect to /login', async (t) => {
  const { url } = await startApp(t);
  const viaLink = await new Browser(url).login();
  const response = await viaLink.fetch('/logout', {
    headers: { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'navigate' },
  });
  assert.equal(response.status, 302);
  assert.equal(response.headers.get('location'), '/login');
  const cleared = setCookie(response, 'access_token');
  assert.equal(cleared.value, '');
  assert.ok(cleared.attributes.get('expires')?.includes('1970') || cleared.attributes.get('max-age') === '0');
  assert.equal((await viaLink.fetch('/protected')).status, 302);

  const viaForm = await new Browser(url).login();
  const token = viaForm.cookies.get('access_token');
  const post = await viaForm.submit('/logout', {}, '/protected');
  assert.equal(post.status, 302);
  assert.equal(post.headers.get('location'), '/login');
  assert.equal(viaForm.cookies.has('access_token'), false);
  // The copied token is dead too, not just the cookie gone.
  const replay = await fetch(`${url}/protected`, {
    headers: { cookie: `access_token=${token}` },
    redirect: 'manual',
  });
  assert.equal(replay.status, 302);
});

test('GET /logout without a session just goes to /login', async (t) => {
  const { url } = await startApp(t);
  const response = await fetch(`${url}/logout`, { redirect: 'manual' });
  assert.equal(response.status, 302);
  assert.equal(response.headers.get('location'), '/login');
});

test('/healthz and /readyz answer 200 JSON; /readyz is 503 once the database is gone', async (t) => {
  const { url, app } = await startApp(t);
  const health = await fetch(`${url}/healthz`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: 'ok' });
  const ready = await fetch(`${url}/readyz`);
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), { status: 'ready' });

  await app.db.destroy();
  const down = await fetch(`${url}/readyz`);
  assert.equal(down.status, 503);
  assert.deepEqual(await down.json(), { status: 'unavailable' });
  assert.equal((await fetch(`${url}/healthz`)).status, 200, 'the process itself is still alive');
});

test('static files are served from /static/; unknown paths are 404', async (t) => {
  const { url } = await startApp(t);
  for (const file of ['tokens.css', 'app.css']) {
    const css = await fetch(`${url}/static/${file}`);
    assert.equal(css.status, 200);
    assert.match(css.headers.get('content-type') ?? '', /^text\/css/);
  }
  assert.match(await (await fetch(`${url}/static/app.js`)).text(), /theme/, 'the page script is built');
  assert.equal((await fetch(`${url}/static/nope.css`)).status, 404);
  const missing = await fetch(`${url}/no-such-page`, { headers: { accept: 'text/html' } });
  assert.equal(missing.status, 404);
  assert.match(await missing.text(), /Not Found/);
});

test('the shell links the live page and the account page, marking the one shown', async (t) => {
  const { url } = await startApp(t);
  const browser = await new Browser(url).login();
  const nav = async (path: string) => {
    const html = await (await browser.fetch(path)).text();
    const links = [...html.matchAll(/<a class="nav-link" href="([^"]+)"( aria-current="page")?>([^<]+)</g)];
    return links.map(([, href, current, label]) => `${label} ${href}${current ? ' (current)' : ''}`);
  };
  assert.deepEqual(await nav('/protected'), ['Courses /protected (current)', 'Account /account']);
  assert.deepEqual(await nav('/account'), ['Courses /protected', 'Account /account (current)']);
  assert.deepEqual(await nav('/account?notice=email-sent'), [
    'Courses /protected',
    'Account /account (current)',
  ]);
});
